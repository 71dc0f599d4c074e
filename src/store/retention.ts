/**
 * What a store keeps and what it lets go, per device class (README "Store lifecycle").
 * Pure functions over bundle records; the roles apply the plans (pin, evictBundle).
 *
 *   device   after a commit: every version older than the last-known-good goes (the
 *            running version, the one being installed and the last-known-good stay).
 *   hub      pins the newest bundle of each class `active` and every bundle a device
 *            of the store runs, installs or would roll back to `device` (the devices'
 *            store reports in the ledger); once the ledger shows every device of the
 *            newest settled bundle's waves done or blocked, the versions older than
 *            that bundle's last-known-good go, unless a device still holds them.
 *
 * A pinned bundle is never planned for eviction (and the store refuses it anyway).
 */
import semver from 'semver'
import type { BundleRecord, PinReason } from './index-db.js'

export interface RetentionPlan {
  /** bundles to evict, oldest version first */
  evict: BundleRecord[]
  /** bundles that would go but are pinned (by hand, usually): kept, and said so */
  pinned: BundleRecord[]
}

const byVersion = (a: BundleRecord, b: BundleRecord): number => semver.compare(a.version, b.version) || a.addedMs - b.addedMs

function classesOf (records: readonly BundleRecord[]): Map<string, BundleRecord[]> {
  const out = new Map<string, BundleRecord[]>()
  for (const r of records) out.set(r.deviceClass, [...(out.get(r.deviceClass) ?? []), r])
  for (const list of out.values()) list.sort(byVersion)
  return out
}

function olderThan (list: readonly BundleRecord[], floor: BundleRecord, plan: RetentionPlan): void {
  for (const r of list) {
    if (r.id === floor.id || byVersion(r, floor) >= 0) continue
    if (r.pins.length > 0) plan.pinned.push(r)
    else plan.evict.push(r)
  }
}

/**
 * A device's clean-up: per class with a last-known-good pin, every older version; a
 * class with only an `active` pin (first install) keeps what is older than nothing.
 */
export function deviceGcPlan (records: readonly BundleRecord[]): RetentionPlan {
  const plan: RetentionPlan = { evict: [], pinned: [] }
  for (const list of classesOf(records).values()) {
    const lkg = list.find(r => r.pins.includes('last-known-good'))
    if (lkg !== undefined) olderThan(list, lkg, plan)
  }
  return plan
}

/** The pins a hub sets by itself (`manual` is the operator's). */
export const HUB_AUTO_PINS: ReadonlySet<PinReason> = new Set(['active', 'installing', 'last-known-good', 'device'])

/**
 * The pins a hub holds: `active` on the newest bundle of each class (what it seeds
 * now), and `device` on every bundle a device of the store runs, installs or would roll
 * back to (`heldByDevices`, from the devices' store reports in the ledger); before any
 * device has reported, `last-known-good` on the version below the newest. Any other
 * automatic pin is stale and goes (hubStalePins).
 */
export function hubPinPlan (records: readonly BundleRecord[], heldByDevices: ReadonlySet<string> = new Set()): Array<{ record: BundleRecord, reason: PinReason }> {
  const out: Array<{ record: BundleRecord, reason: PinReason }> = []
  const live = records.filter(r => r.state !== 'evicted')
  for (const list of classesOf(live).values()) {
    const newest = list[list.length - 1]
    const below = list[list.length - 2]
    if (newest !== undefined) out.push({ record: newest, reason: 'active' })
    // until a device of the store has said what it keeps, the version below the newest
    // is kept as the store's fallback: its devices may still run or roll back to it
    if (below !== undefined && heldByDevices.size === 0) out.push({ record: below, reason: 'last-known-good' })
  }
  for (const r of live) if (heldByDevices.has(r.id)) out.push({ record: r, reason: 'device' })
  return out
}

/** Automatic pins the plan no longer wants (a device moved on, a hub pin of an older rule). */
export function hubStalePins (records: readonly BundleRecord[], plan: ReadonlyArray<{ record: BundleRecord, reason: PinReason }>): Array<{ record: BundleRecord, reason: PinReason }> {
  const want = new Set(plan.map(p => `${p.record.id} ${p.reason}`))
  const out: Array<{ record: BundleRecord, reason: PinReason }> = []
  for (const r of records) for (const reason of r.pins) if (HUB_AUTO_PINS.has(reason) && !want.has(`${r.id} ${reason}`)) out.push({ record: r, reason })
  return out
}

/**
 * A hub's eviction after a wave: `settled` are the bundles whose waves have every
 * device done (updated, rolled back, failed) or blocked. Per class, the newest settled
 * bundle's last-known-good is the highest version below it; everything older goes.
 */
export function hubEvictionPlan (records: readonly BundleRecord[], settled: ReadonlySet<string>): RetentionPlan {
  const plan: RetentionPlan = { evict: [], pinned: [] }
  for (const list of classesOf(records).values()) {
    const done = list.filter(r => settled.has(r.id))
    const current = done[done.length - 1]
    if (current === undefined) continue
    const below = list.filter(r => byVersion(r, current) < 0 && r.state !== 'evicted')
    const lkg = below[below.length - 1]
    if (lkg !== undefined) olderThan(list, lkg, plan)
  }
  return plan
}
