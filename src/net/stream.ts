/**
 * A Node `stream.Duplex` over a libp2p v3 `Stream`, with back-pressure both ways.
 * The chunk wire (bittorrent-protocol, a streamx Duplex) pipes over it:
 *
 * ```ts
 * const duplex = toNodeDuplex(stream)
 * duplex.pipe(wire).pipe(duplex)
 * duplex.on('error', onError) // a reset at node stop is an error event
 * ```
 *
 * Traps it avoids, each reproduced on this machine (STACK-NOTES "libp2p 3 streams"):
 * - `for await` over a stream has no back-pressure. Here the libp2p stream is paused
 *   when the Node readable buffer is full (`push()` returned false) and resumed from
 *   `_read()`. With yamux, pausing stops window updates, so the remote stops after at
 *   most one window (DEFAULT_MAX_STREAM_WINDOW_BYTES) and the receiver holds at most
 *   readableHighWaterMark + one message + one window.
 * - `pause()` called synchronously inside a `message` handler that runs within
 *   `resume()` is undone by `resume()` itself (it calls `sendResume()` after
 *   dispatching). Pauses are deferred to a microtask and re-checked.
 * - `send()` returning false: writes wait for the `drain` event, every time (through
 *   WriteBatcher), never `onDrain()`, which only waits the first time.
 * - EOF is the `end` event (or `readableEnded` when it already fired), not `remoteCloseWrite`,
 *   which fires while unread bytes may still sit in the read buffer.
 *
 * Writes are coalesced by a WriteBatcher (one send() per tick, or per `batchBytes`).
 * `end()` flushes and half-closes the libp2p stream; `destroy(err)` aborts it (the
 * remote sees a reset); an error or reset from the remote destroys the Duplex.
 */
import { Duplex } from 'node:stream'
import { StreamResetError, type Stream, type StreamCloseEvent, type StreamMessageEvent } from '@libp2p/interface'
import { WriteBatcher } from './batcher.js'
import { DEFAULT_BATCH_BYTES, DEFAULT_READABLE_HIGH_WATER_BYTES, DEFAULT_WRITABLE_HIGH_WATER_BYTES } from './constants.js'

export { WriteBatcher, type WriteBatcherInit } from './batcher.js'
export { readBounded, writeMessage, type BoundedReadOptions } from './length-prefixed.js'

export interface NodeDuplexInit {
  /** @default DEFAULT_READABLE_HIGH_WATER_BYTES (256 KiB) */
  readableHighWaterMark?: number
  /** @default DEFAULT_WRITABLE_HIGH_WATER_BYTES (256 KiB) */
  writableHighWaterMark?: number
  /** writes are coalesced up to this size; 0 sends each write at once. @default 64 KiB */
  batchBytes?: number
}

/** The Duplex plus what tests and metrics read. */
export interface StreamDuplex extends Duplex {
  /** the libp2p stream under it */
  readonly libp2pStream: Stream
  /** its write batcher: `sends` and `bytesSent` show the coalescing */
  readonly batcher: WriteBatcher
}

class LibP2PStreamDuplex extends Duplex implements StreamDuplex {
  readonly libp2pStream: Stream
  readonly batcher: WriteBatcher
  /** the Node side asked for data since the last push() that returned false */
  #wantData = true
  #pauseQueued = false
  #resumeQueued = false
  #ended = false

  constructor (stream: Stream, init: NodeDuplexInit) {
    super({
      allowHalfOpen: true,
      readableHighWaterMark: init.readableHighWaterMark ?? DEFAULT_READABLE_HIGH_WATER_BYTES,
      writableHighWaterMark: init.writableHighWaterMark ?? DEFAULT_WRITABLE_HIGH_WATER_BYTES
    })
    this.libp2pStream = stream
    this.batcher = new WriteBatcher(stream, { batchBytes: init.batchBytes ?? DEFAULT_BATCH_BYTES })
    stream.addEventListener('message', this.#onMessage)
    stream.addEventListener('end', this.#onEnd)
    stream.addEventListener('close', this.#onClose)
    if (stream.readableEnded) queueMicrotask(this.#onEnd)
    if (stream.status === 'aborted' || stream.status === 'reset') {
      queueMicrotask(() => this.destroy(new StreamResetError(`stream is already ${stream.status}`)))
    }
  }

  readonly #onMessage = (evt: StreamMessageEvent): void => {
    const data = evt.data
    if (this.#ended || this.destroyed) return
    let more = true
    if (data instanceof Uint8Array) {
      more = this.push(data)
    } else {
      for (const buf of data) more = this.push(buf)
    }
    if (!more) {
      this.#wantData = false
      this.#queuePause()
    }
  }

  readonly #onEnd = (): void => {
    if (this.#ended || this.destroyed) return
    this.#ended = true
    this.push(null)
  }

  readonly #onClose = (evt: StreamCloseEvent): void => {
    if (evt.error != null) {
      this.destroy(evt.error)
      return
    }
    // a clean close: 'end' has fired or will when the paused read buffer is read
    if (this.libp2pStream.readableEnded) this.#onEnd()
  }

  #queuePause (): void {
    if (this.#pauseQueued) return
    this.#pauseQueued = true
    queueMicrotask(() => {
      this.#pauseQueued = false
      const s = this.libp2pStream
      if (!this.#wantData && s.readStatus === 'readable') s.pause()
    })
  }

  override _read (): void {
    this.#wantData = true
    if (this.#resumeQueued) return
    this.#resumeQueued = true
    // deferred so a resume() never runs inside our own message handler
    queueMicrotask(() => {
      this.#resumeQueued = false
      const s = this.libp2pStream
      if (!this.#wantData || s.readStatus !== 'paused' || this.destroyed) return
      try {
        s.resume()
      } catch {
        // the connection under a paused stream closed first: yamux's window update
        // throws StreamStateError from here, in a microtask, which would end the process;
        // the stream's own close event follows and ends this duplex
      }
    })
  }

  override _write (chunk: Uint8Array, _encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#writeAll([chunk], cb)
  }

  override _writev (chunks: Array<{ chunk: Uint8Array }>, cb: (err?: Error | null) => void): void {
    this.#writeAll(chunks.map(c => c.chunk), cb)
  }

  #writeAll (chunks: Uint8Array[], cb: (err?: Error | null) => void): void {
    let ok = true
    try {
      for (const c of chunks) ok = this.batcher.write(c)
    } catch (err) {
      cb(err as Error)
      return
    }
    if (ok) {
      cb()
      return
    }
    this.batcher.writable().then(() => { cb() }, cb)
  }

  override _final (cb: (err?: Error | null) => void): void {
    this.batcher.drain()
      .then(async () => { await this.libp2pStream.close() })
      .then(() => { cb() }, cb)
  }

  override _destroy (err: Error | null, cb: (err?: Error | null) => void): void {
    const s = this.libp2pStream
    s.removeEventListener('message', this.#onMessage)
    s.removeEventListener('end', this.#onEnd)
    s.removeEventListener('close', this.#onClose)
    this.batcher.dispose()
    const finished = this.#ended && this.writableFinished
    if ((s.status === 'open' || s.status === 'closing') && (err != null || !finished)) {
      s.abort(err ?? new Error('stream destroyed before it finished'))
    }
    cb(err)
  }
}

/** Wraps a libp2p v3 stream as a Node Duplex; see the file comment for the contract. */
export function toNodeDuplex (stream: Stream, init: NodeDuplexInit = {}): StreamDuplex {
  return new LibP2PStreamDuplex(stream, init)
}
