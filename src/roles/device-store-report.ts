/**
 * The device's store report (src/ledger/device-store.ts): after every agent round,
 * what the store keeps (its `active`, `installing` and `last-known-good` pins) and
 * whether downloads are paused for space; journaled only when it changed (and once
 * after a start), so the hub learns it with the next uplink push. The hub pins what
 * devices hold and counts the paused ones (`storemesh_store_devices_paused`).
 */
import type { Journal } from '../install/journal.js'
import { sameReport, storeReportEvent, type DeviceStoreReport } from '../ledger/device-store.js'
import type { ChunkStore } from '../store/index.js'

export function storeReportOf (store: ChunkStore): DeviceStoreReport {
  const pause = store.paused()
  const pinned = (reason: 'active' | 'installing' | 'last-known-good'): string | undefined => store.listBundles().find(b => b.pins.includes(reason))?.id
  const r: DeviceStoreReport = { paused: pause?.reason ?? null }
  if (pause !== undefined) r.pausedSinceMs = pause.sinceMs
  const active = pinned('active')
  const installing = pinned('installing')
  const lkg = pinned('last-known-good')
  if (active !== undefined) r.active = active
  if (installing !== undefined) r.installing = installing
  if (lkg !== undefined) r.lastKnownGood = lkg
  return r
}

export class DeviceStoreReporter {
  #last: DeviceStoreReport | undefined

  constructor (private readonly store: ChunkStore, private readonly journal: Journal) {}

  /** Journals the report when it changed; true when it did (the caller kicks the uplink). */
  async tick (): Promise<boolean> {
    const now = storeReportOf(this.store)
    if (sameReport(this.#last, now)) return false
    await this.journal.append(storeReportEvent(now))
    this.#last = now
    return true
  }
}
