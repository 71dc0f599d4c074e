/**
 * The synthetic store hubs of `npm run bench:fleet`, in a child process of their own
 * (forked by bench/fleet.ts), so the bench's figures are the super hub's: its process
 * then runs the server alone and its CPU time is the server's.
 *
 * Driven over the fork's IPC channel, one job at a time:
 *   parent → { job: 'ingest', … }  each store's outcomes (one per device) in the reports its
 *                                   uplink would pack (storeReports), from `clients` libp2p
 *                                   nodes side by side
 *            ← { done: 'ingest', seconds, cpuSeconds, reports }
 *   parent → { job: 'halt', … }     `hubs` hubs over `conns` connections, each holding a
 *                                   1.2.0 long-poll (or polling every `pollMs`)
 *            ← { polling: n }       every hub sent its first request
 *   parent → { stop: true }         (after the halt was seen, or the bench's deadline)
 *            ← { done: 'halt', seenAtMs: [epoch ms at which each hub's answer carried the halt] }
 * Times are epoch milliseconds (performance.timeOrigin + now): one clock for both processes.
 */
import '../src/polyfill.js'
import { entryBytes, reportProtocol, type HubBatch, type LedgerDelta, type ReportProtocol } from '../src/ledger/report/index.js'
import { DEFAULT_BATCH_ENTRIES, DEFAULT_MAX_BATCH_BYTES } from '../src/ledger/constants.js'
import { multiaddr } from '@multiformats/multiaddr'
import { createStoremeshNode, type StoremeshNode } from '../src/net/node.js'
import { parseSwarmKey } from '../src/net/swarm-key.js'
import { cpuTop, formatCpuTop } from './support/cpu-top.js'
import { profileSelf } from './support/self-prof.js'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface IngestJob { job: 'ingest', addr: string, swarmKey: string, stores: number, devices: number, clients: number, inFlightPerClient: number, wave: string, epoch: string, maxStreams: number, cpuProf?: boolean, reportEntries?: number }
export interface HaltJob { job: 'halt', addr: string, swarmKey: string, hubs: number, conns: number, waitMs: number, pollMs: number, wave: string, epoch: string, maxStreams: number }
/** latencyMs: each report's exchange as its hub saw it (stream open to answer), mean and percentiles */
export type ClientMessage = { done: 'ingest', seconds: number, cpuSeconds: number, reports: number, retries: number, latencyMs: { mean: number, p50: number, p99: number }, profile?: string } | { polling: number } | { done: 'halt', seenAtMs: number[], cpuSeconds: number } | { error: string }

type Client = StoremeshNode<{ report: ReportProtocol }>

const epochMs = (): number => performance.timeOrigin + performance.now()
const cpuSeconds = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6 }
const send = (m: ClientMessage): void => { process.send?.(m) }

async function clients (n: number, swarmKeyText: string, maxStreams: number): Promise<Client[]> {
  const swarmKey = parseSwarmKey(new TextEncoder().encode(swarmKeyText))
  return await Promise.all(Array.from({ length: n }, async () => await createStoremeshNode({ swarmKey, listen: ['/ip4/127.0.0.1/tcp/0'], services: { report: reportProtocol({ maxStreams }) } })))
}

/** Connected one at a time before the clock starts: many Noise handshakes at once time out on a loaded machine. */
async function connect (addr: string, cs: Client[]): Promise<void> {
  for (const c of cs) {
    for (let attempt = 1; ; attempt++) {
      try {
        await c.dial(multiaddr(addr))
        break
      } catch (err) {
        if (attempt >= 5) throw err
      }
    }
  }
}

/**
 * A store's outbox: an outcome for each of its devices, seq 1…devices (about one device
 * in 50 rolls back: the halt limit is set so it never fires here).
 */
function storeOutbox (j: IngestJob, store: number): LedgerDelta[] {
  const entries: LedgerDelta[] = []
  for (let d = 0; d < j.devices; d++) {
    entries.push({ seq: d + 1, waveId: j.wave, deviceId: `s${store}-d${d}`, state: (store * j.devices + d) % 50 === 7 ? 'rolled-back' : 'updated', version: d + 1, atMs: 1 })
  }
  return entries
}

/**
 * The reports a store hub's uplink sends for that outbox, packed as HubUplink packs them
 * (src/ledger/uplink.ts: readOutbox with batchEntries and maxBatchBytes, the uplink's
 * defaults unless `--report-entries` asks fewer, as a hub whose devices finish in bursts
 * sends them): never more per report than the real uplink would, so the bench is not
 * cheaper than a real fleet.
 */
function storeReports (j: IngestJob, store: number): HubBatch[] {
  const outbox = storeOutbox(j, store)
  const perReport = Math.min(j.reportEntries ?? DEFAULT_BATCH_ENTRIES, DEFAULT_BATCH_ENTRIES)
  const out: HubBatch[] = []
  for (let i = 0; i < outbox.length;) {
    const entries: LedgerDelta[] = []
    let bytes = 0
    for (; i < outbox.length && entries.length < perReport; i++) {
      const b = entryBytes(outbox[i])
      // at least one entry per report, as readOutbox answers
      if (entries.length > 0 && bytes + b > DEFAULT_MAX_BATCH_BYTES) break
      entries.push(outbox[i]!)
      bytes += b
    }
    out.push({ type: 'hub-ledger', hubId: `store-${store}`, epoch: j.epoch, entries })
  }
  return out
}

async function ingest (j: IngestJob): Promise<void> {
  const cs = await clients(j.clients, j.swarmKey, j.maxStreams)
  const addr = multiaddr(j.addr)
  await connect(j.addr, cs)
  // built before the clock starts: the reports' encoding is the clients' work, not the server's
  const stores = Array.from({ length: j.stores }, (_, s) => storeReports(j, s))
  const reports = stores.reduce((n, r) => n + r.length, 0)
  let next = 0
  let retries = 0
  const latencies: number[] = []
  const stopProf = j.cpuProf === true ? await profileSelf(join(tmpdir(), `storemesh-bench-fleet-hubs-${process.pid}.cpuprofile`)) : undefined
  const [t0, cpu0] = [performance.now(), cpuSeconds()]
  await Promise.all(cs.flatMap(c => Array.from({ length: j.inFlightPerClient }, async () => {
    for (let s = next++; s < j.stores; s = next++) {
      // one store's reports one after the other, each with the order cursor of the answer before, as the uplink asks
      let cursor: string | undefined
      for (const batch of stores[s]!) {
        const req = cursor !== undefined ? { ...batch, have: { orderCursor: cursor } } : batch
        // a failed exchange is sent again, as the uplink's back-off does (a super hub whose event loop PGlite holds may let a stream's negotiation time out); exactly-once makes the resend safe
        let ack
        for (let attempt = 1; ; attempt++) {
          try {
            const sentAt = performance.now()
            ack = await c.services.report.send(addr, req, { timeoutMs: 120_000 })
            latencies.push(performance.now() - sentAt)
            break
          } catch (err) {
            if (attempt >= 5) throw err
            retries++
            await new Promise(resolve => setTimeout(resolve, 200 * attempt))
          }
        }
        if (ack.ackedSeq !== batch.entries.at(-1)!.seq) throw new Error(`store ${s}: acked ${ack.ackedSeq}, sent up to ${batch.entries.at(-1)!.seq}`)
        cursor = ack.orderCursor
      }
    }
  })))
  const [seconds, cpu] = [(performance.now() - t0) / 1000, cpuSeconds() - cpu0]
  const profile = stopProf !== undefined ? formatCpuTop('the hubs\' process (ingest)', cpuTop(await stopProf(), 20)) : undefined
  latencies.sort((a, b) => a - b)
  const latencyMs = { mean: latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length), p50: latencies[Math.floor(latencies.length / 2)] ?? NaN, p99: latencies[Math.floor(latencies.length * 0.99)] ?? NaN }
  send({ done: 'ingest', seconds, cpuSeconds: cpu, reports, retries, latencyMs, ...(profile !== undefined ? { profile } : {}) })
  await Promise.all(cs.map(async c => { await c.stop() }))
}

let stopHalt: (() => void) | undefined

async function halt (j: HaltJob): Promise<void> {
  const cs = await clients(j.conns, j.swarmKey, j.maxStreams)
  const addr = multiaddr(j.addr)
  await connect(j.addr, cs)
  const seenAt = new Map<number, number>()
  const stop = new AbortController()
  stopHalt = () => { stop.abort() }
  let asked = 0
  const cpu0 = cpuSeconds()
  const loops = Array.from({ length: j.hubs }, async (_, h) => {
    const c = cs[h % cs.length]!
    await new Promise(resolve => setTimeout(resolve, Math.random() * j.pollMs))
    let cursor: string | undefined
    let first = true
    while (!stop.signal.aborted && !seenAt.has(h)) {
      const t0 = performance.now()
      // as an idle 1.2.0 hub uplink asks: held until its orders change (report SPEC "Long-poll"); waitMs 0 polls
      const req = { type: 'hub-ledger' as const, hubId: `halt-hub-${h}`, epoch: j.epoch, entries: [], ...(j.waitMs > 0 ? { waitMs: j.waitMs } : {}), ...(cursor !== undefined ? { have: { orderCursor: cursor } } : {}) }
      const pending = c.services.report.send(addr, req, { timeoutMs: j.waitMs + 60_000, signal: stop.signal }).catch(() => undefined)
      if (first) {
        first = false
        // every hub asked once: its row is admitted at its first answer (the parent waits for that)
        if (++asked === j.hubs) send({ polling: asked })
      }
      const ack = await pending
      if (ack?.orders.some(o => o.waveId === j.wave && o.action === 'halt') === true) {
        seenAt.set(h, epochMs())
        continue
      }
      const held = ack?.orderCursor !== undefined && (ack.orderCursor !== cursor || performance.now() - t0 > 1_000)
      cursor = ack?.orderCursor ?? cursor
      // not held (a poll, a failure, a full slot table): the hub's poll interval, as its uplink falls back to
      if (!held || j.waitMs === 0) await new Promise(resolve => setTimeout(resolve, j.pollMs * (0.8 + 0.2 * Math.random())))
    }
  })
  await Promise.all(loops)
  send({ done: 'halt', seenAtMs: [...seenAt.values()], cpuSeconds: cpuSeconds() - cpu0 })
  await Promise.all(cs.map(async c => { await c.stop() }))
}

process.on('message', (m: IngestJob | HaltJob | { stop: true }) => {
  if ('stop' in m) {
    stopHalt?.()
    return
  }
  const run = m.job === 'ingest' ? ingest(m) : halt(m)
  run.catch((err: unknown) => { send({ error: (err as Error).stack ?? String(err) }) })
})
process.on('disconnect', () => { process.exit(0) })
