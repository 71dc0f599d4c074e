/**
 * Turns at a node-wide upload cap: chunks take their bytes one whole chunk at a time,
 * the chunk fewest of our peers hold first (first come among equals; one passed over
 * more often than MIN_TURNS_PASSED and the queue's length goes next), instead of sharing the rate slice by slice.
 *
 * Why whole chunks: five peers served in parallel at a cap u each get their chunk
 * after 5c/u; served in turn they get them after c/u, 2c/u, ... 5c/u, and the first
 * can pass its chunk on four chunk-times sooner. In a swarm a chunk is worth most
 * the moment it can be re-shared (BitTorrent's 16 KiB blocks make the opposite trade,
 * for fairness between strangers; a store's devices are not strangers).
 * Why rarest first: a chunk only one neighbour holds is the swarm's bottleneck; a
 * request for it must not wait behind requests for chunks half the store can serve.
 *
 * A requester we never sent a chunk goes before the rarest (after an overdue one), the
 * one that first asked us earliest first, even if those requests were cancelled: until
 * its first chunk its hoarder clock may run at us (picker-trust.ts), and at a 256 KiB/s
 * cap honest devices were dropped as hoarders (bench:lan, docs/hostile.md).
 * Only the wait for tokens is turn-based: the store read and the write of a chunk
 * overlap the next chunk's wait, so the cap stays busy. A request its requester
 * cancelled while it waited (AcquireOptions.live) leaves the line without a turn;
 * one cancelled during its turn hands the bytes it was granted to the next turn.
 */
import type { AcquireBytes, AcquireOptions } from './uploader.js'

/**
 * A chunk passed over this many times, or more times than there are chunks waiting,
 * goes next however common it is: rarest first must not starve a requester, whose
 * picker counts on this request and asks nobody else for the chunk meanwhile.
 */
export const MIN_TURNS_PASSED = 2

/** What nextTurn() reads of a waiting chunk. */
export interface TurnCandidate {
  /** times it was passed over */
  passed: number
  /** how many of our peers hold its chunk, read now */
  holders: () => number
  /** while its requester was never sent a chunk by us: when it first asked (ms), read now @default undefined */
  first?: () => number | undefined
}

/**
 * Which waiter (index into `waiting`, in arrival order, non-empty) takes the next turn:
 * the fewest holders, first come among equals, an overdue one first, then a first chunk. Pure, so the fleet
 * simulator (src/sim/) takes its turns by the same rule. The caller bumps `passed` of
 * the others.
 */
export function nextTurn (waiting: readonly TurnCandidate[]): number {
  // holders are read now: a chunk that became common while it waited goes back in line
  let best = 0
  let bestKey = Infinity
  for (let i = 0; i < waiting.length; i++) {
    const w = waiting[i] as TurnCandidate
    // the queue is in arrival order, so the first overdue waiter is the oldest one
    if (w.passed >= Math.max(MIN_TURNS_PASSED, waiting.length)) return i
    // first chunks go first, the earliest first asker first: keys below every holders count
    const askedAtMs = w.first?.()
    const key = askedAtMs !== undefined ? askedAtMs - Number.MAX_SAFE_INTEGER : w.holders()
    if (key < bestKey) {
      best = i
      bestKey = key
    }
  }
  return best
}

interface Waiter {
  passed: number
  holders: () => number
  first: () => number | undefined
  live: () => boolean
  /** true: its turn; false: it left the queue (cancelled) without one */
  grant: (turn: boolean) => void
}

export class UploadTurns {
  readonly #acquire: AcquireBytes
  readonly #waiting: Waiter[] = []
  #busy = false
  #prepaidBytes = 0

  /** `acquire`: the cap itself (a token bucket that meters bytes). */
  constructor (acquire: AcquireBytes) {
    this.#acquire = acquire
  }

  /** Waiting chunks (for tests and status). */
  get waiting (): number {
    return this.#waiting.length
  }

  /** Bytes the cap granted to requests cancelled during their turn, not yet spent (for tests). */
  get prepaidBytes (): number {
    return this.#prepaidBytes
  }

  /**
   * Resolves to true once `bytes` may be sent, or to false, having taken nothing,
   * when the request was cancelled (options.live) before or during its turn.
   */
  readonly acquire: AcquireBytes = async (bytes: number, options: AcquireOptions = {}): Promise<boolean> => {
    const { signal } = options
    const live = options.live ?? (() => true)
    signal?.throwIfAborted()
    if (!await this.#turn(options.holders ?? (() => 0), options.first ?? (() => undefined), live, signal)) return false
    try {
      const prepaid = Math.min(this.#prepaidBytes, bytes)
      this.#prepaidBytes -= prepaid
      if (bytes > prepaid) await this.#acquire(bytes - prepaid, signal === undefined ? {} : { signal })
      // Cancelled while the cap metered it (the requester got the chunk elsewhere): the
      // bytes go to whichever chunk is next, not to nothing (108 chunks' worth over
      // 16 devices in a bench:lan N = 16 run, about 7 s of each device's upload).
      if (!live()) {
        this.#prepaidBytes += bytes
        return false
      }
    } finally {
      this.#busy = false
      this.#next()
    }
    return true
  }

  async #turn (holders: () => number, first: () => number | undefined, live: () => boolean, signal: AbortSignal | undefined): Promise<boolean> {
    if (!this.#busy && this.#waiting.length === 0) {
      this.#busy = true
      return true
    }
    return await new Promise<boolean>((resolve, reject) => {
      const waiter: Waiter = {
        passed: 0,
        holders,
        first,
        live,
        grant: (turn: boolean) => {
          signal?.removeEventListener('abort', onAbort)
          resolve(turn)
        }
      }
      const onAbort = (): void => {
        const i = this.#waiting.indexOf(waiter)
        if (i >= 0) this.#waiting.splice(i, 1)
        reject(signal?.reason)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#waiting.push(waiter)
    })
  }

  #next (): void {
    if (this.#busy) return
    // Requests cancelled while they waited (their requester got the chunk elsewhere)
    // leave without a turn: each would have spent a chunk's worth of the cap on
    // nothing (bench:lan N = 16 trace: most of a device's turns for a while).
    for (let i = this.#waiting.length - 1; i >= 0; i--) {
      const w = this.#waiting[i] as Waiter
      if (!w.live()) {
        this.#waiting.splice(i, 1)
        w.grant(false)
      }
    }
    if (this.#waiting.length === 0) return
    const [w] = this.#waiting.splice(nextTurn(this.#waiting), 1)
    for (const other of this.#waiting) other.passed++
    this.#busy = true
    w?.grant(true)
  }
}
