/**
 * Install leases (protocols/lease/SPEC.md): the lease defaults of hub and device, in
 * one place. The roles and the CLI read `defaultLeaseTableOptions` /
 * `defaultLeaseKeeperOptions`, so a flag and its default agree. The protocol id and the
 * wire limits are in protocol/constants.ts.
 */
import { DEFAULT_LEASE_TIMEOUT_MS } from './protocol/constants.js'

const KiB = 1024
const SECOND_MS = 1000
const MINUTE_MS = 60 * SECOND_MS

// --- hub side: the lease table ----------------------------------------------------------

/**
 * How long a lease lives unless renewed. Covers a renewal period (TTL/3) twice over and
 * the reboot of a try-boot, when the device cannot renew. A device that dies holding a
 * lease blocks its slot at most this long. @default 10 min
 */
export const DEFAULT_LEASE_TTL_MS = 10 * MINUTE_MS
/** The hub never grants less than this, whatever a device asks. @default 10 s */
export const DEFAULT_MIN_LEASE_TTL_MS = 10 * SECOND_MS
/** Nor more than this: also how long a hub that lost its lease file waits. @default 30 min */
export const DEFAULT_MAX_LEASE_TTL_MS = 30 * MINUTE_MS
/**
 * A denied device is told to ask again after at most this (sooner when a lease expires
 * sooner). Devices add jitter. @default 30 s
 */
export const DEFAULT_RETRY_AFTER_MS = 30 * SECOND_MS
/** The floor of `retryAfterMs`, so a full store is not asked in a tight loop. @default 1 s */
export const DEFAULT_MIN_RETRY_AFTER_MS = 1 * SECOND_MS
/** Cap of concurrent leases when nothing else is configured (the policy's default). @default 5 */
export const DEFAULT_MAX_CONCURRENT_PER_HUB = 5
/** File name of the persisted lease table inside the hub's data dir. */
export const LEASE_STATE_FILE = 'leases.json'
/**
 * Leases one table holds at most, whatever the cap says: a store is ~300 devices
 * (src/net/constants.ts STORE_DEVICES), so this is a bound, not a setting.
 */
export const MAX_LEASES = 1_000
/** Waves whose granted devices are remembered for a wave budget; the oldest are forgotten. */
export const MAX_TRACKED_WAVES = 16
/** Devices remembered per wave; past it a wave with a budget admits no one new (fail closed). */
export const MAX_WAVE_DEVICES = 1_000
/**
 * The persisted table is refused above this size (a decoder limit). The bounds above
 * keep a full table near 2.5 MiB (ids of 128 characters). @default 4 MiB
 */
export const MAX_LEASE_STATE_BYTES = 4096 * KiB

// --- device side: the keeper -----------------------------------------------------------

/** Renew when this fraction of the granted TTL has passed. @default 1/3 */
export const DEFAULT_RENEW_FRACTION = 1 / 3
/** After a failed renewal, try again after this fraction of the TTL. @default 1/6 */
export const DEFAULT_RENEW_RETRY_FRACTION = 1 / 6
/** Jitter added to a hub's retryAfterMs: up to this fraction of it. @default 0.5 */
export const DEFAULT_RETRY_JITTER_FRACTION = 0.5
/** A device waits at most this between acquire attempts. @default 60 s */
export const DEFAULT_MAX_RETRY_DELAY_MS = MINUTE_MS
/** No renewal or retry timer is shorter than this, whatever a hub answers. @default 50 ms */
export const MIN_RENEW_DELAY_MS = 50
/** The release at the end of an install gets this long; the TTL frees the slot otherwise. @default 5 s */
export const DEFAULT_RELEASE_TIMEOUT_MS = 5 * SECOND_MS

export interface LeaseTableOptions {
  /** leases active at once: the policy's `rollout.maxConcurrentPerHub` */
  maxConcurrentPerHub: number
  /** @default DEFAULT_LEASE_TTL_MS */
  defaultTtlMs: number
  /** @default DEFAULT_MIN_LEASE_TTL_MS */
  minTtlMs: number
  /** @default DEFAULT_MAX_LEASE_TTL_MS */
  maxTtlMs: number
  /** @default DEFAULT_RETRY_AFTER_MS */
  retryAfterMs: number
  /** @default DEFAULT_MIN_RETRY_AFTER_MS */
  minRetryAfterMs: number
}

export const defaultLeaseTableOptions: Readonly<LeaseTableOptions> = {
  maxConcurrentPerHub: DEFAULT_MAX_CONCURRENT_PER_HUB,
  defaultTtlMs: DEFAULT_LEASE_TTL_MS,
  minTtlMs: DEFAULT_MIN_LEASE_TTL_MS,
  maxTtlMs: DEFAULT_MAX_LEASE_TTL_MS,
  retryAfterMs: DEFAULT_RETRY_AFTER_MS,
  minRetryAfterMs: DEFAULT_MIN_RETRY_AFTER_MS
}

export interface LeaseKeeperOptions {
  /** TTL asked for; the hub clamps it. @default DEFAULT_LEASE_TTL_MS */
  ttlMs: number
  /** @default DEFAULT_RENEW_FRACTION */
  renewFraction: number
  /** @default DEFAULT_RENEW_RETRY_FRACTION */
  renewRetryFraction: number
  /** @default DEFAULT_RETRY_JITTER_FRACTION */
  retryJitterFraction: number
  /** @default DEFAULT_MAX_RETRY_DELAY_MS */
  maxRetryDelayMs: number
  /** one exchange with the hub. @default DEFAULT_LEASE_TIMEOUT_MS */
  timeoutMs: number
  /** @default DEFAULT_RELEASE_TIMEOUT_MS */
  releaseTimeoutMs: number
}

export const defaultLeaseKeeperOptions: Readonly<LeaseKeeperOptions> = {
  ttlMs: DEFAULT_LEASE_TTL_MS,
  renewFraction: DEFAULT_RENEW_FRACTION,
  renewRetryFraction: DEFAULT_RENEW_RETRY_FRACTION,
  retryJitterFraction: DEFAULT_RETRY_JITTER_FRACTION,
  maxRetryDelayMs: DEFAULT_MAX_RETRY_DELAY_MS,
  timeoutMs: DEFAULT_LEASE_TIMEOUT_MS,
  releaseTimeoutMs: DEFAULT_RELEASE_TIMEOUT_MS
}
