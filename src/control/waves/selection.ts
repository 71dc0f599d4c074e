/**
 * Which devices and stores a fleet wave covers. A device is in the wave when the stable
 * hash of (policy name, device id) falls below `percentage` (src/policy/wave.ts, the
 * same function the device's `wave.admitted` gate runs), so the control plane and every
 * device agree without talking, a re-run selects the same devices, and widening the
 * percentage of the same policy only adds devices. Stores are ordered by the same kind
 * of hash of their id, so a batch is a spread of the fleet rather than its first names
 * in the alphabet, and the order does not change between runs. Pure.
 */
import { blake3Bytes } from '../../bundle/hash.js'
import { isAdmitted } from '../../policy/wave.js'
import { STORE_ORDER_HASH_CONTEXT } from './constants.js'

export interface StoreDevices {
  storeId: string
  deviceIds: readonly string[]
}

/** The devices of `deviceIds` the wave selects, in their given order. */
export function selectDevices (policyName: string, percentage: number, deviceIds: readonly string[]): string[] {
  return deviceIds.filter(id => isAdmitted(policyName, id, percentage))
}

/** Per store, the devices the wave selects; stores with none are left out. */
export function selectStores (policyName: string, percentage: number, stores: readonly StoreDevices[]): Array<{ storeId: string, deviceIds: string[] }> {
  const out: Array<{ storeId: string, deviceIds: string[] }> = []
  for (const s of stores) {
    const deviceIds = selectDevices(policyName, percentage, s.deviceIds)
    if (deviceIds.length > 0) out.push({ storeId: s.storeId, deviceIds })
  }
  return out
}

function orderKey (policyName: string, storeId: string): string {
  // NUL separators: ("ab", "c") and ("a", "bc") must not hash alike.
  return Buffer.from(blake3Bytes(new TextEncoder().encode(`${STORE_ORDER_HASH_CONTEXT}\0${policyName}\0${storeId}`))).toString('hex')
}

/** Store ids in batch order: by hash of (policy name, store id), ties (never in practice) by id. */
export function orderStores (policyName: string, storeIds: readonly string[]): string[] {
  const keyed = storeIds.map(id => ({ id, key: orderKey(policyName, id) }))
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  return keyed.map(k => k.id)
}

/** Consecutive batches of at most `hubBudget` stores; undefined: one batch of all. */
export function batchesOf (orderedStoreIds: readonly string[], hubBudget: number | undefined): string[][] {
  if (orderedStoreIds.length === 0) return []
  const size = hubBudget === undefined ? orderedStoreIds.length : Math.max(1, Math.floor(hubBudget))
  const out: string[][] = []
  for (let i = 0; i < orderedStoreIds.length; i += size) out.push(orderedStoreIds.slice(i, i + size))
  return out
}
