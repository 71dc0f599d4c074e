/**
 * A device's store as its hub knows it (protocols/report/SPEC.md "Store reports"): the
 * device journals an entry of kind `store` whenever what it keeps changes (the bundle
 * it runs, the one being installed, its last-known-good) or its downloads pause or
 * resume for lack of space; the entry travels up with the rest of the journal, and the
 * hub keeps the newest one per device (highest seq: arrival order does not matter).
 *
 * The hub reads two things from them: which bundles it must never evict (any device's
 * running, installing or last-known-good version: store-lifecycle.ts) and how many of
 * its devices are paused (`storemesh_store_devices_paused{reason}`). Pure functions.
 */
import type { JournalEntry } from '../interface/types.js'
import { isBundleId } from '../interface/ids.js'

export const DEVICE_STORE_KIND = 'store'

/** A pause reason (store/core.ts StorePauseReason) as the wire carries it: our own words only. */
const PAUSE_REASON_RE = /^[a-z][a-z-]{0,23}$/

export interface DeviceStoreState {
  /** the journal seq of the report */
  seq: number
  /** downloads paused for lack of space: `disk-full` or `quota`; null: not paused */
  paused: string | null
  /** when the pause began, ms since epoch (device clock) */
  pausedSinceMs?: number
  active?: string
  installing?: string
  lastKnownGood?: string
}

export type DeviceStoreReport = Omit<DeviceStoreState, 'seq'>

/** The journal event of a report (the journal adds seq and time). */
export function storeReportEvent (r: DeviceStoreReport): Omit<JournalEntry, 'seq' | 'at'> {
  const data: Record<string, string | number | null> = { paused: r.paused }
  if (r.pausedSinceMs !== undefined) data.pausedSinceMs = r.pausedSinceMs
  if (r.active !== undefined) data.active = r.active
  if (r.installing !== undefined) data.installing = r.installing
  if (r.lastKnownGood !== undefined) data.lastKnownGood = r.lastKnownGood
  return {
    kind: DEVICE_STORE_KIND,
    ...(r.paused !== null ? { reason: `store.paused.${r.paused}` } : {}),
    data
  }
}

/** Two reports that say the same (the device journals only changes). */
export function sameReport (a: DeviceStoreReport | undefined, b: DeviceStoreReport): boolean {
  return a !== undefined && a.paused === b.paused && a.active === b.active && a.installing === b.installing && a.lastKnownGood === b.lastKnownGood
}

/** The report an entry carries; undefined for other kinds. Malformed members are dropped, never trusted. */
export function deviceStoreOf (entry: JournalEntry): DeviceStoreState | undefined {
  if (entry.kind !== DEVICE_STORE_KIND) return undefined
  const d = entry.data ?? {}
  const id = (v: unknown): string | undefined => isBundleId(v) ? v : undefined
  const paused = typeof d.paused === 'string' && PAUSE_REASON_RE.test(d.paused) ? d.paused : null
  const since = d.pausedSinceMs
  const out: DeviceStoreState = { seq: entry.seq, paused }
  if (paused !== null && typeof since === 'number' && Number.isSafeInteger(since) && since >= 0) out.pausedSinceMs = since
  const active = id(d.active)
  const installing = id(d.installing)
  const lkg = id(d.lastKnownGood)
  if (active !== undefined) out.active = active
  if (installing !== undefined) out.installing = installing
  if (lkg !== undefined) out.lastKnownGood = lkg
  return out
}

/** The newer of two reports of one device (by journal seq). */
export function newerStore (held: DeviceStoreState | undefined, next: DeviceStoreState): DeviceStoreState {
  return held === undefined || next.seq > held.seq ? next : held
}

export interface StoreFigures {
  /** devices whose newest report says paused, by reason */
  pausedByReason: Record<string, number>
  /** every bundle some device runs, installs or would roll back to */
  heldByDevices: Set<string>
}

export function storeFigures (states: Iterable<DeviceStoreState>): StoreFigures {
  const out: StoreFigures = { pausedByReason: {}, heldByDevices: new Set() }
  for (const s of states) {
    if (s.paused !== null) out.pausedByReason[s.paused] = (out.pausedByReason[s.paused] ?? 0) + 1
    for (const id of [s.active, s.installing, s.lastKnownGood]) if (id !== undefined) out.heldByDevices.add(id)
  }
  return out
}
