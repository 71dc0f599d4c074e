/**
 * `npm run bench:fleet [-- --stores 10000 --devices 50 --clients 16 --in-flight 12 --halt-hubs 1000 --halt-conns 50 --wait-ms 25000 --poll-ms 5000 --drivers pglite,postgres --db postgres://… --report-entries N --cpu-prof]`
 *
 * The control plane's capacity, over the real `/storemesh/report/1.2.0` on 127.0.0.1. The
 * synthetic store hubs run in a child process (bench/fleet-clients.ts), so this process
 * is the super hub alone and its CPU time is the server's: the bench prints CPU-seconds
 * per 1,000 outcomes (super hub, PostgreSQL server) beside outcomes/s, a figure a loaded
 * machine changes far less than the wall clock.
 *
 * (a) Ingest: a super hub (the role, with its fleet ledger) takes each store's outcomes,
 *     one per device, in the reports the store hub's uplink packs them into (its
 *     batchEntries and maxBatchBytes; `--report-entries N`: N per report, as a hub whose
 *     devices finish in bursts sends them), each with the last answer's order cursor, from
 *     `--clients` libp2p nodes sending side by side (`--in-flight` hubs' reports at once
 *     on each); device outcomes applied per
 *     second, on PGlite (embedded, the default) and on PostgreSQL (a server this bench
 *     starts in a temp dir, or `--db`), printed side by side with their ratio.
 * (b) Halt: `--halt-hubs` store hubs, spread over `--halt-conns` libp2p connections,
 *     each holding a 1.2.0 long-poll of `--wait-ms` at its super hub as an idle hub's
 *     uplink does (`--wait-ms 0`: polling every `--poll-ms`, jittered); a fleet-wide
 *     halt is issued and the bench prints when the hubs' answers carried it (median,
 *     p99, last). The per-connection bounds (streams, held polls) are raised, since
 *     a client here carries many hubs.
 * Peak RSS: the super hub's process (with PGlite, when it runs in it) and the hubs'.
 *
 * `--cpu-prof`: V8 profiles of the super hub and the hubs' process over the ingest,
 * printed as self time by owner and function and saved in the temp dir
 * (storemesh-bench-fleet-{super,hubs}-<pid>.cpuprofile); with PostgreSQL, its top statements
 * (pg_stat_statements, preloaded in the server this bench starts).
 */
import '../src/polyfill.js'
import { fork, type ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DEFAULT_REPORT_WAIT_MS } from '../src/ledger/report/constants.js'
import { generateSwarmKey } from '../src/net/swarm-key.js'
import { startSuperHub, type SuperHub } from '../src/roles/super-hub.js'
import type { ClientMessage, HaltJob, IngestJob } from './fleet-clients.js'
import { peakRssOf } from './support/proc.js'
import { cpuTop, formatCpuTop } from './support/cpu-top.js'
import { formatPgStats, PG_STATS_SERVER_OPTIONS, resetPgStats } from './support/pg-stats.js'
import { profileSelf } from './support/self-prof.js'
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
const CPU_PROF = args.includes('--cpu-prof')
/** entries per report, at most the hub uplink's batchEntries (its default: a store's whole outbox in one report) */
const REPORT_ENTRIES = args.includes('--report-entries') ? Number(opt('report-entries', '0')) : undefined
/**
 * reports in flight per client connection, each the one report of a different hub (a hub
 * sends its next report after the answer; different hubs do not wait for each other). The
 * rate is at most (clients x in-flight) / one report's time (printed), whatever the server
 * could take. 12 (192 hubs at once over 16 connections, of a fleet's 10,000): with 3 (48,
 * until session 13) a report's 0.6-2.8 s on a loaded machine capped the rate and groups
 * stayed at 6 reports. Under REPORT_BOUNDS.maxStreams.
 */
const IN_FLIGHT_PER_CLIENT = Number(opt('in-flight', '12'))
const HALT_WAIT_MS = 120_000
const EPOCH = 'b'.repeat(32)
const WAVE = 'bench-1'
const swarmKey = generateSwarmKey()

/** The synthetic hubs' process (bench/fleet-clients.ts): one job at a time over IPC. */
class Hubs {
  readonly child: ChildProcess
  readonly #inbox: ClientMessage[] = []
  #wake: (() => void) | undefined
  readonly exited: Promise<void>

  constructor () {
    this.child = fork(fileURLToPath(new URL('./fleet-clients.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    this.child.on('message', (m: ClientMessage) => { this.#inbox.push(m); this.#wake?.() })
    this.exited = new Promise(resolve => { this.child.once('exit', () => { resolve(); this.#wake?.() }) })
  }

  send (m: IngestJob | HaltJob | { stop: true }): void {
    this.child.send(m)
  }

  /** The next message (throws the child's error, or on its exit / the deadline). */
  async next (deadlineMs: number): Promise<ClientMessage | undefined> {
    while (this.#inbox.length === 0) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`the hubs' process exited (${this.child.exitCode ?? this.child.signalCode})`)
      const left = deadlineMs - Date.now()
      if (left <= 0) return undefined
      await new Promise<void>(resolve => { const t = setTimeout(resolve, left); this.#wake = () => { clearTimeout(t); resolve() } })
      this.#wake = undefined
    }
    const m = this.#inbox.shift()!
    if ('error' in m) throw new Error(`hubs' process: ${m.error}`)
    return m
  }

  async stop (): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM')
    await this.exited
  }
}

const swarmKeyText = new TextDecoder().decode(swarmKey.file)
const addrOf = (sup: SuperHub): string => sup.node.getMultiaddrs()[0]!.toString()

async function ingest (sup: SuperHub, hubs: Hubs): Promise<{ outcomes: number, seconds: number, clientCpuSeconds: number, reports: number, retries: number }> {
  const q0 = sup.ledger.ingestStats()
  const stopProf = CPU_PROF ? await profileSelf(join(tmpdir(), `storemesh-bench-fleet-super-${process.pid}.cpuprofile`)) : undefined
  hubs.send({ job: 'ingest', addr: addrOf(sup), swarmKey: swarmKeyText, stores: STORES, devices: DEVICES, clients: CLIENTS, inFlightPerClient: IN_FLIGHT_PER_CLIENT, wave: WAVE, epoch: EPOCH, maxStreams: REPORT_BOUNDS.maxStreams, cpuProf: CPU_PROF, ...(REPORT_ENTRIES !== undefined ? { reportEntries: REPORT_ENTRIES } : {}) })
  const done = await hubs.next(Date.now() + 3_600_000)
  if (done === undefined || !('done' in done) || done.done !== 'ingest') throw new Error(`the hubs' process answered ${JSON.stringify(done)}`)
  const q1 = sup.ledger.ingestStats()
  const [groups, reports] = [q1.groups - q0.groups, q1.reports - q0.reports]
  // Little's law: reports in flight / one report's time = reports per second; the time is what the clock loses
  process.stdout.write(`per report (${CLIENTS * IN_FLIGHT_PER_CLIENT} in flight): ${done.latencyMs.mean.toFixed(0)} ms at the hub (p50 ${done.latencyMs.p50.toFixed(0)}, p99 ${done.latencyMs.p99.toFixed(0)}),` +
    ` of which ${((q1.waitMs - q0.waitMs) / Math.max(1, reports)).toFixed(0)} ms waiting for a group and ${((q1.runMs - q0.runMs) / Math.max(1, groups)).toFixed(0)} ms its group's run` +
    ` (${groups} groups of ${(reports / Math.max(1, groups)).toFixed(1)} reports, ${((q1.waitingAtStart - q0.waitingAtStart) / Math.max(1, groups)).toFixed(1)} waiting at a group's start); load ${loadavg()[0]!.toFixed(1)}\n`)
  if (stopProf !== undefined) process.stdout.write(formatCpuTop('super hub (ingest)', cpuTop(await stopProf(), 25)) + '\n')
  if (done.profile !== undefined) process.stdout.write(done.profile + '\n')
  const totals = await sup.ledger.waveTotals(WAVE)
  if (totals.total !== STORES * DEVICES) throw new Error(`the ledger holds ${totals.total} devices, expected ${STORES * DEVICES}`)
  return { outcomes: totals.total, seconds: done.seconds, clientCpuSeconds: done.cpuSeconds, reports: done.reports, retries: done.retries }
}

async function haltReach (sup: SuperHub, hubs: Hubs): Promise<NonNullable<Run['halt']>> {
  hubs.send({ job: 'halt', addr: addrOf(sup), swarmKey: swarmKeyText, hubs: HALT_HUBS, conns: HALT_CONNS, waitMs: WAIT_MS, pollMs: POLL_MS, wave: WAVE, epoch: EPOCH, maxStreams: REPORT_BOUNDS.maxStreams })
  // every hub polled once (admitted) before the halt
  const polling = await hubs.next(Date.now() + 600_000)
  if (polling === undefined || !('polling' in polling)) throw new Error(`the hubs' process answered ${JSON.stringify(polling)}`)
  // the clock starts once every hub's poll is held (--wait-ms 0: every hub admitted), so the figure is the
  // halt's reach, not the hubs' start-up on a loaded machine; after 5 min it starts anyway and says so
  const report = sup.node.services.report
  const ready = async (): Promise<number> => WAIT_MS > 0 ? report.heldRequests : (await sup.ledger.hubs().catch(() => [])).filter(x => x.hubId.startsWith('halt-hub-')).length
  const readyBy = Date.now() + 300_000
  while (await ready() < HALT_HUBS && Date.now() < readyBy) await new Promise(resolve => setTimeout(resolve, 200))
  const readyHubs = await ready()
  if (readyHubs < HALT_HUBS) process.stdout.write(`halt: only ${readyHubs} of ${HALT_HUBS} hubs ${WAIT_MS > 0 ? 'held' : 'admitted'} after 5 min; halting anyway\n`)
  const haltAt = performance.timeOrigin + performance.now()
  const cpu0 = cpuSeconds()
  await sup.ledger.issue({ kind: 'wave', action: 'halt', waveId: WAVE, by: 'bench', reason: 'bench: fleet-wide halt' })
  // when the super hub had built every held poll's answer (its held slots all free), beside when the hubs saw them
  let answeredMs: number | undefined
  const watchHeld = setInterval(() => { if (answeredMs === undefined && report.heldRequests === 0) answeredMs = performance.timeOrigin + performance.now() - haltAt }, 20)
  let done = await hubs.next(Date.now() + HALT_WAIT_MS)
  clearInterval(watchHeld)
  const serverCpu = cpuSeconds() - cpu0
  if (done === undefined) {
    hubs.send({ stop: true })
    done = await hubs.next(Date.now() + 120_000)
  }
  if (done === undefined || !('done' in done) || done.done !== 'halt') throw new Error(`the hubs' process answered ${JSON.stringify(done)}`)
  const times = done.seenAtMs.map(t => t - haltAt).sort((a, b) => a - b)
  return { answeredMs: answeredMs ?? NaN, maxMs: times.at(-1) ?? NaN, medianMs: times[Math.floor(times.length / 2)] ?? NaN, p99Ms: times[Math.min(times.length - 1, Math.floor(times.length * 0.99))] ?? NaN, seen: times.length, serverCpuSeconds: serverCpu }
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

interface Run {
  driver: string
  outcomesPerSec: number
  outcomes: number
  seconds: number
  /** the super hub's process (the bench's own: its hubs run in a child) */
  superCpuSeconds: number
  /** the PostgreSQL server's processes (0 for PGlite, which runs in the super hub) */
  dbCpuSeconds: number
  /** answeredMs: every held poll's answer built by the super hub (its held slots free) */
  halt?: { answeredMs: number, maxMs: number, medianMs: number, p99Ms: number, seen: number, serverCpuSeconds: number }
}

const perThousand = (cpu: number, outcomes: number): string => (cpu / outcomes * 1000).toFixed(3)

async function runDriver (driver: string, dir: string, pg: TestPostgres | undefined, hubs: Hubs): Promise<Run> {
  const url = driver === 'postgres' ? (DB_URL ?? await pg!.createDatabase(`bench_${Date.now()}`)) : undefined
  const sup = await startSuperHub({
    dataDir: join(dir, driver), swarmKey, trust: { keys: [] }, listen: ['/ip4/127.0.0.1/tcp/0'], haltOnRollbackRatio: 1, name: 'bench', report: REPORT_BOUNDS,
    ...(url !== undefined ? { fleetDbUrl: url } : {})
  })
  try {
    const t0 = performance.now()
    if (!await sup.ledger.ready()) throw new Error('the fleet database did not open')
    process.stdout.write(`${driver}: database open in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`)
    if (CPU_PROF && url !== undefined && DB_URL === undefined) await resetPgStats(url)
    const [own0, server0] = [cpuSeconds(), serverCpuSeconds(url)]
    const r = await ingest(sup, hubs)
    const [own, server] = [cpuSeconds() - own0, serverCpuSeconds(url) - server0]
    const run: Run = { driver, outcomes: r.outcomes, seconds: r.seconds, outcomesPerSec: r.outcomes / r.seconds, superCpuSeconds: own, dbCpuSeconds: server }
    const tx = sup.ledger.counters.reportTransactions
    process.stdout.write(`${driver}: ${r.outcomes} device outcomes from ${STORES} stores in ${r.seconds.toFixed(1)} s = ${run.outcomesPerSec.toFixed(0)} outcomes/s` +
      ` (${r.reports} reports of ${(r.outcomes / r.reports).toFixed(1)} outcomes${r.retries > 0 ? `, ${r.retries} sent again after a failed exchange` : ''}, ${tx} transactions of ${(r.reports / Math.max(1, tx)).toFixed(1)} reports); CPU-s per 1,000 outcomes: super hub ${perThousand(own, r.outcomes)}` +
      `${url !== undefined ? `, PostgreSQL server ${perThousand(server, r.outcomes)}` : ' (PGlite inside it)'}, the hubs' process ${perThousand(r.clientCpuSeconds, r.outcomes)}` +
      ` (CPU ${own.toFixed(1)} / ${server.toFixed(1)} / ${r.clientCpuSeconds.toFixed(1)} s); load ${loadavg()[0]!.toFixed(1)}\n`)
    if (CPU_PROF && url !== undefined && DB_URL === undefined) process.stdout.write(await formatPgStats(url, r.outcomes) + '\n')
    if (HALT_HUBS > 0) {
      run.halt = await haltReach(sup, hubs)
      const h = run.halt
      process.stdout.write(`${driver}: halt seen by ${h.seen}/${HALT_HUBS} hubs over ${HALT_CONNS} connections; median ${(h.medianMs / 1000).toFixed(2)} s, p99 ${(h.p99Ms / 1000).toFixed(2)} s, last ${(h.maxMs / 1000).toFixed(2)} s` +
        ` (${WAIT_MS > 0 ? `held polls of ${WAIT_MS / 1000} s` : `poll every ${POLL_MS / 1000} s`}); every answer built by the super hub after ${(h.answeredMs / 1000).toFixed(2)} s, its CPU ${h.serverCpuSeconds.toFixed(1)} s until the last; load ${loadavg()[0]!.toFixed(1)}\n`)
    }
    return run
  } finally {
    await sup.stop()
  }
}

const dir = await mkdtemp(join(tmpdir(), 'storemesh-bench-fleet-'))
let pg: TestPostgres | undefined
const hubs = new Hubs()
try {
  process.stdout.write(`bench:fleet  ${STORES} stores x ${DEVICES} devices = ${STORES * DEVICES} outcomes, ${CLIENTS} clients x ${IN_FLIGHT_PER_CLIENT} reports in flight; halt at ${HALT_HUBS} hubs over ${HALT_CONNS} connections, poll ${POLL_MS} ms; the hubs in child process ${hubs.child.pid ?? '?'}; load ${loadavg().map(x => x.toFixed(1)).join(' ')}\n`)
  const runs: Run[] = []
  for (const driver of DRIVERS) {
    if (driver === 'postgres' && DB_URL === undefined) {
      const skip = postgresSkipReason()
      if (skip !== undefined) {
        process.stdout.write(`postgres: skipped (${skip})\n`)
        continue
      }
      pg = await startPostgres(CPU_PROF ? { serverOptions: PG_STATS_SERVER_OPTIONS } : {})
    }
    runs.push(await runDriver(driver, dir, pg, hubs))
  }
  // 'per super CPU-s': outcomes per CPU-second of the super hub, what one core of it takes when it has that core to itself
  const cols = ['driver', 'outcomes/s', 'target', 'super CPU-s/1k', 'per super CPU-s', 'db CPU-s/1k', 'halt median', 'halt p99', 'halt last', 'target']
  process.stdout.write('\n' + cols.map(h => h.padEnd(16)).join('') + '\n')
  const sec = (ms: number | undefined): string => ms !== undefined ? `${(ms / 1000).toFixed(2)} s` : '-'
  for (const r of runs) {
    process.stdout.write([r.driver, r.outcomesPerSec.toFixed(0), r.driver === 'postgres' ? '>= 5000' : '-', perThousand(r.superCpuSeconds, r.outcomes), (r.outcomes / r.superCpuSeconds).toFixed(0), r.driver === 'postgres' ? perThousand(r.dbCpuSeconds, r.outcomes) : '(in super)',
      sec(r.halt?.medianMs), sec(r.halt?.p99Ms), sec(r.halt?.maxMs), '<= 10 s'].map(c => String(c).padEnd(16)).join('') + '\n')
  }
  const lite = runs.find(r => r.driver === 'pglite')
  const server = runs.find(r => r.driver === 'postgres')
  if (lite !== undefined && server !== undefined) process.stdout.write(`postgres / pglite ingest ratio: ${(server.outcomesPerSec / lite.outcomesPerSec).toFixed(2)}\n`)
  const ru = process.resourceUsage()
  const hubsRss = await peakRssOf(hubs.child.pid)
  process.stdout.write(`peak RSS: super hub process ${(ru.maxRSS / 1024).toFixed(0)} MiB (with PGlite when it ran), the hubs' process ${(hubsRss / 1048576).toFixed(0)} MiB; super hub CPU ${((ru.userCPUTime + ru.systemCPUTime) / 1e6).toFixed(1)} s; load average ${loadavg().map(x => x.toFixed(1)).join(' ')}\n`)
} finally {
  await hubs.stop()
  await pg?.close()
  await rm(dir, { recursive: true, force: true })
}
process.exit(0)
