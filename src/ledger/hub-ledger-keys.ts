/**
 * The keys of the hub ledger's level database (protocols/report/SPEC.md "Hub ledger"):
 *
 *   e!<deviceId>!<seq>   the device's journal entry as received (the newest few per device)
 *   d!<deviceId>         DeviceRecord: highest seq seen, pruned floor, last report
 *   s!<waveId>!<deviceId> DeviceWaveRecord: the condensed state (src/ledger/condense.ts)
 *   c!<waveId>           WaveCounts: devices per state, kept in the same batch as s!
 *   o!<seq>              LedgerDelta: the outbox for the super hub, one per unacked change
 *   r!<waveId>           StoredOrder: the halt/pause/resume order in force
 *   x!<deviceId>!<orderId> DeviceOrderRecord: an order to one device (src/ledger/device-orders.ts)
 *   w!<waveId>!<bundleId> true: a device reported about this bundle in this wave (the hub's eviction reads it)
 *   m!epoch, m!outbox-next, m!outbox-acked
 */
import { seqPart } from './db.js'

export const eventPrefix = (deviceId: string): string => `e!${deviceId}!`
export const eventKey = (deviceId: string, seq: number): string => eventPrefix(deviceId) + seqPart(seq)
export const deviceKey = (deviceId: string): string => `d!${deviceId}`
export const statePrefix = (waveId: string): string => `s!${waveId}!`
export const stateKey = (waveId: string, deviceId: string): string => statePrefix(waveId) + deviceId
export const countsKey = (waveId: string): string => `c!${waveId}`
export const outboxKey = (seq: number): string => `o!${seqPart(seq)}`
export const orderKey = (waveId: string): string => `r!${waveId}`
export const WAVE_BUNDLE_PREFIX = 'w!'
export const waveBundleKey = (waveId: string, bundleId: string): string => `${WAVE_BUNDLE_PREFIX}${waveId}!${bundleId}`
/** The (wave, bundle) of a `w!` key; bundle ids hold no `!` (isBundleId), wave ids may. */
export function parseWaveBundleKey (key: string): { waveId: string, bundleId: string } | undefined {
  const rest = key.slice(WAVE_BUNDLE_PREFIX.length)
  const cut = rest.lastIndexOf('!')
  return cut > 0 ? { waveId: rest.slice(0, cut), bundleId: rest.slice(cut + 1) } : undefined
}
export const KEY_EPOCH = 'm!epoch'
export const KEY_OUTBOX_NEXT = 'm!outbox-next'
export const KEY_OUTBOX_ACKED = 'm!outbox-acked'
