/**
 * Serves one peer's requests, one chunk at a time, as a throttled stage (after
 * webtorrent's lib/peer.js): each chunk first takes its bytes from every rate limiter
 * (the peer's, then the node's: the WAN token buckets, the LAN bench's cap), is read
 * from the store, waits until the wire's duplex drained, and only then is sent — so a
 * slow link or a tight cap never piles chunks up in memory. A request the remote
 * cancelled (or that our choke dropped) while waiting is skipped.
 */
import { isStoremeshError, toStoremeshError, type StoremeshError } from '../interface/errors.js'
import type { IncomingRequest, PeerWire } from './wire.js'

export interface AcquireOptions {
  signal?: AbortSignal
  /**
   * How many of our peers already hold the chunk these bytes are for, read when the
   * chunk's turn is decided (upload-turns.ts serves the rarest first); limiters that
   * only meter bytes ignore it.
   */
  holders?: () => number
  /**
   * False once the request these bytes are for was cancelled (its requester got the
   * chunk elsewhere): a limiter that queues turns (upload-turns.ts) drops it from the
   * queue and resolves to false without taking any bytes.
   */
  live?: () => boolean
}

/**
 * Waits until `bytes` may be sent; rejects when `signal` aborts. Resolves to false
 * when it took nothing because `live` turned false first.
 */
export type AcquireBytes = (bytes: number, options?: AcquireOptions) => Promise<boolean | undefined | void>

export interface UploaderInit {
  wire: Pick<PeerWire, 'writable' | 'closed'>
  /** the chunk's verified bytes, or undefined when not held */
  read: (index: number, signal: AbortSignal) => Promise<Uint8Array | undefined>
  limiters: AcquireBytes[]
  /** how many of our peers hold chunk `index` (see AcquireOptions.holders) */
  holders?: (index: number) => number
  signal: AbortSignal
  onSent: (index: number, bytes: number) => void
  onError: (err: StoremeshError) => void
}

export class Uploader {
  readonly #init: UploaderInit
  #queue: IncomingRequest[] = []
  #busy = false
  /**
   * Bytes taken from the limiters for a request that was cancelled (or choked) while
   * it waited for them: the next request spends them first. Without it every endgame
   * cancel burned a chunk's worth of the node's upload cap for nothing.
   */
  #creditBytes = 0

  constructor (init: UploaderInit) {
    this.#init = init
  }

  /** Requests queued or being served that are still live. */
  get pending (): number {
    return this.#queue.filter(r => r.live).length + (this.#busy ? 1 : 0)
  }

  enqueue (request: IncomingRequest): void {
    this.#queue.push(request)
    if (!this.#busy) void this.#run()
  }

  async #run (): Promise<void> {
    this.#busy = true
    const { signal } = this.#init
    try {
      for (;;) {
        const req = this.#queue.shift()
        if (req === undefined || signal.aborted || this.#init.wire.closed) break
        if (!req.live) continue
        try {
          const fromCredit = Math.min(this.#creditBytes, req.size)
          this.#creditBytes -= fromCredit
          const need = req.size - fromCredit
          const holders = this.#init.holders
          const options: AcquireOptions = { signal, live: () => req.live }
          if (holders !== undefined) options.holders = () => holders(req.index)
          let taken = false
          if (need > 0) {
            for (const acquire of this.#init.limiters) {
              if (await acquire(need, options) === false) break
              taken = true
            }
          }
          // what this request had paid (credit, and the limiters' bytes unless skipped) pays the next
          if (!req.live) { this.#creditBytes += taken || need === 0 ? req.size : fromCredit; continue }
          const data = await this.#init.read(req.index, signal)
          // not held (evicted, or asked for what we never announced): the remote times out and asks elsewhere
          if (data === undefined) { this.#creditBytes += req.size; continue }
          await this.#init.wire.writable(signal)
          if (req.respond(data)) this.#init.onSent(req.index, data.length)
          else this.#creditBytes += req.size
        } catch (err) {
          if (signal.aborted || this.#init.wire.closed) break
          if (isStoremeshError(err, 'E_NOT_CONNECTED')) break
          this.#init.onError(toStoremeshError(err))
        }
      }
    } finally {
      this.#busy = false
      if (signal.aborted || this.#init.wire.closed) this.#queue = []
    }
  }
}
