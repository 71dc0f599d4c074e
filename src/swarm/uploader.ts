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

/**
 * The most copies of one chunk a peer is sent over one wire: the first, and one re-ask
 * after a copy it could not store. A request past it closes the wire with a
 * `repeat-request` violation (violations.ts): a peer asking for the same chunk again and
 * again is metered by the cap for those copies, then banned, never served on (LAN
 * links only: swarm-peer.ts).
 */
export const MAX_SENDS_PER_CHUNK = 2

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
  /**
   * While the requester has not been sent a chunk by us: when it first asked us (ms).
   * upload-turns.ts serves first chunks before others, in that order, as the
   * requester's hoarder clock runs at us (picker-trust.ts); undefined once served.
   */
  first?: () => number | undefined
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
  /**
   * a request for a chunk this peer was sent MAX_SENDS_PER_CHUNK times already: it is not
   * served (the caller closes the wire). Undefined: no limit (served, metered, as any request)
   */
  onRepeat?: (index: number) => void
}

export class Uploader {
  readonly #init: UploaderInit
  #queue: IncomingRequest[] = []
  #busy = false
  #sentChunks = 0
  /** copies sent of each chunk (MAX_SENDS_PER_CHUNK); bounded by the bundle's chunk count, which the frame guard enforces */
  readonly #sendsOf = new Map<number, number>()
  #firstAskedAtMs: number | undefined
  /** a request cancelled (its requester got the chunk elsewhere) keeps the requester's place among first chunks */
  readonly #first = (): number | undefined => this.#sentChunks === 0 ? this.#firstAskedAtMs : undefined
  /**
   * Bytes each limiter metered for a request that was then not sent (cancelled or
   * choked while it waited, or no longer held): the next request spends them at that
   * limiter first. Without it every endgame cancel burned a chunk's worth of the
   * node's upload cap for nothing. One balance per limiter: a request dropped at the
   * node's turns after the peer's limiter had metered it is credit at the peer's
   * limiter only, or the next chunk would pass the node's cap unmetered.
   */
  readonly #creditBytes: number[]

  constructor (init: UploaderInit) {
    this.#init = init
    this.#creditBytes = init.limiters.map(() => 0)
  }

  /** Requests queued or being served that are still live. */
  get pending (): number {
    return this.#queue.filter(r => r.live).length + (this.#busy ? 1 : 0)
  }

  enqueue (request: IncomingRequest): void {
    const onRepeat = this.#init.onRepeat
    if (onRepeat !== undefined && (this.#sendsOf.get(request.index) ?? 0) >= MAX_SENDS_PER_CHUNK) {
      onRepeat(request.index)
      return
    }
    this.#firstAskedAtMs ??= Date.now()
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
          const paid = await this.#pay(req)
          if (paid === undefined) continue
          // what this request paid (credit it drew on, and the bytes it was metered) pays the next
          if (!req.live) { this.#refund(paid); continue }
          const data = await this.#init.read(req.index, signal)
          // not held (evicted, or asked for what we never announced): the remote times out and asks elsewhere
          if (data === undefined) { this.#refund(paid); continue }
          await this.#init.wire.writable(signal)
          if (req.respond(data)) {
            this.#sentChunks++
            this.#sendsOf.set(req.index, (this.#sendsOf.get(req.index) ?? 0) + 1)
            this.#init.onSent(req.index, data.length)
          } else this.#refund(paid)
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

  /**
   * Takes the request's bytes from each limiter in turn, from its credit first.
   * Resolves to what each limiter was paid, or to undefined when one dropped the
   * request (having taken nothing); the credit drawn on is then already returned.
   */
  async #pay (req: IncomingRequest): Promise<number[] | undefined> {
    const { limiters, signal, holders } = this.#init
    const options: AcquireOptions = { signal, live: () => req.live, first: this.#first }
    if (holders !== undefined) options.holders = () => holders(req.index)
    const paid = limiters.map(() => 0)
    for (const [i, acquire] of limiters.entries()) {
      const fromCredit = Math.min(this.#creditBytes[i], req.size)
      this.#creditBytes[i] -= fromCredit
      paid[i] = fromCredit
      if (fromCredit === req.size) continue
      let took: boolean | undefined | void
      try {
        took = await acquire(req.size - fromCredit, options)
      } catch (err) {
        this.#refund(paid)
        throw err
      }
      if (took === false) {
        this.#refund(paid)
        return undefined
      }
      paid[i] = req.size
    }
    return paid
  }

  #refund (paid: number[]): void {
    paid.forEach((bytes, i) => { this.#creditBytes[i] += bytes })
  }
}
