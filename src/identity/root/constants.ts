/**
 * Limits, names and defaults of the root of trust (protocols/root/SPEC.md), in one place.
 */
const KiB = 1024
const DAY_MS = 86_400_000

/** `signed.type` of a root document (SPEC.md "Root document"). */
export const ROOT_TYPE = 'storemesh/root'
export const ROOT_SPEC_VERSION = 1

/**
 * The roles a root names keys for (SPEC.md "Roles"). `root` signs the next root; the
 * others are what the issue names: bundles, policies, node certificates, freshness.
 */
export const ROOT_ROLES = ['root', 'release', 'policy', 'enrolment', 'timestamp'] as const
export type RootRole = typeof ROOT_ROLES[number]

/** Keys listed in one root. @default 32 */
export const MAX_ROOT_KEYS = 32
/** Signatures on one root: old and new root keys together. @default 32 */
export const MAX_ROOT_SIGNATURES = 32
/** One root document, file or wire. @default 64 KiB */
export const MAX_ROOT_BYTES = 64 * KiB
/** Roots a node keeps (oldest dropped first) and a chain file holds. @default 64 */
export const MAX_ROOT_CHAIN = 64
/** Roots in one answer to `{rootsAfter}`: a device this many versions behind asks again. @default 16 */
export const MAX_ROOTS_PER_ANSWER = 16
/** A chain file or answer: MAX_ROOT_CHAIN roots at most MAX_ROOT_BYTES each. */
export const MAX_ROOT_CHAIN_BYTES = MAX_ROOT_CHAIN * MAX_ROOT_BYTES

/** `root init|rotate --expires`, when not given. @default 365 days */
export const DEFAULT_ROOT_LIFETIME_MS = 365 * DAY_MS
/** The longest lifetime `root init|rotate` writes. @default 10 years */
export const MAX_ROOT_LIFETIME_MS = 3650 * DAY_MS

/** The chain a node verified, in its data dir: every root it accepted, oldest first. */
export const ROOT_CHAIN_FILE = 'root-chain.json'

/** A record with one entry per role, from `fn`. */
export function perRole<T> (fn: (role: RootRole) => T): Record<RootRole, T> {
  return Object.fromEntries(ROOT_ROLES.map(r => [r, fn(r)])) as Record<RootRole, T>
}

/** `signed.type` of a freshness statement (SPEC.md section 6). */
export const TIMESTAMP_TYPE = 'storemesh/timestamp'
/** A statement names at most this many device classes. @default 256 */
export const MAX_TIMESTAMP_ENTRIES = 256
/** One statement, file or wire. @default 64 KiB */
export const MAX_TIMESTAMP_BYTES = 64 * KiB
/** `root timestamp --expires`, when not given: short, so a freeze is seen within a day. @default 24 h */
export const DEFAULT_TIMESTAMP_LIFETIME_MS = DAY_MS
/** The longest lifetime a statement may have: a longer one would not bound a freeze. @default 7 days */
export const MAX_TIMESTAMP_LIFETIME_MS = 7 * DAY_MS
/** The newest statement a node verified, in its data dir. */
export const TIMESTAMP_FILE = 'timestamp.json'
