/**
 * Limits and defaults of node identity (protocols/identity/SPEC.md), in one place.
 * The wire protocol's own id and limits are in protocol/constants.ts.
 */

const KiB = 1024
const SECOND_MS = 1000
const MINUTE_MS = 60 * SECOND_MS
const DAY_MS = 24 * 60 * MINUTE_MS

/** `signed.type` of a node certificate (SPEC.md "Certificate"). */
export const CERTIFICATE_TYPE = 'storemesh/node-certificate'
/** `signed.type` of a revocation list (SPEC.md "Revocation list"). */
export const REVOCATION_LIST_TYPE = 'storemesh/revocation-list'
export const IDENTITY_SPEC_VERSION = 1

/** The roles a certificate may bind (SPEC.md "Certificate"). */
export const NODE_ROLES = ['device', 'hub', 'super-hub'] as const
export type NodeRole = typeof NODE_ROLES[number]

/** A certificate file or message: one small signed object. @default 4 KiB */
export const MAX_CERTIFICATE_BYTES = 4 * KiB
/** Serials and peer ids listed in one revocation list, each. @default 4096 */
export const MAX_REVOKED_ENTRIES = 4096
/** A revocation list file or message: room for both lists full. @default 512 KiB */
export const MAX_REVOCATION_LIST_BYTES = 512 * KiB
/** At most this many signatures on a certificate or list (as for manifests). */
export const MAX_IDENTITY_SIGNATURES = 16

/** A serial: 16 random bytes in lower-case hex. */
export const SERIAL_BYTES = 16
export const SERIAL_RE = /^[0-9a-f]{32}$/
/** Device and store ids: a label an operator types, or a serial number (as the lease protocol's). */
export const DEVICE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/
export const STORE_ID_RE = DEVICE_ID_RE
/** Device classes: as a manifest's `deviceClass`. */
export const DEVICE_CLASS_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/
/** A libp2p peer id as text (base58btc multihash); the decoder also parses it. */
export const PEER_ID_RE = /^[1-9A-HJ-NP-Za-km-z]{40,64}$/
/** Times are written as `Date.prototype.toISOString()` writes them, in UTC. */
export const ISO_TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

/** A clock this far ahead of the issuer's still accepts a fresh certificate. @default 5 min */
export const DEFAULT_CLOCK_SKEW_MS = 5 * MINUTE_MS
/** `identity issue --expires`, when not given. @default 365 days */
export const DEFAULT_CERTIFICATE_LIFETIME_MS = 365 * DAY_MS
/** The longest lifetime `identity issue` writes. @default 10 years */
export const MAX_CERTIFICATE_LIFETIME_MS = 3650 * DAY_MS

/** File names inside a node's data dir, next to its peer key (src/net/constants.ts PEER_KEY_FILE). */
export const CERTIFICATE_FILE = 'node-certificate.json'
export const REVOCATION_LIST_FILE = 'revocations.json'

export const UNITS = { KiB, SECOND_MS, MINUTE_MS, DAY_MS } as const

/** A peer refused for its certificate is denied at the gater for this long. @default 10 min */
export const DEFAULT_REFUSAL_MEMORY_MS = 10 * MINUTE_MS
/** Refused peers remembered at once; the oldest is forgotten first. @default 4096 */
export const DEFAULT_MAX_REFUSED_PEERS = 4096
