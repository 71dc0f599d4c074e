/**
 * A token bucket on payload bytes: pure state and arithmetic, no timers, time passed
 * in. The Limiter (limiter.ts) puts a queue and a timer around it.
 *
 * Why a token bucket and not GCRA: the two admit exactly the same traffic (GCRA's
 * theoretical arrival time is the bucket's deficit divided by the rate), and GCRA's
 * single timestamp is cheaper when limits never change. Ours change live: schedules
 * move a limit several times a day and a window closing sets it to 0. GCRA's state
 * is in units of time at the old rate and has to be rescaled on every change and is
 * undefined at rate 0; a bucket's state is in bytes, which mean the same at any
 * rate, so setRate() only settles the time elapsed so far at the old rate.
 *
 * Smoothness: the bucket holds at most `burstBytes` (default 100 ms at the rate, at
 * least 4 KiB), so after an idle spell at most that much passes at once. A request
 * larger than the burst is allowed when the bucket is full and leaves it in debt,
 * so it never deadlocks; callers cut large payloads into slices of at most
 * `sliceBytes` (a quarter of the burst; Limiter.acquire does) to keep each 100 ms close to
 * the rate.
 *
 * Catch-up: a bucket capped at the burst loses every token of a stall longer than
 * the burst while a caller was waiting (the process was descheduled, the timer fired
 * late), and the stream falls behind its rate for good. So while the owner reports
 * demand (setDemand(true): a slice is queued), the bucket fills up to burst +
 * `catchUpMs` at the rate, and the bytes the stall withheld pass right after it.
 * Credit above the burst survives a gap in demand shorter than one burst time (the
 * caller between two slices) and is dropped after a longer idle spell, so an idle
 * flow still starts with one burst at most.
 */
import { StoremeshError } from '../interface/errors.js'
import { DEFAULT_BURST_MS, DEFAULT_CATCH_UP_MS, DEFAULT_MIN_BURST_BYTES, MS_PER_SECOND, SLICES_PER_BURST } from './constants.js'
import { assertRate } from './rate.js'

export interface BurstOptions {
  /** Burst as time at the current rate. @default DEFAULT_BURST_MS */
  burstMs?: number
  /** Floor of the burst in bytes. @default DEFAULT_MIN_BURST_BYTES */
  minBurstBytes?: number
  /** A fixed burst in bytes (e.g. one chunk); overrides burstMs and minBurstBytes. */
  burstBytes?: number
  /** Catch-up allowed past the burst while there is demand, as time at the rate; 0 turns it off. @default DEFAULT_CATCH_UP_MS */
  catchUpMs?: number
}

/** Float slack so a waiter woken exactly on time is not sent back for a rounding error. */
const EPSILON_BYTES = 1e-6

export class TokenBucket {
  private rate: number
  private burst: number
  private tokens: number
  private lastMs: number
  private demand = false
  private readonly catchUpMs: number
  private readonly burstOptions: Required<Omit<BurstOptions, 'burstBytes' | 'catchUpMs'>> & { burstBytes?: number }

  constructor (rateBytesPerSec: number, nowMs: number, options: BurstOptions = {}) {
    assertRate(rateBytesPerSec, 'rateBytesPerSec')
    for (const name of ['burstMs', 'minBurstBytes', 'burstBytes'] as const) {
      const v = options[name]
      if (v !== undefined && !(Number.isFinite(v) && v > 0)) {
        throw new StoremeshError('E_INVALID_ARGUMENT', `${name} must be a positive number`, { [name]: String(v) })
      }
    }
    const catchUp = options.catchUpMs ?? DEFAULT_CATCH_UP_MS
    if (!(Number.isFinite(catchUp) && catchUp >= 0)) {
      throw new StoremeshError('E_INVALID_ARGUMENT', 'catchUpMs must be a number >= 0', { catchUpMs: String(catchUp) })
    }
    this.catchUpMs = catchUp
    this.burstOptions = {
      burstMs: options.burstMs ?? DEFAULT_BURST_MS,
      minBurstBytes: options.minBurstBytes ?? DEFAULT_MIN_BURST_BYTES,
      ...(options.burstBytes !== undefined ? { burstBytes: options.burstBytes } : {})
    }
    this.rate = rateBytesPerSec
    this.burst = this.burstFor(rateBytesPerSec)
    // Start with one slice, not a full bucket: a new transfer starts at once but
    // does not open with a whole burst on top of its first second.
    this.tokens = this.sliceBytes
    this.lastMs = nowMs
  }

  get rateBytesPerSec (): number {
    return this.rate
  }

  /** The most that passes at once; Infinity when unlimited. */
  get burstBytes (): number {
    return this.burst
  }

  /** The slice size callers cut requests into: burst / SLICES_PER_BURST. */
  get sliceBytes (): number {
    return this.burst === Number.POSITIVE_INFINITY ? this.burst : Math.max(1, Math.floor(this.burst / SLICES_PER_BURST))
  }

  /** Tokens now (negative while in debt after an oversized request). */
  available (nowMs: number): number {
    this.refill(nowMs)
    return this.tokens
  }

  /** Whether a caller is waiting (the limiter's queue is not empty): lets the bucket catch up past the burst. */
  setDemand (waiting: boolean, nowMs: number): void {
    if (waiting === this.demand) return
    this.refill(nowMs)
    this.demand = waiting
  }

  /** Settles time up to `nowMs` at the old rate, then switches. 0 pauses; Infinity lifts the limit. */
  setRate (rateBytesPerSec: number, nowMs: number): void {
    assertRate(rateBytesPerSec, 'rateBytesPerSec')
    this.refill(nowMs)
    this.rate = rateBytesPerSec
    this.burst = this.burstFor(rateBytesPerSec)
    if (this.rate === Number.POSITIVE_INFINITY) this.tokens = 0
    this.tokens = Math.min(this.tokens, this.burst)
  }

  /**
   * Milliseconds until `bytes` may pass: 0 now, Infinity while paused (rate 0, even
   * with tokens left, so a closed window lets nothing through). A request over the
   * burst needs a full bucket.
   */
  waitMs (bytes: number, nowMs: number): number {
    if (this.rate === Number.POSITIVE_INFINITY) return 0
    if (this.rate === 0) return Number.POSITIVE_INFINITY
    this.refill(nowMs)
    const need = Math.min(bytes, this.burst)
    const missing = need - this.tokens
    if (missing <= EPSILON_BYTES) return 0
    return missing * MS_PER_SECOND / this.rate
  }

  /** Takes `bytes` (callers check waitMs() first); may leave the bucket in debt. */
  take (bytes: number, nowMs: number): void {
    if (this.rate === Number.POSITIVE_INFINITY) return
    this.refill(nowMs)
    this.tokens -= bytes
  }

  private refill (nowMs: number): void {
    // A wall clock stepped backwards adds nothing; forward steps are capped by the burst.
    const elapsedMs = Math.max(0, nowMs - this.lastMs)
    this.lastMs = nowMs
    if (this.rate === 0 || this.rate === Number.POSITIVE_INFINITY || elapsedMs === 0) return
    const earned = elapsedMs * this.rate / MS_PER_SECOND
    let cap: number
    if (this.demand) cap = this.burst + this.catchUpMs * this.rate / MS_PER_SECOND
    else if (earned >= this.burst) cap = this.burst // idle for a burst time or more: credit dropped
    else cap = Math.max(this.burst, this.tokens) // a short gap between slices: credit kept, none added past the burst
    this.tokens = Math.min(cap, this.tokens + earned)
  }

  private burstFor (rate: number): number {
    if (rate === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY
    if (this.burstOptions.burstBytes !== undefined) return this.burstOptions.burstBytes
    return Math.max(this.burstOptions.minBurstBytes, Math.round(rate * this.burstOptions.burstMs / MS_PER_SECOND))
  }
}
