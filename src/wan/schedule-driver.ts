/**
 * Follows a schedule: applies the rate in force now (typically Limiter.setRate),
 * then sleeps until nextChange() and applies the next one. It never trusts a long
 * sleep: it wakes at least every `maxSleepMs` and recomputes from the clock, so a
 * wall-clock step or a late timer costs at most that much. Works on any Clock.
 */
import { abortError } from '../interface/abort.js'
import { MAX_TIMER_DELAY_MS, systemClock } from './clock.js'
import type { CancelTimer, Clock } from './clock.js'
import { DEFAULT_SCHEDULE_MAX_SLEEP_MS } from './constants.js'
import { nextChange, rateAt, windowAt } from './schedule.js'
import type { Schedule, ScheduleWindow } from './schedule.js'

export interface RateChange {
  rateBytesPerSec: number
  /** The window in force, undefined outside every window. */
  window: ScheduleWindow | undefined
  atMs: number
  /** When the rate changes next, if ever (for logs and `status`). */
  nextChangeAtMs: number | undefined
}

export interface FollowScheduleInit {
  schedule: Schedule
  /** Called once at start and on every change of rate. Must not throw. */
  apply: (change: RateChange) => void
  clock?: Clock
  signal?: AbortSignal
  /** @default DEFAULT_SCHEDULE_MAX_SLEEP_MS */
  maxSleepMs?: number
}

export interface ScheduleFollower {
  /** The rate applied last. */
  readonly rateBytesPerSec: number
  readonly nextChangeAtMs: number | undefined
  /** Swaps the schedule (a reloaded file) and applies it at once. */
  setSchedule(schedule: Schedule): void
  stop(): void
}

export function followSchedule (init: FollowScheduleInit): ScheduleFollower {
  const clock = init.clock ?? systemClock
  const maxSleepMs = Math.min(init.maxSleepMs ?? DEFAULT_SCHEDULE_MAX_SLEEP_MS, MAX_TIMER_DELAY_MS)
  let schedule = init.schedule
  let applied: number | undefined
  let next: number | undefined
  let cancel: CancelTimer | undefined
  let stopped = false

  let lastTickMs = Number.NEGATIVE_INFINITY
  let fresh = true

  const tick = (): void => {
    cancel = undefined
    if (stopped) return
    const now = clock.nowMs()
    const rate = rateAt(schedule, now)
    // nextChange() costs about a millisecond; reuse it while time moves forward short of it.
    const stale = fresh || next === undefined || now >= next || now < lastTickMs
    if (stale) next = nextChange(schedule, now)
    lastTickMs = now
    fresh = false
    if (rate !== applied) {
      applied = rate
      init.apply({ rateBytesPerSec: rate, window: windowAt(schedule, now), atMs: now, nextChangeAtMs: next })
    }
    const sleepMs = next === undefined ? maxSleepMs : Math.min(Math.max(1, next - now), maxSleepMs)
    cancel = clock.setTimer(tick, sleepMs)
  }

  const stop = (): void => {
    stopped = true
    cancel?.()
    cancel = undefined
    init.signal?.removeEventListener('abort', stop)
  }

  if (init.signal?.aborted === true) throw abortError(init.signal)
  init.signal?.addEventListener('abort', stop, { once: true })
  tick()

  return {
    get rateBytesPerSec () { return applied ?? schedule.defaultRateBytesPerSec },
    get nextChangeAtMs () { return next },
    setSchedule (s: Schedule) {
      schedule = s
      fresh = true
      if (stopped) return
      cancel?.()
      tick()
    },
    stop
  }
}
