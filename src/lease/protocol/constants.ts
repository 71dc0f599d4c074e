/**
 * `/storemesh/lease/1.0.0` (protocols/lease/SPEC.md): the protocol id, the wire limits
 * of SPEC.md "Limits" and the syntax of SPEC.md "Request", and the exchange defaults.
 * The lease table's and the keeper's defaults are in src/lease/constants.ts.
 */
import { formatProtocolId } from '../../net/protocol-id.js'

const KiB = 1024
const SECOND_MS = 1000
const HOUR_MS = 3600 * SECOND_MS

export const LEASE_PROTOCOL_NAME = 'lease'
export const LEASE_PROTOCOL_VERSION = '1.0.0'
/** `/storemesh/lease/1.0.0` */
export const LEASE_PROTOCOL = formatProtocolId(LEASE_PROTOCOL_NAME, LEASE_PROTOCOL_VERSION)

// --- wire limits (SPEC.md "Limits") -------------------------------------------------

/** A request is a small JSON object; anything larger resets the stream. @default 4 KiB */
export const MAX_LEASE_REQUEST_BYTES = 4 * KiB
/** A response is a small JSON object too. @default 4 KiB */
export const MAX_LEASE_RESPONSE_BYTES = 4 * KiB
/** `detail` in a response is for logs; longer text is cut. */
export const MAX_LEASE_DETAIL_CHARS = 256
export { BUNDLE_ID_RE, DEVICE_ID_RE, WAVE_ID_RE } from '../../interface/ids.js'
/** Lease ids: 32 lower-case hex characters. */
export const LEASE_ID_RE = /^[0-9a-f]{32}$/
/** Reason codes, known or not (SPEC.md "Reasons"). */
export const REASON_RE = /^[a-z][a-z-]{0,31}$/
/** The largest `ttlMs` a request may carry; the hub clamps it further. @default 24 h */
export const MAX_WIRE_TTL_MS = 24 * HOUR_MS

// --- the exchange ---------------------------------------------------------------------

/** The whole exchange (open, request, response) on both sides. @default 10 s */
export const DEFAULT_LEASE_TIMEOUT_MS = 10 * SECOND_MS
/** Streams per connection and direction: one exchange at a time is normal. @default 4 */
export const DEFAULT_MAX_LEASE_STREAMS = 4
