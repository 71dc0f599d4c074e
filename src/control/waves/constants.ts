/**
 * Limits and constants of the fleet wave logic (src/control/waves/). Every rollout
 * figure itself comes from the signed policy (effective-rollout.ts); these only bound
 * what the pure functions accept.
 */

/** Domain separation for the batch order hash, so it never equals the device admission hash. */
export const STORE_ORDER_HASH_CONTEXT = 'storemesh/wave-store-order/v1'
/** Stores in one wave plan (the largest fleet is 10 000). */
export const MAX_WAVE_STORES = 100_000
/** Devices of one store (the issue names up to 300). */
export const MAX_STORE_DEVICES = 100_000
/** A reason given with a pause or halt, as stored and shown. */
export const MAX_REASON_CHARS = 512

export const MINUTE_MS = 60_000
export const HOUR_MS = 60 * MINUTE_MS
