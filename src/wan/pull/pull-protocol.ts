/**
 * `/storemesh/wan-pull/1.0.0`: a store hub pulls chunks by hash from a super hub
 * (DESIGN.md section 5). Not the swarm wire, because a store hub must never fetch a
 * chunk twice over the WAN (no endgame duplicates) and decides itself which super
 * hub serves which chunk. Spec: protocols/wan-pull/SPEC.md; messages: messages.ts.
 *
 * Both sides live here. Super hub (PullServer, the handler): reads a request, answers
 * each hash in order with the chunk through the limiter chain `limiterFor(peer)`
 * (per-store-hub, then global: the store hub's class and weight order it at the
 * global limiter), then reads the next request. Store hub (PullClient, one per stream
 * it opens; a store hub registers no handler): writes requests, reads answers through
 * its own download limiter, and counts every byte.
 *
 * Reads are it-pipe pipelines over the Node adapter of src/net/stream.ts (`bytesOf`),
 * framed by it-length-prefixed (messages.ts). Every stage pulls only when the next
 * one asks, so a paused limiter or a slow store stops the reads, the adapter pauses
 * the libp2p stream, and yamux stops the sender within one window.
 */
import { pipe } from 'it-pipe'
import type { Stream } from '@libp2p/interface'
import { StoremeshError, isStoremeshError, toStoremeshError } from '../../interface/errors.js'
import { toNodeDuplex, type StreamDuplex } from '../../net/stream.js'
import { abortError } from '../../interface/abort.js'
import type { Acquirer } from '../limiter.js'
import type { ByteGrant } from '../byte-budget.js'
import { throttle } from '../throttle.js'
import { DEFAULT_GUESSED_CHUNK_BYTES, DEFAULT_PULL_IDLE_TIMEOUT_MS, DEFAULT_SERVE_STALL_MS, DEFAULT_PULL_READ_AHEAD, MAX_PULL_ANSWER_BYTES, MAX_PULL_CHUNK_BYTES, MAX_PULL_REQUEST_BYTES, MAX_PULL_STREAMS, MAX_PULL_WRITE_BYTES, WAN_PULL_PROTOCOL } from './constants.js'
import type { PullClientInit, PullServerComponents, PullServerInit, PullServerStats } from './index.js'
import { decodeFrames, decodePullAnswer, decodePullRequest, encodePullAnswer, encodePullRequest, endedMidFrame } from './messages.js'

/**
 * A stream's bytes as an async iterable for it-pipe, with back-pressure. Not the
 * libp2p stream itself nor @libp2p/utils' messageStreamToDuplex: both buffer whatever
 * arrives (STACK-NOTES: `for await` over a v3 stream has no back-pressure; the
 * utils' source is an unbounded pushable that ends on `remoteCloseWrite`). The Node
 * adapter pauses the libp2p stream when its buffer is full. `destroyOnReturn: false`:
 * the read side finishing must not reset a stream whose answers are still written.
 */
function bytesOf (duplex: StreamDuplex): AsyncIterable<Uint8Array> {
  return duplex.iterator({ destroyOnReturn: false })
}

/**
 * Wraps a stream for one side of the protocol. Its failures reach us through the
 * reads and writes; without a listener, the `error` a destroy(err) emits once the
 * read loop has returned would be an uncaught exception (it crashed the super hub on
 * a malformed request).
 */
function duplexOf (stream: Stream): StreamDuplex {
  const duplex = toNodeDuplex(stream)
  duplex.on('error', () => {})
  return duplex
}

/**
 * Writes `bytes` in slices the limiter grants (at most MAX_PULL_WRITE_BYTES each),
 * honouring the duplex's back-pressure. `stallMs` bounds each wait for a drain (time
 * in the limiter is our own pacing and never counts).
 */
async function writePaced (out: StreamDuplex, bytes: Uint8Array, limiter: Acquirer, signal: AbortSignal, stall?: { ms: number, onWait: () => void }): Promise<void> {
  let off = 0
  while (off < bytes.byteLength) {
    const slice = Math.max(1, Math.min(bytes.byteLength - off, Math.floor(Math.min(limiter.sliceBytes, MAX_PULL_WRITE_BYTES))))
    await limiter.acquire(slice, signal)
    if (out.destroyed) throw new StoremeshError('E_NOT_CONNECTED', 'wan-pull stream closed while sending')
    if (!out.write(bytes.subarray(off, off + slice))) {
      stall?.onWait()
      await waitDrain(out, signal, stall?.ms)
    }
    off += slice
  }
}

async function waitDrain (out: StreamDuplex, signal: AbortSignal, stallMs?: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const stall = stallMs === undefined
      ? undefined
      : setTimeout(() => {
        done(new StoremeshError('E_SERVE_STALLED', `the store hub took nothing from the stream for ${stallMs} ms mid-answer`, { stallMs }))
      }, stallMs)
    const done = (err?: Error): void => {
      clearTimeout(stall)
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

// ---- super hub ----------------------------------------------------------------------

export class PullServer {
  readonly protocol = WAN_PULL_PROTOCOL
  readonly #controller = new AbortController()
  readonly #streams = new Set<StreamDuplex>()
  readonly #stallMs: number
  #stalledAborts = 0
  #drainWaits = 0
  readonly #stall = { ms: 0, onWait: () => { this.#drainWaits++ } }

  constructor (private readonly components: PullServerComponents, private readonly init: PullServerInit) {
    this.#stallMs = init.stallMs ?? DEFAULT_SERVE_STALL_MS
    this.#stall.ms = this.#stallMs
    if (!(Number.isFinite(this.#stallMs) && this.#stallMs > 0)) throw new StoremeshError('E_INVALID_ARGUMENT', 'stallMs must be a positive number', { stallMs: String(this.#stallMs) })
  }

  stats (): PullServerStats {
    return { stalledAborts: this.#stalledAborts, drainWaits: this.#drainWaits }
  }

  async start (): Promise<void> {
    const max = this.init.maxStreams ?? MAX_PULL_STREAMS
    await this.components.registrar.handle(this.protocol, (stream, connection) => {
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
    const duplex = duplexOf(stream)
    this.#streams.add(duplex)
    // a store hub that resets the stream (e.g. its idle timeout) frees the limiter slot we wait in
    const closed = new AbortController()
    duplex.once('close', () => { closed.abort(new StoremeshError('E_NOT_CONNECTED', 'wan-pull stream closed')) })
    const signal = AbortSignal.any([this.#controller.signal, closed.signal])
    const limiter = this.init.limiterFor(peerId)
    try {
      await pipe(
        bytesOf(duplex),
        (source) => decodeFrames(source, { maxDataLength: MAX_PULL_REQUEST_BYTES }),
        async (requests) => {
          for await (const body of requests) await this.#answerBatch(duplex, decodePullRequest(body), peerId, limiter, signal)
        }
      )
      duplex.end()
    } catch (err) {
      // a request cut by the store hub's end is dropped and the stream ended, as always
      if (endedMidFrame(err)) duplex.end()
      else duplex.destroy(isStoremeshError(err) ? err : toStoremeshError(err))
      // the reset gives its grants back: the head's at once, those read ahead as they settle (#answerBatch)
      if (isStoremeshError(err) && err.code === 'E_SERVE_STALLED') {
        this.#stalledAborts++
        this.init.onStalled?.({ peerId, stallMs: this.#stallMs })
      }
    } finally {
      this.#streams.delete(duplex)
    }
  }

  /**
   * Answers one request's hashes in order, reading up to `readAhead` of them ahead of
   * the one being sent: a chunk pulled through from the origin (or read from disk)
   * arrives while the one before it goes out, instead of the stream's core idling on
   * each read in turn (bench:origin's profile: ~37 % idle with one at a time). Every
   * read holds its grant of the server-wide budget until its answer is handed to the
   * stream, so reading ahead never passes the bound; a stream holding any grant holds
   * its head's (grants are taken in order), so it always progresses.
   */
  async #answerBatch (duplex: StreamDuplex, hashes: string[], peerId: string, limiter: Acquirer, signal: AbortSignal): Promise<void> {
    const ahead = Math.max(1, this.init.readAhead ?? DEFAULT_PULL_READ_AHEAD)
    const reads: Array<Promise<ReadAnswer>> = []
    let next = 0
    const fill = (): void => {
      while (next < hashes.length && reads.length < ahead) {
        const read = this.#read(hashes[next++]!, signal)
        read.catch(() => {})
        reads.push(read)
      }
    }
    try {
      fill()
      for (let i = 0; i < hashes.length; i++) {
        const r = await reads[0]!
        reads.shift()
        try {
          fill()
          for (const part of encodePullAnswer(r.bytes)) await writePaced(duplex, part, limiter, signal, this.#stall)
          if (r.bytes !== undefined) this.init.onServed?.({ peerId, hash: r.hash, bytes: r.bytes.byteLength })
        } finally {
          r.grant?.release()
        }
      }
    } finally {
      // a failed stream gives back what its reads ahead hold (once each read settles)
      for (const read of reads) void read.then(r => { r.grant?.release() }, () => {})
    }
  }

  /** The chunk's bytes under a grant of the server-wide budget (held until the caller releases it). */
  async #read (hash: string, signal: AbortSignal): Promise<ReadAnswer> {
    const grant = await this.init.budget?.acquire(this.init.source.sizeOf?.(hash) ?? DEFAULT_GUESSED_CHUNK_BYTES, signal)
    try {
      const bytes = await this.init.source.get(hash, { signal })
      grant?.resize(bytes?.byteLength ?? 0)
      return { hash, bytes, grant }
    } catch (err) {
      grant?.release()
      throw err
    }
  }
}

interface ReadAnswer { hash: string, bytes: Uint8Array | undefined, grant: ByteGrant | undefined }

// ---- store hub ----------------------------------------------------------------------

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
  /** bytes read off the stream / bytes the reader has finished with: a difference is held on our side */
  #arrivedBytes = 0
  #settledBytes = 0
  #lastProgressMs = Date.now()
  #idleTimer: NodeJS.Timeout | undefined
  /** releases our demand on the download limiter (held while answers are outstanding) */
  #releaseDemand: (() => void) | undefined
  /** stops a read waiting in the limiter when the stream is given up */
  readonly #stop = new AbortController()

  constructor (stream: Stream, private readonly init: PullClientInit) {
    const idleMs = init.idleTimeoutMs ?? DEFAULT_PULL_IDLE_TIMEOUT_MS
    if (!(Number.isFinite(idleMs) && idleMs > 0)) throw new StoremeshError('E_INVALID_ARGUMENT', 'idleTimeoutMs must be a positive number', { idleTimeoutMs: String(idleMs) })
    this.#duplex = duplexOf(stream)
    const outer = init.signal
    const onAbort = (): void => { this.abort(abortError(outer)) }
    if (outer?.aborted === true) queueMicrotask(onAbort)
    else outer?.addEventListener('abort', onAbort, { once: true })
    const signal = outer === undefined ? this.#stop.signal : AbortSignal.any([outer, this.#stop.signal])
    this.done = pipe(
      bytesOf(this.#duplex),
      // counted before the limiter: arrival is the super hub's progress, whatever our limiter does
      (source) => this.#arrivals(source),
      // counted as the limiter lets them through: what a meter of the link sees
      (source) => throttle(source, { limiter: init.limiter, signal, onBytes: (n) => { init.onWireBytes?.(n, 'in') } }),
      (source) => this.#settles(source),
      // frame n answers the n-th chunk asked for: allow exactly its size
      (source) => decodeFrames(source, { maxDataLength: MAX_PULL_ANSWER_BYTES, maxFrameBytes: n => 1 + (this.#expected[n - this.#answered]?.size ?? 0) }),
      async (answers) => { for await (const body of answers) await this.#onAnswer(body) }
    )
      // an answer cut by the end of the stream is what it always was: an early end, judged below
      .catch((err: unknown) => { if (!endedMidFrame(err)) throw err })
      .then(() => {
        this.#finish(onAbort)
        if (this.#expected.length > 0) throw new StoremeshError('E_NOT_CONNECTED', `super hub closed the stream with ${this.#expected.length} chunks unanswered`)
      }, (err: unknown) => {
        this.#finish(onAbort)
        // given up by abort(): its reason, not what the torn-down stages threw after it
        const e = toStoremeshError(this.#stop.signal.aborted ? this.#stop.signal.reason : err)
        this.#duplex.destroy(e)
        throw e
      })
    this.done.catch(() => {})
    this.#startIdleTimer(idleMs)
  }

  #finish (onAbort: () => void): void {
    this.#closed = true
    this.#stopIdleTimer()
    this.init.signal?.removeEventListener('abort', onAbort)
  }

  async * #arrivals (source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array, void, undefined> {
    for await (const data of source) {
      this.#arrivedBytes += data.byteLength
      this.#lastProgressMs = Date.now()
      // answers are flowing and more are owed: a stall from here on is made up afterwards,
      // not lost (held from the first byte, not the request, so a round trip adds no burst)
      if (this.#expected.length > 0) this.#releaseDemand ??= this.init.limiter.holdDemand?.()
      yield data
    }
  }

  /** The decoder asks for the next bytes only once every answer they completed was handled. */
  async * #settles (source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array, void, undefined> {
    for await (const data of source) {
      yield data
      this.#settledBytes += data.byteLength
      this.#lastProgressMs = Date.now()
    }
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
    const e = err ?? new StoremeshError('E_ABORTED', 'wan-pull stream aborted')
    this.#stop.abort(e)
    this.#duplex.destroy(e)
  }

  async #onAnswer (body: Uint8Array): Promise<void> {
    const want = this.#expected.shift()
    this.#answered++
    if (this.#expected.length === 0) this.#dropDemand()
    if (want === undefined) throw new StoremeshError('E_WIRE_MALFORMED', 'super hub sent an answer nobody asked for')
    await this.init.onChunk({ hash: want.hash, bytes: decodePullAnswer(body, want) })
  }
}
