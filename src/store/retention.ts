/**
 * What a store keeps and what it lets go, per device class (README "Store lifecycle").
 * Pure functions over bundle records; the roles apply the plans (pin, evictBundle).
 *
 *   device   after a commit: every version older than the last-known-good goes (the
 *            running version, the one being installed and the last-known-good stay).
 *   hub      pins the newest bundle of each class `active` and the one below it
 *            `last-known-good`; once the ledger shows every device of the newest
 *            settled bundle's waves done or blocked, the versions older than that
 *            bundle's last-known-good go.
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

/** The pins a hub holds per class: newest `active`, the version below it `last-known-good`. */
export function hubPinPlan (records: readonly BundleRecord[]): Array<{ record: BundleRecord, reason: PinReason }> {
  const out: Array<{ record: BundleRecord, reason: PinReason }> = []
  for (const list of classesOf(records.filter(r => r.state !== 'evicted')).values()) {
    const newest = list[list.length - 1]
    const below = list[list.length - 2]
    if (newest !== undefined) out.push({ record: newest, reason: 'active' })
    if (below !== undefined) out.push({ record: below, reason: 'last-known-good' })
  }
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
