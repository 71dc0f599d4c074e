/**
 * `npm run bench:fleet [-- --stores 10000 --devices 50 --clients 16 --halt-hubs 1000 --halt-conns 50 --wait-ms 25000 --poll-ms 5000 --drivers pglite,postgres --db postgres://…]`
 *
 * The control plane's capacity, over the real `/storemesh/report/1.0.0` on 127.0.0.1:
 *
 * (a) Ingest: a super hub (the role, with its fleet ledger) takes one report per store
 *     holding an outcome for each of its devices (a store hub's outbox batch), from
 *     `--clients` libp2p nodes sending side by side; device outcomes applied per
 *     second, on PGlite (embedded, the default) and on PostgreSQL (a server this bench
 *     starts in a temp dir, or `--db`), printed side by side with their ratio.
 * (b) Halt: `--halt-hubs` store hubs, spread over `--halt-conns` libp2p connections,
 *     each holding a 1.2.0 long-poll of `--wait-ms` at its super hub as an idle hub's
 *     uplink does (`--wait-ms 0`: polling every `--poll-ms`, jittered); a fleet-wide
 *     halt is issued and the bench prints when the last hub's answer carried it (and
 *     the median). The per-connection bounds (streams, held polls) are raised, since
 *     a client here carries many hubs.
 * Peak RSS is the whole bench process (super hub, database, clients).
 */
import '../src/polyfill.js'
import { readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_REPORT_WAIT_MS } from '../src/ledger/report/constants.js'
import { reportProtocol, type HubBatch, type ReportProtocol } from '../src/ledger/report/index.js'
import { createStoremeshNode, type StoremeshNode } from '../src/net/node.js'
import { generateSwarmKey } from '../src/net/swarm-key.js'
import { startSuperHub, type SuperHub } from '../src/roles/super-hub.js'
import { postgresSkipReason, startPostgres, type TestPostgres } from '../test/support/postgres.js'

const args = process.argv.slice(2)
const opt = (name: string, def: string): string => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? (args[i + 1] ?? def) : def
}
const STORES = Number(opt('stores', '2000'))
const DEVICES = Number(opt('devices', '50'))
const CLIENTS = Number(opt('clients', '16'))
const HALT_HUBS = Number(opt('halt-hubs', '1000'))
const HALT_CONNS = Number(opt('halt-conns', '50'))
const POLL_MS = Number(opt('poll-ms', '5000'))
/** a held poll's waitMs (report 1.2.0); 0: plain polls every --poll-ms */
const WAIT_MS = Number(opt('wait-ms', String(DEFAULT_REPORT_WAIT_MS)))
/** many hubs share one client connection here: the per-connection bounds are raised to carry them (a real hub is one peer) */
const REPORT_BOUNDS = { maxStreams: 64, held: { maxPerPeer: 64 } }
const DRIVERS = opt('drivers', 'pglite,postgres').split(',')
const DB_URL = args.includes('--db') ? opt('db', '') : undefined
/** a report's streams per connection are capped (DEFAULT_MAX_REPORT_STREAMS): stay under it */
const IN_FLIGHT_PER_CLIENT = 3
const HALT_WAIT_MS = 120_000
const EPOCH = 'b'.repeat(32)
const WAVE = 'bench-1'
const swarmKey = generateSwarmKey()

type Client = StoremeshNode<{ report: ReportProtocol }>

async function clients (n: number): Promise<Client[]> {
  return await Promise.all(Array.from({ length: n }, async () => await createStoremeshNode({ swarmKey, listen: ['/ip4/127.0.0.1/tcp/0'], services: { report: reportProtocol({ maxStreams: REPORT_BOUNDS.maxStreams }) } })))
}

function storeBatch (store: number): HubBatch {
  const entries: HubBatch['entries'] = []
  for (let d = 0; d < DEVICES; d++) {
    // about one device in 50 rolls back: the halt limit is set so it never fires here
    entries.push({ seq: d + 1, waveId: WAVE, deviceId: `s${store}-d${d}`, state: (store * DEVICES + d) % 50 === 7 ? 'rolled-back' : 'updated', version: d + 1, atMs: 1 })
  }
  return { type: 'hub-ledger', hubId: `store-${store}`, epoch: EPOCH, entries }
}

/** Connected one at a time before the clock starts: many Noise handshakes at once time out on a loaded machine. */
async function connect (sup: SuperHub, cs: Client[]): Promise<void> {
  const addr = sup.node.getMultiaddrs()[0]!
  for (const c of cs) {
    for (let attempt = 1; ; attempt++) {
      try {
        await c.dial(addr)
        break
      } catch (err) {
        if (attempt >= 5) throw err
      }
    }
  }
}

async function ingest (sup: SuperHub, cs: Client[]): Promise<{ outcomes: number, seconds: number }> {
  const addr = sup.node.getMultiaddrs()[0]!
  await connect(sup, cs)
  let next = 0
  const t0 = performance.now()
  await Promise.all(cs.flatMap(c => Array.from({ length: IN_FLIGHT_PER_CLIENT }, async () => {
    for (let s = next++; s < STORES; s = next++) {
      const ack = await c.services.report.send(addr, storeBatch(s), { timeoutMs: 120_000 })
      if (ack.ackedSeq !== DEVICES) throw new Error(`store ${s}: acked ${ack.ackedSeq}`)
    }
  })))
  const seconds = (performance.now() - t0) / 1000
  const totals = await sup.ledger.waveTotals(WAVE)
  if (totals.total !== STORES * DEVICES) throw new Error(`the ledger holds ${totals.total} devices, expected ${STORES * DEVICES}`)
  return { outcomes: totals.total, seconds }
}

async function haltReach (sup: SuperHub, cs: Client[]): Promise<{ maxMs: number, medianMs: number, seen: number }> {
  const addr = sup.node.getMultiaddrs()[0]!
  await connect(sup, cs)
  const seenAt = new Map<number, number>()
  let haltAt: number | undefined
  const stop = new AbortController()
  const loops = Array.from({ length: HALT_HUBS }, async (_, h) => {
    const c = cs[h % cs.length]!
    await new Promise(resolve => setTimeout(resolve, Math.random() * POLL_MS))
    let cursor: string | undefined
    while (!stop.signal.aborted && !seenAt.has(h)) {
      const t0 = performance.now()
      // as an idle 1.2.0 hub uplink asks: held until its orders change (report SPEC "Long-poll"); --wait-ms 0 polls
      const req = { type: 'hub-ledger' as const, hubId: `halt-hub-${h}`, epoch: EPOCH, entries: [], ...(WAIT_MS > 0 ? { waitMs: WAIT_MS } : {}), ...(cursor !== undefined ? { have: { orderCursor: cursor } } : {}) }
      const ack = await c.services.report.send(addr, req, { timeoutMs: WAIT_MS + 60_000 }).catch(() => undefined)
      if (haltAt !== undefined && ack?.orders.some(o => o.waveId === WAVE && o.action === 'halt') === true) {
        seenAt.set(h, performance.now() - haltAt)
        continue
      }
      const held = ack?.orderCursor !== undefined && (ack.orderCursor !== cursor || performance.now() - t0 > 1_000)
      cursor = ack?.orderCursor ?? cursor
      // not held (a poll, a failure, a full slot table): the hub's poll interval, as its uplink falls back to
      if (!held || WAIT_MS === 0) await new Promise(resolve => setTimeout(resolve, POLL_MS * (0.8 + 0.2 * Math.random())))
    }
  })
  // every hub polled once (admitted) before the halt
  const admitted = Date.now() + POLL_MS * 3
  // a read that fails (a new connection slower than its 5 s time-out on a loaded machine) is tried again
  const known = async (): Promise<number> => (await sup.ledger.hubs().catch(() => [])).filter(x => x.hubId.startsWith('halt-hub-')).length
  while (await known() < HALT_HUBS && Date.now() < admitted) await new Promise(resolve => setTimeout(resolve, 200))
  haltAt = performance.now()
  await sup.ledger.issue({ kind: 'wave', action: 'halt', waveId: WAVE, by: 'bench', reason: 'bench: fleet-wide halt' })
  const deadline = Date.now() + HALT_WAIT_MS
  while (seenAt.size < HALT_HUBS && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 50))
  stop.abort()
  await Promise.all(loops)
  const times = [...seenAt.values()].sort((a, b) => a - b)
  return { maxMs: times.at(-1) ?? NaN, medianMs: times[Math.floor(times.length / 2)] ?? NaN, seen: times.length }
}

/**
 * CPU seconds of the PostgreSQL server this bench started (its postmaster and the
 * processes under it: backends, WAL writer, checkpointer), from /proc; 0 when unknown
 * (`--db` elsewhere). With the bench process's own CPU this gives the ingest's cost per
 * outcome, which a loaded machine slows down less than it slows the wall clock.
 */
function serverCpuSeconds (url: string | undefined): number {
  const host = url !== undefined ? new URLSearchParams(url.split('?')[1] ?? '').get('host') : null
  if (host === null) return 0
  try {
    const postmaster = Number(readFileSync(join(host, 'data', 'postmaster.pid'), 'utf8').split('\n')[0])
    const ticksPerSec = 100
    let ticks = 0
    for (const pid of readdirSync('/proc').filter(p => /^\d+$/.test(p))) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
        // fields after the command: state ppid ... utime (14th of the line) stime (15th)
        if (Number(pid) === postmaster || Number(f[1]) === postmaster) ticks += Number(f[11]) + Number(f[12])
      } catch {}
    }
    return ticks / ticksPerSec
  } catch {
    return 0
  }
}

const cpuSeconds = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6 }

interface Run { driver: string, outcomesPerSec: number, outcomes: number, seconds: number, cpuSeconds: number, halt?: { maxMs: number, medianMs: number, seen: number } }

async function runDriver (driver: string, dir: string, pg: TestPostgres | undefined): Promise<Run> {
  const url = driver === 'postgres' ? (DB_URL ?? await pg!.createDatabase(`bench_${Date.now()}`)) : undefined
  const sup = await startSuperHub({
    dataDir: join(dir, driver), swarmKey, trust: { keys: [] }, listen: ['/ip4/127.0.0.1/tcp/0'], haltOnRollbackRatio: 1, name: 'bench', report: REPORT_BOUNDS,
    ...(url !== undefined ? { fleetDbUrl: url } : {})
  })
  try {
    const t0 = performance.now()
    if (!await sup.ledger.ready()) throw new Error('the fleet database did not open')
    process.stdout.write(`${driver}: database open in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`)
    const cs = await clients(CLIENTS)
    const [own0, server0] = [cpuSeconds(), serverCpuSeconds(url)]
    const r = await ingest(sup, cs)
    const [own, server] = [cpuSeconds() - own0, serverCpuSeconds(url) - server0]
    const cpu = own + server
    await Promise.all(cs.map(async c => { await c.stop() }))
    const run: Run = { driver, outcomes: r.outcomes, seconds: r.seconds, outcomesPerSec: r.outcomes / r.seconds, cpuSeconds: cpu }
    const tx = sup.ledger.counters.reportTransactions
    process.stdout.write(`${driver}: ${r.outcomes} device outcomes from ${STORES} stores in ${r.seconds.toFixed(1)} s = ${run.outcomesPerSec.toFixed(0)} outcomes/s` +
      ` (${tx} transactions, ${(STORES / Math.max(1, tx)).toFixed(1)} reports each); CPU ${cpu.toFixed(1)} s (bench process with its clients ${own.toFixed(1)} s${url !== undefined ? `, server ${server.toFixed(1)} s` : ''}) = ${(r.outcomes / cpu).toFixed(0)} outcomes per CPU-second\n`)
    if (HALT_HUBS > 0) {
      const hc = await clients(HALT_CONNS)
      run.halt = await haltReach(sup, hc)
      await Promise.all(hc.map(async c => { await c.stop() }))
      process.stdout.write(`${driver}: halt seen by ${run.halt.seen}/${HALT_HUBS} hubs; last after ${(run.halt.maxMs / 1000).toFixed(2)} s, median ${(run.halt.medianMs / 1000).toFixed(2)} s (${WAIT_MS > 0 ? `held polls of ${WAIT_MS / 1000} s` : `poll every ${POLL_MS / 1000} s`})\n`)
    }
    return run
  } finally {
    await sup.stop()
  }
}

const dir = await mkdtemp(join(tmpdir(), 'storemesh-bench-fleet-'))
let pg: TestPostgres | undefined
try {
  process.stdout.write(`bench:fleet  ${STORES} stores x ${DEVICES} devices = ${STORES * DEVICES} outcomes, ${CLIENTS} clients; halt at ${HALT_HUBS} hubs over ${HALT_CONNS} connections, poll ${POLL_MS} ms\n`)
  const runs: Run[] = []
  for (const driver of DRIVERS) {
    if (driver === 'postgres' && DB_URL === undefined) {
      const skip = postgresSkipReason()
      if (skip !== undefined) {
        process.stdout.write(`postgres: skipped (${skip})\n`)
        continue
      }
      pg = await startPostgres()
    }
    runs.push(await runDriver(driver, dir, pg))
  }
  process.stdout.write('\n' + ['driver', 'outcomes/s', 'per CPU-s', 'target', 'halt last (s)', 'target'].map(h => h.padEnd(14)).join('') + '\n')
  for (const r of runs) {
    process.stdout.write([r.driver, r.outcomesPerSec.toFixed(0), (r.outcomes / r.cpuSeconds).toFixed(0), r.driver === 'postgres' ? '>= 5000' : '-', r.halt !== undefined ? (r.halt.maxMs / 1000).toFixed(2) : '-', '<= 10'].map(c => String(c).padEnd(14)).join('') + '\n')
  }
  const lite = runs.find(r => r.driver === 'pglite')
  const server = runs.find(r => r.driver === 'postgres')
  if (lite !== undefined && server !== undefined) process.stdout.write(`postgres / pglite ingest ratio: ${(server.outcomesPerSec / lite.outcomesPerSec).toFixed(2)}\n`)
  const ru = process.resourceUsage()
  process.stdout.write(`peak RSS (whole process): ${(ru.maxRSS / 1024).toFixed(0)} MiB; CPU ${((ru.userCPUTime + ru.systemCPUTime) / 1e6).toFixed(1)} s; load average ${loadavg().map(x => x.toFixed(1)).join(' ')}\n`)
} finally {
  await pg?.close()
  await rm(dir, { recursive: true, force: true })
}
process.exit(0)
