/**
 * `/storemesh/wan-pull/1.0.0`: a store hub pulls chunks by hash from a super hub
 * (DESIGN.md section 5). Not the swarm wire, because a store hub must never fetch a
 * chunk twice over the WAN (no endgame duplicates) and decides itself which super
 * hub serves which chunk. Spec: protocols/wan-pull/SPEC.md; frames: pull-frames.ts.
 *
 * Super hub (PullServer): reads a request, answers each hash in order with the chunk
 * through the limiter chain `limiterFor(peer)` (per-store-hub, then global: the
 * store hub's class and weight order it at the global limiter), then reads the next
 * request. Store hub (PullClient): writes requests, reads answers through its own
 * download limiter (a Node pipeline with back-pressure down to the yamux window, so
 * a paused limiter stops the sender within one window), and counts every byte.
 */
import { pipeline } from 'node:stream/promises'
import { Writable } from 'node:stream'
import type { Connection, Stream, StreamHandler, StreamHandlerOptions } from '@libp2p/interface'
import { StoremeshError, isStoremeshError, toStoremeshError } from '../interface/errors.js'
import type { ChunkSource } from '../interface/types.js'
import { toNodeDuplex, type StreamDuplex } from '../net/stream.js'
import type { Acquirer } from './limiter.js'
import { createThrottle } from './throttle.js'
import { decodePullRequest, encodePullRequest, FrameDecoder, PULL_STATUS, responseHeader } from './pull-frames.js'
import { DEFAULT_PULL_IDLE_TIMEOUT_MS, MAX_PULL_CHUNK_BYTES, MAX_PULL_REQUEST_BYTES, MAX_PULL_STREAMS, WAN_PULL_PROTOCOL } from './pull-constants.js'

export interface PullServerComponents {
  registrar: {
    handle(protocol: string, handler: StreamHandler, options?: StreamHandlerOptions): Promise<void>
    unhandle(protocol: string): Promise<void>
  }
}

export interface PullServerInit {
  source: ChunkSource
  /** The limiters a store hub's bytes pass, e.g. a LimiterChain [perHub, global]. */
  limiterFor: (peerId: string) => Acquirer
  /** Called after each chunk went out whole (per-hash counts in tests, metrics). */
  onServed?: (event: { peerId: string, hash: string, bytes: number }) => void
  /** @default MAX_PULL_STREAMS */
  maxStreams?: number
}

/** Writes `bytes` in slices the limiter grants, honouring the duplex's back-pressure. */
async function writePaced (out: StreamDuplex, bytes: Uint8Array, limiter: Acquirer, signal: AbortSignal): Promise<void> {
  let off = 0
  while (off < bytes.byteLength) {
    const slice = Math.max(1, Math.min(bytes.byteLength - off, Math.floor(Math.min(limiter.sliceBytes, 64 * 1024))))
    await limiter.acquire(slice, signal)
    if (out.destroyed) throw new StoremeshError('E_NOT_CONNECTED', 'wan-pull stream closed while sending')
    if (!out.write(bytes.subarray(off, off + slice))) await waitDrain(out, signal)
    off += slice
  }
}

async function waitDrain (out: StreamDuplex, signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error): void => {
      out.off('drain', onDrain); out.off('close', onClose); signal.removeEventListener('abort', onAbort)
      if (err !== undefined) reject(err)
      else resolve()
    }
    const onDrain = (): void => { done() }
    const onClose = (): void => { done(new StoremeshError('E_NOT_CONNECTED', 'wan-pull stream closed while sending')) }
    const onAbort = (): void => { done(new StoremeshError('E_ABORTED', 'aborted')) }
    out.on('drain', onDrain); out.on('close', onClose); signal.addEventListener('abort', onAbort, { once: true })
  })
}

export class PullServer {
  readonly protocol = WAN_PULL_PROTOCOL
  readonly #controller = new AbortController()
  readonly #streams = new Set<StreamDuplex>()

  constructor (private readonly components: PullServerComponents, private readonly init: PullServerInit) {}

  async start (): Promise<void> {
    const max = this.init.maxStreams ?? MAX_PULL_STREAMS
    await this.components.registrar.handle(this.protocol, (stream: Stream, connection: Connection) => {
      void this.handleStream(stream, connection.remotePeer.toString())
    }, { maxInboundStreams: max, maxOutboundStreams: 1 })
  }

  async stop (): Promise<void> {
    this.#controller.abort()
    for (const s of this.#streams) s.destroy()
    await this.components.registrar.unhandle(this.protocol).catch(() => {})
  }

  /** Serves one stream until the store hub closes it. Never throws. */
  async handleStream (stream: Stream, peerId: string): Promise<void> {
    const duplex = toNodeDuplex(stream)
    this.#streams.add(duplex)
    // a store hub that resets the stream (e.g. its idle timeout) frees the limiter slot we wait in
    const closed = new AbortController()
    duplex.once('close', () => { closed.abort(new StoremeshError('E_NOT_CONNECTED', 'wan-pull stream closed')) })
    const signal = AbortSignal.any([this.#controller.signal, closed.signal])
    const limiter = this.init.limiterFor(peerId)
    const decoder = new FrameDecoder(() => MAX_PULL_REQUEST_BYTES)
    try {
      // destroyOnReturn false: a finished iterator would destroy (reset) the stream before our answers' end
      for await (const data of duplex.iterator({ destroyOnReturn: false })) {
        for (const body of decoder.push(data as Uint8Array)) {
          for (const hash of decodePullRequest(body)) {
            const bytes = await this.init.source.get(hash, { signal })
            if (bytes === undefined) {
              await writePaced(duplex, responseHeader(PULL_STATUS.NOT_FOUND, 0), limiter, signal)
              continue
            }
            await writePaced(duplex, responseHeader(PULL_STATUS.OK, bytes.byteLength), limiter, signal)
            await writePaced(duplex, bytes, limiter, signal)
            this.init.onServed?.({ peerId, hash, bytes: bytes.byteLength })
          }
        }
      }
      duplex.end()
    } catch (err) {
      duplex.destroy(isStoremeshError(err) ? err : toStoremeshError(err))
    } finally {
      this.#streams.delete(duplex)
    }
  }
}

export function pullServer (init: PullServerInit): (components: PullServerComponents) => PullServer {
  return (components) => new PullServer(components, init)
}

// ---- client ---------------------------------------------------------------------

export interface PulledChunk {
  hash: string
  /** undefined: the super hub does not hold it */
  bytes: Uint8Array | undefined
}

export interface PullClientInit {
  /** The store hub's download limit (Limiter with Infinity for none). */
  limiter: Acquirer
  /** Every byte read from or written to the stream, as it passes (WAN accounting). */
  onWireBytes?: (bytes: number, direction: 'in' | 'out') => void
  /** Each answer, in request order; awaited before more bytes are read (back-pressure). */
  onChunk: (chunk: PulledChunk) => Promise<void>
  signal?: AbortSignal
  /**
   * Reset the stream (E_TIMEOUT) when the super hub sends nothing for this long while
   * answers are outstanding and nothing that arrived is still held on our side.
   * @default DEFAULT_PULL_IDLE_TIMEOUT_MS
   */
  idleTimeoutMs?: number
}

interface Pending { hash: string, size: number }

/**
 * The store hub's side of one stream. request() queues a batch; answers are matched
 * to requests in order; a frame of any other size than the one asked for fails the
 * stream (a super hub cannot make us buffer more than the chunk we asked for).
 * `done` settles when the stream ends or fails.
 */
export class PullClient {
  readonly done: Promise<void>
  readonly #duplex: StreamDuplex
  readonly #expected: Pending[] = []
  /** answers consumed so far (index base of #expected) */
  #answered = 0
  #closed = false
  /** bytes read off the stream / bytes the sink has finished with: a difference is held on our side */
  #arrivedBytes = 0
  #settledBytes = 0
  #lastProgressMs = Date.now()
  #idleTimer: NodeJS.Timeout | undefined
  /** releases our demand on the download limiter (held while answers are outstanding) */
  #releaseDemand: (() => void) | undefined

  constructor (stream: Stream, private readonly init: PullClientInit) {
    const idleMs = init.idleTimeoutMs ?? DEFAULT_PULL_IDLE_TIMEOUT_MS
    if (!(Number.isFinite(idleMs) && idleMs > 0)) throw new StoremeshError('E_INVALID_ARGUMENT', 'idleTimeoutMs must be a positive number', { idleTimeoutMs: String(idleMs) })
    this.#duplex = toNodeDuplex(stream)
    // frame n answers the n-th chunk asked for: allow exactly its size (frames are parsed before they are consumed)
    const decoder = new FrameDecoder(n => 1 + (this.#expected[n - this.#answered]?.size ?? 0))
    const sink = new Writable({
      highWaterMark: 64 * 1024,
      write: (data: Uint8Array, _enc, cb) => {
        void this.#onData(decoder, data).then(() => { this.#settled(data.byteLength); cb() }, (err: Error) => { cb(err) })
      }
    })
    // bytes are counted as the limiter lets them through: what a meter of the link sees
    const throttle = createThrottle({
      limiter: init.limiter,
      onBytes: (n) => { init.onWireBytes?.(n, 'in') },
      ...(init.signal !== undefined ? { signal: init.signal } : {})
    })
    this.done = pipeline(this.#duplex, throttle, sink)
      .then(() => {
        this.#closed = true
        this.#stopIdleTimer()
        if (this.#expected.length > 0) throw new StoremeshError('E_NOT_CONNECTED', `super hub closed the stream with ${this.#expected.length} chunks unanswered`)
      }, (err: unknown) => {
        this.#closed = true
        this.#stopIdleTimer()
        throw toStoremeshError(err)
      })
    this.done.catch(() => {})
    // counted before the throttle: arrival is the super hub's progress, whatever our limiter does
    this.#duplex.on('data', (d: Uint8Array) => {
      this.#arrivedBytes += d.byteLength
      this.#lastProgressMs = Date.now()
      // answers are flowing and more are owed: a stall from here on is made up afterwards,
      // not lost (held from the first byte, not the request, so a round trip adds no burst)
      if (this.#expected.length > 0) this.#releaseDemand ??= init.limiter.holdDemand?.()
    })
    this.#startIdleTimer(idleMs)
  }

  #settled (bytes: number): void {
    this.#settledBytes += bytes
    this.#lastProgressMs = Date.now()
  }

  /**
   * The idle clock runs only while we wait on the super hub: answers outstanding and
   * every byte that arrived consumed. Bytes held by our limiter (a closed window, a
   * low rate) or a slow store restart it, so our own pacing never times a hub out.
   */
  #startIdleTimer (idleMs: number): void {
    const checkMs = Math.max(10, Math.floor(idleMs / 4))
    this.#idleTimer = setInterval(() => {
      const now = Date.now()
      if (this.#expected.length === 0 || this.#arrivedBytes > this.#settledBytes) { this.#lastProgressMs = now; return }
      if (now - this.#lastProgressMs < idleMs) return
      this.#stopIdleTimer()
      this.abort(new StoremeshError('E_TIMEOUT', `super hub sent nothing for ${now - this.#lastProgressMs} ms with ${this.#expected.length} chunks outstanding`, {
        idleMs: now - this.#lastProgressMs, outstanding: this.#expected.length
      }))
    }, checkMs)
    this.#idleTimer.unref()
  }

  #stopIdleTimer (): void {
    clearInterval(this.#idleTimer)
    this.#idleTimer = undefined
    this.#dropDemand()
  }

  #dropDemand (): void {
    this.#releaseDemand?.()
    this.#releaseDemand = undefined
  }

  /** Chunks asked for and not answered yet. */
  get outstanding (): number {
    return this.#expected.length
  }

  get outstandingBytes (): number {
    let n = 0
    for (const p of this.#expected) n += p.size
    return n
  }

  request (pieces: ReadonlyArray<{ hash: string, size: number }>): void {
    if (this.#closed) throw new StoremeshError('E_NOT_CONNECTED', 'wan-pull stream is closed')
    for (const p of pieces) {
      if (p.size > MAX_PULL_CHUNK_BYTES) throw new StoremeshError('E_INVALID_ARGUMENT', `chunk ${p.hash} of ${p.size} bytes is over the limit`)
    }
    const msg = encodePullRequest(pieces.map(p => p.hash))
    if (this.#expected.length === 0) this.#lastProgressMs = Date.now()
    this.#expected.push(...pieces.map(p => ({ hash: p.hash, size: p.size })))
    this.init.onWireBytes?.(msg.byteLength, 'out')
    this.#duplex.write(msg)
  }

  /** Half-closes: the super hub finishes what was asked and ends. */
  end (): void {
    if (!this.#closed) this.#duplex.end()
  }

  abort (err?: Error): void {
    this.#stopIdleTimer()
    this.#duplex.destroy(err ?? new StoremeshError('E_ABORTED', 'wan-pull stream aborted'))
  }

  async #onData (decoder: FrameDecoder, data: Uint8Array): Promise<void> {
    for (const body of decoder.push(data)) {
      const want = this.#expected.shift()
      this.#answered++
      if (this.#expected.length === 0) this.#dropDemand()
      if (want === undefined) throw new StoremeshError('E_WIRE_MALFORMED', 'super hub sent an answer nobody asked for')
      const status = body[0]
      if (status === PULL_STATUS.NOT_FOUND && body.byteLength === 1) {
        await this.init.onChunk({ hash: want.hash, bytes: undefined })
      } else if (status === PULL_STATUS.OK && body.byteLength === 1 + want.size) {
        await this.init.onChunk({ hash: want.hash, bytes: body.subarray(1) })
      } else {
        throw new StoremeshError('E_WIRE_MALFORMED', `bad answer for chunk ${want.hash}: status ${String(status)}, ${body.byteLength - 1} bytes, expected ${want.size}`)
      }
    }
  }
}
