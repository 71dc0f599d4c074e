/**
 * `/storemesh/manifest/1.0.0` (protocols/manifest/SPEC.md): the protocol id, the wire
 * limits of SPEC.md "Limits", the response status bytes of SPEC.md "Response" and the
 * exchange defaults, in one place.
 */
import { MAX_MANIFEST_BYTES } from '../../bundle/manifest.js'
import { formatProtocolId } from '../protocol-id.js'

const SECOND_MS = 1000

export const MANIFEST_PROTOCOL_NAME = 'manifest'
export const MANIFEST_PROTOCOL_VERSION = '1.0.0'
/** `/storemesh/manifest/1.0.0` */
export const MANIFEST_PROTOCOL = formatProtocolId(MANIFEST_PROTOCOL_NAME, MANIFEST_PROTOCOL_VERSION)
/** `/storemesh/manifest/1.1.0`: 1.0.0's requests and `{rootsAfter}` (SPEC.md "Roots", protocols/root/SPEC.md) */
export const MANIFEST_PROTOCOL_V1_1 = formatProtocolId(MANIFEST_PROTOCOL_NAME, '1.1.0')

// --- wire limits (SPEC.md "Limits") -------------------------------------------------

/** A request is a tiny JSON object. @default 1024 bytes */
export const MAX_MANIFEST_REQUEST_BYTES = 1024
/** One status byte and a manifest of at most MAX_MANIFEST_BYTES (4 MiB). */
export const MAX_MANIFEST_RESPONSE_BYTES = 1 + MAX_MANIFEST_BYTES
/** Error responses carry a short UTF-8 reason. @default 512 bytes */
export const MAX_REASON_BYTES = 512
/** Bundle ids: `b3:` and 64 lower-case hex (protocols/bundle/). */
export { BUNDLE_ID_RE } from '../../interface/ids.js'
/** Device classes (SPEC.md "Request"). */
export const DEVICE_CLASS_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

/** Response status byte (SPEC.md "Response"). */
export const STATUS = { OK: 0, NOT_FOUND: 1, BAD_REQUEST: 2, ERROR: 3 } as const
export type Status = typeof STATUS[keyof typeof STATUS]

// --- the exchange ---------------------------------------------------------------------

/** The whole exchange, both sides: a 4 MiB answer on a slow store LAN. @default 30 s */
export const DEFAULT_MANIFEST_TIMEOUT_MS = 30 * SECOND_MS
/** Streams per connection and direction: one request at a time is normal; a few allow retries while one is stuck. @default 4 */
export const DEFAULT_MAX_MANIFEST_STREAMS = 4
