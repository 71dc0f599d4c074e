/**
 * The byte pipe under one peer wire: any Node Duplex (or a streamx duplex with the
 * same few methods), e.g. `toNodeDuplex(libp2pStream)` from src/net/stream.ts or an
 * in-memory pair in tests.
 *
 * Outbound, the wire's many small writes of one tick (a 13-byte piece header, 9-byte
 * haves, 17-byte requests) are coalesced into few large writes, cut at `maxWriteBytes`
 * (a last part under a quarter of it rides with the one before):
 * the notes measured 36 MiB/s with one send() per wire write and 54–82 MiB/s batched.
 * `writable()` resolves once the duplex drained, so a sender of pieces never piles
 * more than one batch on a slow link.
 */
import { StoremeshError } from '../interface/errors.js'

/** A flush's last part shorter than maxWriteBytes / this is merged into the one before. */
const TAIL_FRACTION = 4
/** After our end(), a duplex whose remote never ends is destroyed after this long. */
const CLOSE_GRACE_MS = 5_000

/** What we need of a duplex; `node:stream` Duplex and streamx Duplex both fit. */
export interface ByteDuplex {
  write(chunk: Uint8Array): boolean
  /** several buffers as one write, not concatenated (net/byte-stream.ts); absent: one concatenated write() */
  writev?(parts: Uint8Array[]): boolean
  end(): unknown
  destroy(err?: Error): unknown
  on(event: string, listener: (...args: any[]) => void): unknown
  off(event: string, listener: (...args: any[]) => void): unknown
  pause?(): unknown
  resume?(): unknown
  /** Node and streamx both have it; a duplex destroyed before we listen emits nothing more */
  readonly destroyed?: boolean
  readonly readableEnded?: boolean
}

export interface TransportEvents {
  /** raw bytes from the remote */
  onData: (chunk: Uint8Array) => void
  /** the duplex ended, closed or failed; called once */
  onClose: (err?: Error) => void
}

export class WireTransport {
  readonly #duplex: ByteDuplex
  readonly #maxWriteBytes: number
  readonly #events: TransportEvents
  #pending: Uint8Array[] = []
  #pendingBytes = 0
  #timer: NodeJS.Immediate | undefined
  #needDrain = false
  #waiters: Array<{ resolve: () => void, reject: (err: Error) => void }> = []
  #closed = false
  /** duplex.write() calls and bytes, for tests and benches */
  writes = 0
  bytesWritten = 0

  constructor (duplex: ByteDuplex, maxWriteBytes: number, events: TransportEvents) {
    this.#duplex = duplex
    this.#maxWriteBytes = maxWriteBytes
    this.#events = events
    duplex.on('data', this.#onData)
    duplex.on('end', this.#onEnd)
    duplex.on('close', this.#onEnd)
    duplex.on('error', this.#onError)
    duplex.on('drain', this.#onDrain)
    // a handshake reader may have paused it; data listeners do not resume a paused Node stream
    duplex.resume?.()
    // it may have been reset while a router read the handshake: its 'close' is gone already
    if (duplex.destroyed === true || duplex.readableEnded === true) {
      queueMicrotask(() => { this.#finish(new StoremeshError('E_NOT_CONNECTED', 'stream closed before the wire started')) })
    }
  }

  get closed (): boolean {
    return this.#closed
  }

  /** Queues bytes for the next flush (same tick), or at once past maxWriteBytes. */
  write (data: Uint8Array): void {
    if (this.#closed || data.length === 0) return
    this.#pending.push(data)
    this.#pendingBytes += data.length
    if (this.#pendingBytes >= this.#maxWriteBytes) this.#flush()
    else if (this.#timer === undefined) this.#timer = setImmediate(this.#flush)
  }

  /** Resolves when the duplex accepts more; rejects once the transport closed. */
  async writable (signal?: AbortSignal): Promise<void> {
    if (this.#closed) throw new StoremeshError('E_NOT_CONNECTED', 'peer wire closed')
    if (!this.#needDrain) return
    signal?.throwIfAborted()
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.#waiters = this.#waiters.filter(w => w !== waiter)
        reject(new StoremeshError('E_ABORTED', 'aborted while waiting for the peer to drain'))
      }
      const waiter = {
        resolve: () => { signal?.removeEventListener('abort', onAbort); resolve() },
        reject: (err: Error) => { signal?.removeEventListener('abort', onAbort); reject(err) }
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#waiters.push(waiter)
    })
  }

  /**
   * Stops reading and writing. Without `err` the duplex is ended (queued bytes go
   * out first); with one it is destroyed and the remote sees a reset.
   */
  close (err?: Error): void {
    if (this.#closed) return
    this.#flush()
    this.#finish(err)
  }

  readonly #flush = (): void => {
    if (this.#timer !== undefined) clearImmediate(this.#timer)
    this.#timer = undefined
    if (this.#closed || this.#pendingBytes === 0) return
    const pending = this.#pending
    const total = this.#pendingBytes
    this.#pending = []
    this.#pendingBytes = 0
    try {
      for (const part of cutParts(pending, total, this.#maxWriteBytes)) {
        const bytes = part.reduce((n, b) => n + b.length, 0)
        this.writes++
        this.bytesWritten += bytes
        const ok = part.length === 1
          ? this.#duplex.write(part[0] as Uint8Array)
          : this.#duplex.writev !== undefined ? this.#duplex.writev(part) : this.#duplex.write(Buffer.concat(part, bytes))
        if (!ok) this.#needDrain = true
      }
    } catch (err) {
      this.#finish(err as Error)
    }
  }

  readonly #onData = (chunk: Uint8Array): void => {
    if (!this.#closed) this.#events.onData(chunk)
  }

  readonly #onDrain = (): void => {
    this.#needDrain = false
    const waiters = this.#waiters
    this.#waiters = []
    for (const w of waiters) w.resolve()
  }

  readonly #onEnd = (): void => { this.#finish() }
  readonly #onError = (err: Error): void => { this.#finish(err) }

  #finish (err?: Error): void {
    if (this.#closed) return
    this.#closed = true
    if (this.#timer !== undefined) clearImmediate(this.#timer)
    this.#timer = undefined
    this.#pending = []
    this.#pendingBytes = 0
    const d = this.#duplex
    d.off('data', this.#onData)
    d.off('end', this.#onEnd)
    d.off('close', this.#onEnd)
    d.off('drain', this.#onDrain)
    // keep an error listener: a late reset must not become an uncaught 'error'
    const waiters = this.#waiters
    this.#waiters = []
    const closedErr = new StoremeshError('E_NOT_CONNECTED', 'peer wire closed', {}, { cause: err })
    for (const w of waiters) w.reject(closedErr)
    this.#release(err)
    this.#events.onClose(err)
  }

  /** Ends (or on error destroys) the duplex; a remote that never ends is cut after a grace period. */
  #release (err?: Error): void {
    try {
      if (err !== undefined) {
        this.#duplex.destroy(err)
        return
      }
      this.#duplex.end()
      setTimeout(() => { this.#duplex.destroy() }, CLOSE_GRACE_MS).unref()
    } catch {
      // already destroyed: nothing left to release
    }
  }
}

/**
 * Cuts queued buffers into writes of at most `maxBytes` (slices, never copies); a
 * short tail rides with the part before it: a whole-chunk piece (13-byte header +
 * 256 KiB) was two writes, the second a lone 13-byte frame through yamux and noise.
 */
export function cutParts (bufs: Uint8Array[], total: number, maxBytes: number): Uint8Array[][] {
  const parts: Uint8Array[][] = []
  let i = 0
  let off = 0 // into bufs[i]
  for (let start = 0; start < total;) {
    let end = Math.min(total, start + maxBytes)
    if (total - end < maxBytes / TAIL_FRACTION) end = total
    const part: Uint8Array[] = []
    for (let need = end - start; need > 0;) {
      const b = bufs[i] as Uint8Array
      const take = Math.min(need, b.length - off)
      part.push(off === 0 && take === b.length ? b : b.subarray(off, off + take))
      need -= take
      off += take
      if (off === b.length) { i++; off = 0 }
    }
    parts.push(part)
    start = end
  }
  return parts
}
