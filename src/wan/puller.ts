/**
 * The store hub's WAN side (DESIGN.md section 5): pre-stages the bundles queued in
 * `<data>/prefetch.json` from one or more super hubs over `/storemesh/wan-pull/1.0.0`.
 *
 * - Delta by construction: it asks only for store.missingPieces(), so a chunk held
 *   from any earlier bundle is never fetched again, and a restart or a dropped hub
 *   resumes from the chunks already stored, never from byte zero.
 * - Several super hubs: each missing chunk is assigned to exactly one hub at a time
 *   (ChunkAssigner) and moves only if that hub fails or lacks it.
 * - Its own download limit and window: a Limiter whose rate follows the schedule
 *   (0 outside the window). At 0 no new request goes out and the bytes in flight
 *   stop at the limiter (back-pressure reaches the super hub within a yamux window).
 * - A bundle is pre-staged when complete and verified end to end (store.markVerified);
 *   then a `prestaged` event and a log line.
 */
import { EventEmitter } from 'node:events'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { AbortOptions, ComponentLogger, PeerId, Stream } from '@libp2p/interface'
import { StoremeshError, isStoremeshError, toStoremeshError } from '../interface/errors.js'
import type { Log } from '../interface/log.js'
import type { BundleInfo, TrustOptions } from '../interface/types.js'
import { ManifestProtocol } from '../net/manifest/index.js'
import type { ChunkStore } from '../store/index.js'
import { backoffDelayMs } from '../interface/backoff.js'
import {
  constantSchedule, followSchedule, hostTimezone, Limiter, singleWindowSchedule, systemClock, UNLIMITED,
  type Clock, type Schedule, type ScheduleFollower
} from './index.js'
import { ChunkAssigner } from './chunk-assigner.js'
import { PullClient } from './pull/index.js'
import {
  DEFAULT_PREFETCH_POLL_MS, DEFAULT_PULL_BATCH_BYTES, DEFAULT_PULL_CONNECT_TIMEOUT_MS, DEFAULT_PULL_PIPELINE,
  DEFAULT_PULL_RETRY_BASE_MS, DEFAULT_PULL_RETRY_JITTER, DEFAULT_PULL_RETRY_MAX_MS, MAX_PULL_BATCH_CHUNKS, WAN_PULL_PROTOCOL
} from './pull/constants.js'
import { markPrefetchStaged, nextDue, readPrefetchQueue, type PrefetchEntry } from './prefetch-queue.js'

/** What the puller needs of a libp2p node. */
export interface PullerNode {
  dialProtocol(peer: PeerId | Multiaddr | Multiaddr[], protocols: string | string[], options?: AbortOptions): Promise<Stream>
  logger: ComponentLogger
}

export interface WanPullerInit {
  node: PullerNode
  store: ChunkStore
  /** the store hub's data dir (prefetch.json) */
  dataDir: string
  /** super hubs, full multiaddrs with /p2p/<id> */
  supers: Array<string | Multiaddr>
  trust: TrustOptions
  /** download limit inside the window, bytes/s. @default UNLIMITED */
  rateBytesPerSec?: number
  /** `00:30-03:30`: pull only inside it (rate 0 outside) */
  window?: string
  /** IANA zone of the window. @default the host's */
  timezone?: string
  /** a full schedule instead of rate + window */
  schedule?: Schedule
  /** clock of the schedules (tests inject a ManualClock). @default systemClock */
  clock?: Clock
  /** a swarm to tell about chunks that arrived over the WAN */
  swarm?: { noteChunkStored(hash: string): void }
  /** @default DEFAULT_PULL_BATCH_BYTES */
  batchBytes?: number
  /** @default DEFAULT_PULL_PIPELINE */
  pipeline?: number
  retryBaseMs?: number
  retryMaxMs?: number
  /** @default DEFAULT_PREFETCH_POLL_MS */
  pollMs?: number
  /** give up a super hub that sends nothing for this long (its chunks go elsewhere). @default DEFAULT_PULL_IDLE_TIMEOUT_MS */
  idleTimeoutMs?: number
  /** every WAN byte as it passes the download limiter (meters, benchmarks) */
  onWireBytes?: (bytes: number, direction: 'in' | 'out') => void
  /** one line per notable event (pre-staged, hub failed), under the component its builder named */
  log?: Log
  /**
   * Called at the start of every round of the pull loop, with the puller's manifest
   * client and the super hubs: the store hub asks them for newer roots of trust here
   * (src/roles/root-catch-up.ts); the puller itself knows nothing of roots. A throw is
   * logged and the round goes on.
   */
  onRound?: (round: { manifests: ManifestProtocol, supers: readonly Multiaddr[], signal: AbortSignal }) => Promise<void>
}

export interface WanStats {
  /** every byte our stream carried: payload + framing, both directions */
  wireBytes: number
  wireBytesIn: number
  wireBytesOut: number
  /** chunk bytes received (stored or refused) */
  payloadBytes: number
  chunksFetched: number
}

export interface PrestagedEvent { bundleId: string, chunksFetched: number, payloadBytes: number, atMs: number }
export interface ChunkEvent { bundleId: string, hash: string, bytes: number, superIndex: number }

export interface WanPuller extends EventEmitter {
  readonly stats: Readonly<WanStats>
  /** the download limiter (its rate follows the schedule) */
  readonly limiter: Limiter
  /** true while the window is open (the rate is above 0) */
  readonly open: boolean
  start(): Promise<void>
  stop(): Promise<void>
  /** re-read prefetch.json now (after `hub prefetch`) */
  poke(): void
}

class Notifier {
  private waiters: Array<() => void> = []
  notify (): void { const w = this.waiters; this.waiters = []; for (const f of w) f() }
  async wait (signal: AbortSignal, ms?: number): Promise<void> {
    if (signal.aborted) return
    await new Promise<void>(resolve => {
      const done = (): void => {
        clearTimeout(t)
        signal.removeEventListener('abort', done)
        this.waiters = this.waiters.filter(w => w !== done)
        resolve()
      }
      const t = ms !== undefined ? setTimeout(done, ms) : undefined
      this.waiters.push(done)
      signal.addEventListener('abort', done, { once: true })
    })
  }
}

class Puller extends EventEmitter implements WanPuller {
  readonly stats: WanStats = { wireBytes: 0, wireBytesIn: 0, wireBytesOut: 0, payloadBytes: 0, chunksFetched: 0 }
  readonly limiter: Limiter
  readonly #init: WanPullerInit
  readonly #supers: Multiaddr[]
  readonly #manifests: ManifestProtocol
  readonly #gate = new Notifier()
  readonly #work = new Notifier()
  #controller = new AbortController()
  #follower: ScheduleFollower | undefined
  #loop: Promise<void> | undefined
  #entryOpen = true

  constructor (init: WanPullerInit) {
    super()
    if (init.supers.length === 0) throw new StoremeshError('E_INVALID_ARGUMENT', 'a WAN puller needs at least one super hub (--super)')
    this.#init = init
    this.#supers = init.supers.map(s => typeof s === 'string' ? multiaddr(s) : s)
    this.limiter = new Limiter({ rateBytesPerSec: 0, name: 'wan-download' })
    this.#manifests = new ManifestProtocol({
      registrar: { handle: async () => {}, unhandle: async () => {} },
      connectionManager: { openStream: async (peer, protocol, options) => await init.node.dialProtocol(peer, protocol, options) },
      logger: init.node.logger
    }, { trust: init.trust, timeoutMs: DEFAULT_PULL_CONNECT_TIMEOUT_MS })
  }

  get open (): boolean {
    return this.limiter.rateBytesPerSec > 0 && this.#entryOpen
  }

  async start (): Promise<void> {
    this.#controller = new AbortController()
    const i = this.#init
    const schedule = i.schedule ?? (i.window !== undefined
      ? singleWindowSchedule({ window: i.window, rate: i.rateBytesPerSec ?? UNLIMITED, timezone: i.timezone ?? hostTimezone(), outsideRate: 0 })
      : constantSchedule(i.rateBytesPerSec ?? UNLIMITED))
    this.#follower = followSchedule({
      schedule,
      clock: i.clock ?? systemClock,
      signal: this.#controller.signal,
      apply: (c) => {
        this.limiter.setRate(c.rateBytesPerSec)
        this.emit(c.rateBytesPerSec > 0 ? 'window-open' : 'window-closed', c)
        this.#gate.notify()
      }
    })
    this.#loop = this.#run(this.#controller.signal)
  }

  async stop (): Promise<void> {
    this.#controller.abort(new StoremeshError('E_ABORTED', 'WAN puller stopped'))
    this.#follower?.stop()
    this.#gate.notify()
    this.#work.notify()
    await this.#loop?.catch(() => {})
  }

  poke (): void {
    this.#work.notify()
  }

  async #run (signal: AbortSignal): Promise<void> {
    let failures = 0
    while (!signal.aborted) {
      await this.#init.onRound?.({ manifests: this.#manifests, supers: this.#supers, signal })
        .catch((err: unknown) => { if (!signal.aborted) this.#init.log?.warn(`round hook: ${toStoremeshError(err).toLine()}`) })
      let next: PrefetchEntry | undefined
      let pollMs = this.#init.pollMs ?? DEFAULT_PREFETCH_POLL_MS
      try {
        const now = (this.#init.clock ?? systemClock).nowMs()
        // an entry whose pre-staging time (policy prestageHours before its window) has not come waits
        const { due, wakeAtMs } = nextDue(await readPrefetchQueue(this.#init.dataDir), now)
        next = due
        if (wakeAtMs !== undefined) pollMs = Math.min(pollMs, Math.max(0, wakeAtMs - now))
      } catch (err) {
        this.#init.log?.warn(`prefetch queue unreadable: ${toStoremeshError(err).toLine()}`)
      }
      if (next === undefined) {
        await this.#work.wait(signal, pollMs)
        continue
      }
      try {
        await this.#stage(next, signal)
        failures = 0
      } catch (err) {
        if (signal.aborted) return
        failures++
        const e = toStoremeshError(err)
        this.#init.log?.warn({ bundle: next.bundleId }, `pre-staging ${next.bundleId} failed, retrying: ${e.toLine()}`)
        this.emit('stage-error', { bundleId: next.bundleId, error: e })
        await this.#work.wait(signal, this.#backoff(failures))
      }
    }
  }

  #backoff (failures: number): number {
    return backoffDelayMs(failures, {
      baseMs: this.#init.retryBaseMs ?? DEFAULT_PULL_RETRY_BASE_MS,
      maxMs: this.#init.retryMaxMs ?? DEFAULT_PULL_RETRY_MAX_MS,
      jitterFraction: DEFAULT_PULL_RETRY_JITTER
    })
  }

  async #bundleInfo (bundleId: string, signal: AbortSignal): Promise<BundleInfo> {
    const store = this.#init.store
    if (store.getBundle(bundleId) !== undefined) return await store.bundleInfo(bundleId)
    let last: unknown
    for (const addr of this.#supers) {
      try {
        const info = await this.#manifests.fetch(addr, { bundleId }, { signal })
        await store.addBundle(info)
        return info
      } catch (err) {
        if (signal.aborted) throw err
        last = err
      }
    }
    throw toStoremeshError(last)
  }

  async #stage (entry: PrefetchEntry, outer: AbortSignal): Promise<void> {
    const controller = new AbortController()
    const signal = AbortSignal.any([outer, controller.signal])
    let entryFollower: ScheduleFollower | undefined
    this.#entryOpen = true
    if (entry.window !== undefined) {
      entryFollower = followSchedule({
        schedule: singleWindowSchedule({ window: entry.window, rate: 1, outsideRate: 0, timezone: entry.timezone ?? this.#init.timezone ?? hostTimezone() }),
        clock: this.#init.clock ?? systemClock,
        signal,
        apply: (c) => { this.#entryOpen = c.rateBytesPerSec > 0; this.#gate.notify() }
      })
    }
    try {
      const info = await this.#bundleInfo(entry.bundleId, signal)
      const store = this.#init.store
      const missing = await store.missingPieces(info.id)
      const assigner = new ChunkAssigner(missing, this.#supers.length)
      const before = { chunks: this.stats.chunksFetched, bytes: this.stats.payloadBytes }
      if (missing.length > 0) {
        await Promise.all(this.#supers.map(async (_, hub) => { await this.#worker(info.id, hub, assigner, signal) }))
        if (!assigner.finished) {
          if (signal.aborted) throw new StoremeshError('E_ABORTED', 'WAN puller stopped')
          throw new StoremeshError('E_CHUNK_MISSING', `no super hub holds ${missing.length - assigner.completed} chunks of ${info.id}`, { bundle: info.id })
        }
      }
      const rec = store.getBundle(info.id)
      if (rec?.state !== 'verified') await store.markVerified(info.id, { signal })
      await markPrefetchStaged(this.#init.dataDir, info.id)
      const ev: PrestagedEvent = {
        bundleId: info.id,
        chunksFetched: this.stats.chunksFetched - before.chunks,
        payloadBytes: this.stats.payloadBytes - before.bytes,
        atMs: Date.now()
      }
      this.#init.log?.info({ bundle: info.id }, `pre-staged ${info.id} (${info.manifest.signed.name} ${info.manifest.signed.version}): complete and verified, ${ev.chunksFetched} chunks / ${ev.payloadBytes} bytes over WAN`)
      this.emit('prestaged', ev)
    } finally {
      entryFollower?.stop()
      this.#entryOpen = true
      controller.abort()
    }
  }

  async #waitOpen (signal: AbortSignal): Promise<void> {
    while (!this.open && !signal.aborted) await this.#gate.wait(signal)
  }

  /** One super hub's loop: a stream, batches while there is work, reconnect with back-off after a failure. */
  async #worker (bundleId: string, hub: number, assigner: ChunkAssigner, signal: AbortSignal): Promise<void> {
    const addr = this.#supers[hub] as Multiaddr
    let failures = 0
    while (!signal.aborted && !assigner.finished && !assigner.stuck) {
      await this.#waitOpen(signal)
      if (signal.aborted) return
      if (!assigner.hasWorkFor(hub)) { await assigner.changed(signal); continue }
      let client: PullClient | undefined
      try {
        const stream = await this.#init.node.dialProtocol(addr, WAN_PULL_PROTOCOL, { signal: AbortSignal.any([signal, AbortSignal.timeout(DEFAULT_PULL_CONNECT_TIMEOUT_MS)]) })
        const c: PullClient = client = new PullClient(stream, {
          limiter: this.limiter,
          signal,
          ...(this.#init.idleTimeoutMs !== undefined ? { idleTimeoutMs: this.#init.idleTimeoutMs } : {}),
          onWireBytes: (n, dir) => {
            this.stats.wireBytes += n
            if (dir === 'in') this.stats.wireBytesIn += n
            else this.stats.wireBytesOut += n
            this.#init.onWireBytes?.(n, dir)
          },
          onChunk: async ({ hash, bytes }) => {
            if (bytes === undefined) { assigner.notFound(hash, hub); return }
            this.stats.payloadBytes += bytes.byteLength
            assigner.arrived(hash)
            try {
              await this.#init.store.put(hash, bytes, { signal })
            } catch (err) {
              assigner.storeFailed(hash)
              throw err
            }
            this.stats.chunksFetched++
            assigner.complete(hash)
            this.#init.swarm?.noteChunkStored(hash)
            this.emit('chunk', { bundleId, hash, bytes: bytes.byteLength, superIndex: hub } satisfies ChunkEvent)
            failures = 0
          }
        })
        let ended = false
        c.done.then(() => { ended = true }, () => { ended = true })
        const batchBytes = this.#init.batchBytes ?? DEFAULT_PULL_BATCH_BYTES
        const depth = this.#init.pipeline ?? DEFAULT_PULL_PIPELINE
        for (;;) {
          // keep up to `depth` batches outstanding while the window is open
          while (this.open && !ended && c.outstandingBytes < depth * batchBytes && assigner.hasWorkFor(hub)) {
            const batch = assigner.take(hub, batchBytes, MAX_PULL_BATCH_CHUNKS)
            if (batch.length === 0) break
            c.request(batch)
          }
          if (assigner.finished || assigner.stuck) { c.end(); await c.done; return }
          if (ended) { await c.done; throw new StoremeshError('E_NOT_CONNECTED', 'super hub ended the stream') }
          // the waits that lose the race are dropped, so waiters do not pile up one per chunk
          const round = new AbortController()
          const roundSignal = AbortSignal.any([signal, round.signal])
          await Promise.race([c.done.catch(() => {}), assigner.changed(roundSignal), this.#gate.wait(roundSignal)])
          round.abort()
          if (signal.aborted) { c.abort(); return }
        }
      } catch (err) {
        client?.abort()
        const back = assigner.release(hub)
        if (signal.aborted) return
        failures++
        const e = isStoremeshError(err) ? err : toStoremeshError(err)
        this.#init.log?.warn({ bundle: bundleId }, `super hub ${addr.toString()} failed (${back} chunks reassigned): ${e.toLine()}`)
        this.emit('super-error', { superIndex: hub, error: e, reassigned: back })
        // back off, but stop waiting when the other hubs finished the bundle
        const until = Date.now() + this.#backoff(failures)
        while (Date.now() < until && !assigner.finished && !signal.aborted) {
          let timer: NodeJS.Timeout | undefined
          await Promise.race([assigner.changed(signal), new Promise(resolve => { timer = setTimeout(resolve, until - Date.now()) })])
          clearTimeout(timer)
        }
      }
    }
  }
}

/** The store hub's WAN puller; call start() to follow prefetch.json, stop() to abort everything in flight. */
export function createWanPuller (init: WanPullerInit): WanPuller {
  return new Puller(init)
}
