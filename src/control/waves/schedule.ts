/**
 * When things of a fleet wave happen in time. Each store has its own maintenance window
 * and time zone (a fleet spans zones); a store that names neither takes the policy's.
 *   - WAN pre-staging of a store starts `prestageHours` before the opening of its
 *     window at or after the moment the wave started (now, when that is later), so
 *     the bundle sits verified on the store hub before its devices may install.
 *   - The next batch starts `batchDelayMinutes` after the previous one was healthy.
 * Pure: the clock is a parameter, windows come from src/time/.
 */
import { nextOpen } from '../../time/index.js'
import { HOUR_MS, MINUTE_MS } from './constants.js'

export interface StoreWindow {
  /** e.g. `Tue 02:00-04:00` (src/time/ grammar); absent: any time */
  maintenanceWindow?: string | undefined
  /** IANA zone of the window */
  timezone: string
}

/** The store's own window where it names one, else the policy's. */
export function storeWindow (store: Partial<StoreWindow>, policy: { maintenanceWindow?: string | undefined, timezone: string }): StoreWindow {
  return {
    maintenanceWindow: store.maintenanceWindow ?? policy.maintenanceWindow,
    timezone: store.timezone ?? policy.timezone
  }
}

/** When the store's devices may next install: now when its window is open or it has none. */
export function installOpensAtMs (w: StoreWindow, fromMs: number): number {
  return w.maintenanceWindow === undefined ? fromMs : nextOpen(w.maintenanceWindow, w.timezone, fromMs)
}

/** When WAN pre-staging of the store starts: `prestageHours` before its next opening, never before `fromMs`. */
export function prestageAtMs (w: StoreWindow, prestageHours: number, fromMs: number): number {
  return Math.max(fromMs, installOpensAtMs(w, fromMs) - prestageHours * HOUR_MS)
}

/**
 * A store hub's own pre-staging time for a signed policy (the hub's prefetch queue):
 * `prestageHours` before the policy's window in the policy's zone, which is the window
 * the store's devices obey (`schedule.window` gate). Undefined when that is now or past,
 * or the policy has no window: pull at once.
 */
export function policyPrestageAtMs (schedule: { maintenanceWindow?: string | undefined, timezone: string, prestageHours: number }, nowMs: number): number | undefined {
  if (schedule.maintenanceWindow === undefined) return undefined
  const at = prestageAtMs({ maintenanceWindow: schedule.maintenanceWindow, timezone: schedule.timezone }, schedule.prestageHours, nowMs)
  return at > nowMs ? at : undefined
}

/** When the batch after one that was healthy at `healthyAtMs` may start. */
export function nextBatchAtMs (healthyAtMs: number, batchDelayMinutes: number): number {
  return healthyAtMs + batchDelayMinutes * MINUTE_MS
}
