/**
 * `/storemesh/identity/1.0.0` (protocols/identity/SPEC.md section 7): the protocol id,
 * the wire limits and the exchange defaults. The format's limits are ../constants.ts.
 */
import { formatProtocolId } from '../../net/protocol-id.js'
import { MAX_CERTIFICATE_BYTES, MAX_REVOCATION_LIST_BYTES } from '../constants.js'

const KiB = 1024
const SECOND_MS = 1000

export const IDENTITY_PROTOCOL_NAME = 'identity'
export const IDENTITY_PROTOCOL_VERSION = '1.0.0'
/** `/storemesh/identity/1.0.0` */
export const IDENTITY_PROTOCOL = formatProtocolId(IDENTITY_PROTOCOL_NAME, IDENTITY_PROTOCOL_VERSION)

/** `{"want":"certificate","revocationsVersion":n}` and no more. @default 256 bytes */
export const MAX_IDENTITY_REQUEST_BYTES = 256
/** A certificate, a full revocation list, and the JSON around them. */
export const MAX_IDENTITY_RESPONSE_BYTES = MAX_CERTIFICATE_BYTES + MAX_REVOCATION_LIST_BYTES + KiB

/** The whole exchange (open, request, response) on either side. @default 10 s */
export const DEFAULT_IDENTITY_TIMEOUT_MS = 10 * SECOND_MS
/**
 * With certificates required, a connection must be verified this long after it opened,
 * or it is refused (E_CERT_MISSING) and closed. @default 10 s
 */
export const DEFAULT_PRESENT_TIMEOUT_MS = 10 * SECOND_MS
/** Streams per connection and direction: one exchange per connection is normal. @default 2 */
export const DEFAULT_MAX_IDENTITY_STREAMS = 2
/**
 * How often a node re-checks its peers: certificates that expired during a connection
 * are refused, and hubs are asked for a newer revocation list, so a revocation reaches
 * every peer within a few of these. The hub uplink's report interval. @default 30 s
 */
export const DEFAULT_REFRESH_INTERVAL_MS = 30 * SECOND_MS
