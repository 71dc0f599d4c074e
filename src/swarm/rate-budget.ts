/**
 * A rate budget (GCRA, the generic cell rate algorithm): at most `burst` events at
 * once and `ratePerSec` on average after that. Pure state and arithmetic, no timers,
 * the clock passed in, so one instance per peer and message class costs one number.
 *
 * GCRA keeps a single "theoretical arrival time" (tat): when the budget would be
 * full again. An event of cost c is admitted when tat - now <= (burst - c) / rate,
 * and moves tat by c / rate. That admits exactly what a token bucket of `burst`
 * tokens refilled at `ratePerSec` admits; unlike the WAN's bucket (wan/token-bucket.ts)
 * its rate never changes at run time, which is GCRA's cheap case. An event refused
 * leaves the state untouched: a flood is refused as long as it lasts, and the
 * budget is whole again `burst / ratePerSec` after it stops.
 *
 * Costs are in the caller's unit: 1 per message for counts, bytes for byte budgets.
 */
import { StoremeshError } from '../interface/errors.js'

export interface RateBudgetLimits {
  /** sustained events (or bytes) per second; > 0 */
  ratePerSec: number
  /** what may pass at once after a quiet spell; >= 1 */
  burst: number
}

export class RateBudget {
  readonly ratePerSec: number
  readonly burst: number
  /** ms: when the budget would be whole again */
  #tatMs: number

  constructor (limits: RateBudgetLimits, nowMs: number) {
    if (!(Number.isFinite(limits.ratePerSec) && limits.ratePerSec > 0)) {
      throw new StoremeshError('E_INVALID_ARGUMENT', 'ratePerSec must be a positive number', { ratePerSec: String(limits.ratePerSec) })
    }
    if (!(Number.isFinite(limits.burst) && limits.burst >= 1)) {
      throw new StoremeshError('E_INVALID_ARGUMENT', 'burst must be a number >= 1', { burst: String(limits.burst) })
    }
    this.ratePerSec = limits.ratePerSec
    this.burst = limits.burst
    this.#tatMs = nowMs
  }

  /** Admits an event of this cost (true) or refuses it without charging (false). */
  take (cost: number, nowMs: number): boolean {
    const msPerUnit = 1000 / this.ratePerSec
    const tat = Math.max(this.#tatMs, nowMs)
    const next = tat + cost * msPerUnit
    // the budget holds `burst` units: the new tat may run at most that far ahead of now
    if (next - nowMs > this.burst * msPerUnit) return false
    this.#tatMs = next
    return true
  }

  /** Units that would pass now (for tests and status). */
  available (nowMs: number): number {
    const ahead = Math.max(0, this.#tatMs - nowMs)
    return Math.max(0, this.burst - ahead * this.ratePerSec / 1000)
  }
}
