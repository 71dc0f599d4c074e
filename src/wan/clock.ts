/**
 * The clock and timer seam of the WAN tier. Limiters, schedules and their followers
 * take a Clock so that tests drive time by hand (ManualClock) and never sleep, and so
 * that no assertion depends on how busy the machine is.
 */
import { abortError, throwIfAborted } from '../interface/abort.js'
import { StoremeshError } from '../interface/errors.js'

/** Cancels a timer; calling it after the timer fired or twice is harmless. */
export type CancelTimer = () => void

export interface Clock {
  /** Wall-clock epoch milliseconds (schedules need wall time, not a monotonic count). */
  nowMs(): number
  /** Calls `fn` once after at least `delayMs`. */
  setTimer(fn: () => void, delayMs: number): CancelTimer
}

/**
 * setTimeout's largest delay; longer ones fire at once in Node. Callers that sleep
 * longer re-arm, which the schedule follower does by design.
 */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  setTimer (fn, delayMs) {
    const t = setTimeout(fn, Math.min(Math.max(0, delayMs), MAX_TIMER_DELAY_MS))
    return () => { clearTimeout(t) }
  }
}

interface PendingTimer {
  atMs: number
  seq: number
  fn: () => void
}

/** Time moves only when a test says so; timers fire in due order, ties in creation order. */
export class ManualClock implements Clock {
  private now: number
  private seq = 0
  private timers: PendingTimer[] = []

  constructor (startMs = 0) {
    this.now = startMs
  }

  nowMs (): number {
    return this.now
  }

  setTimer (fn: () => void, delayMs: number): CancelTimer {
    const timer: PendingTimer = { atMs: this.now + Math.max(0, delayMs), seq: this.seq++, fn }
    this.timers.push(timer)
    return () => { this.timers = this.timers.filter(t => t !== timer) }
  }

  /** Timers not yet fired. */
  get pendingTimers (): number {
    return this.timers.length
  }

  /** When the next timer is due, or undefined when none is set. */
  nextTimerAtMs (): number | undefined {
    return this.popDue(Infinity, false)?.atMs
  }

  /** Moves to `nowMs + ms`, firing due timers synchronously in order. */
  advance (ms: number, maxTimers = 1_000_000): void {
    const target = this.now + ms
    for (let fired = 0; ; fired++) {
      if (fired >= maxTimers) throw new StoremeshError('E_INTERNAL', 'ManualClock: too many timers in one advance', { maxTimers })
      const t = this.popDue(target, true)
      if (t === undefined) break
      this.now = Math.max(this.now, t.atMs)
      t.fn()
    }
    this.now = Math.max(this.now, target)
  }

  /**
   * Like advance(), but lets promise callbacks and stream events run after every
   * timer, so that async code woken by a timer can set its next timer before time
   * moves on. Bounded by `maxTimers`.
   */
  async advanceAsync (ms: number, maxTimers = 1_000_000): Promise<void> {
    const target = this.now + ms
    await settle()
    for (let fired = 0; ; fired++) {
      if (fired >= maxTimers) throw new StoremeshError('E_INTERNAL', 'ManualClock: too many timers in one advance', { maxTimers })
      const t = this.popDue(target, true)
      if (t === undefined) break
      this.now = Math.max(this.now, t.atMs)
      t.fn()
      await settle()
    }
    this.now = Math.max(this.now, target)
    await settle()
  }

  /** Sets the wall clock without firing timers (a clock step); timers keep their due times. */
  jumpTo (nowMs: number): void {
    this.now = nowMs
  }

  private popDue (limitMs: number, remove: boolean): PendingTimer | undefined {
    let best: PendingTimer | undefined
    for (const t of this.timers) {
      if (t.atMs > limitMs) continue
      if (best === undefined || t.atMs < best.atMs || (t.atMs === best.atMs && t.seq < best.seq)) best = t
    }
    if (best !== undefined && remove) this.timers = this.timers.filter(t => t !== best)
    return best
  }
}

/** Lets queued promise callbacks, nextTicks and immediates run (a few rounds, bounded). */
export async function settle (rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>(resolve => setImmediate(resolve))
}

/** Waits `ms` on `clock`; rejects with E_ABORTED when `signal` aborts. */
export async function sleep (clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  throwIfAborted(signal)
  await new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      cancel()
      reject(abortError(signal))
    }
    const cancel = clock.setTimer(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

