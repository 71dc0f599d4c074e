/**
 * `storemesh_store_devices_paused{reason}` on a store hub: devices whose newest store
 * report (src/ledger/device-store.ts) says their downloads are paused for lack of
 * space, by reason. Devices serve no metrics of their own; this is where an operator
 * sees a store whose devices ran out of disk. Every reason is always exported (0 or
 * more) so an alert needs no absent() clause; a reason of another word folds into `other`.
 */
import type { Registry } from 'prom-client'
import { STORE_PAUSE_REASONS } from '../store/index.js'
import { count, scrapedGauge, SourceErrors } from './collect.js'
import { OTHER_LABEL } from './constants.js'

type MaybePromise<T> = T | Promise<T>

export const DEVICES_PAUSED_METRIC = 'storemesh_store_devices_paused'

export interface DeviceStoreSource {
  /** devices paused, by reason, as last reported */
  pausedByReason(): MaybePromise<Record<string, number>>
}

export function createDeviceStoreMetrics (registry: Registry, source: DeviceStoreSource, errors: SourceErrors = SourceErrors.of(registry)): void {
  const known = new Set<string>(STORE_PAUSE_REASONS)
  scrapedGauge(registry, DEVICES_PAUSED_METRIC, 'Devices of the store whose downloads are paused for lack of space (their last store report), by reason: disk-full or quota.', ['reason'], async g => {
    await errors.guard('device-store', async () => {
      const by = await source.pausedByReason()
      for (const reason of STORE_PAUSE_REASONS) g.set({ reason }, 0)
      for (const [reason, n] of Object.entries(by)) g.inc({ reason: known.has(reason) ? reason : OTHER_LABEL }, count(n))
    })
  })
}
