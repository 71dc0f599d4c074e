/**
 * `/storemesh/report/1.0.0` and `1.1.0` (protocols/report/SPEC.md): the protocol ids,
 * the wire limits of SPEC.md "Limits", the syntax of the ids and names the messages
 * carry, and the exchange defaults. The ledgers' and uplinks' defaults are in
 * src/ledger/constants.ts.
 */
import { DEVICE_ID_RE } from '../../interface/ids.js'
import { formatProtocolId } from '../../net/protocol-id.js'

const KiB = 1024
const MiB = 1024 * KiB
const SECOND_MS = 1000

export const REPORT_PROTOCOL_NAME = 'report'
export const REPORT_PROTOCOL_VERSION = '1.0.0'
/** `/storemesh/report/1.0.0`: hub → super hub, and devices that know no device orders */
export const REPORT_PROTOCOL = formatProtocolId(REPORT_PROTOCOL_NAME, REPORT_PROTOCOL_VERSION)
/**
 * `/storemesh/report/1.1.0`: 1.0.0 plus `deviceOrders` in the answer (SPEC.md "Device
 * orders"). A store hub serves both; devices ask on 1.1.0; the strict 1.0.0 decoders
 * never see the new member.
 */
export const REPORT_PROTOCOL_V1_1_VERSION = '1.1.0'
export const REPORT_PROTOCOL_V1_1 = formatProtocolId(REPORT_PROTOCOL_NAME, REPORT_PROTOCOL_V1_1_VERSION)

/**
 * `/storemesh/report/1.2.0` (SPEC.md "1.2.0"): 1.1.0 plus a long-poll (`waitMs`), what
 * the asker holds (`have`), acks of fleet orders (`ackOrders`) in requests, and fleet
 * orders, trust documents and an order cursor in answers. Served beside 1.0.0 and
 * 1.1.0; a client that finds a peer without it falls back to 1.1.0 for that peer.
 */
export const REPORT_PROTOCOL_V1_2_VERSION = '1.2.0'
export const REPORT_PROTOCOL_V1_2 = formatProtocolId(REPORT_PROTOCOL_NAME, REPORT_PROTOCOL_V1_2_VERSION)

// --- wire limits (SPEC.md "Limits") -------------------------------------------------

/** One request (a batch of journal entries or outbox entries). @default 1 MiB */
export const MAX_REPORT_REQUEST_BYTES = 1 * MiB
/** Entries in one batch, whatever their size. @default 1000 */
export const MAX_BATCH_ENTRIES = 1000
/** One journal entry as JSON; the device journal refuses larger ones at append. @default 16 KiB */
export const MAX_WIRE_ENTRY_BYTES = 16 * KiB
/** Orders carried by one response: the newest ones when there are more. @default 256 */
export const MAX_ORDERS = 256
/** Device orders carried by one answer (1.1.0), the oldest open ones first. @default 16 */
export const MAX_DEVICE_ORDERS = 16
/** Device order ids: chosen by the store hub, unique per hub ledger. */
export const ORDER_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
/** `reason` of an order, and `detail` of an error answer. @default 256 characters */
export const MAX_REASON_CHARS = 256
/** A response is the ack and at most MAX_ORDERS orders. @default 256 KiB */
export const MAX_REPORT_RESPONSE_BYTES = 256 * KiB
/** Strings inside a journal entry (`detail` and the like). @default 4096 characters */
export const MAX_ENTRY_TEXT_CHARS = 4096
/** Members of an entry's `data` object. @default 32 */
export const MAX_ENTRY_DATA_KEYS = 32

// --- 1.2.0 limits (SPEC.md "1.2.0") -------------------------------------------------

/** The longest a receiver holds a request (`waitMs`). @default 30 s */
export const MAX_REPORT_WAIT_MS = 30 * SECOND_MS
/** Fleet orders in one answer, the oldest unacknowledged first. @default 64 */
export const MAX_FLEET_ORDERS = 64
/** Order ids acknowledged in one request. @default 256 */
export const MAX_ORDER_ACKS = 256
/** Roots of trust in one answer, the next versions after the asker's; it asks again for more. @default 4 */
export const MAX_REPORT_ROOTS = 4
/**
 * A 1.2.0 answer: the 1.1.0 answer (256 KiB) plus fleet orders, MAX_REPORT_ROOTS roots
 * (64 KiB each), a revocation list (512 KiB) and a timestamp statement (64 KiB). @default 2 MiB
 */
export const MAX_REPORT_V1_2_RESPONSE_BYTES = 2 * MiB
/** Bundles in one request's `holdings` (a store hub's newest first). @default 64 */
export const MAX_HOLDINGS_BUNDLES = 64
/** A bundle's chunk count in `holdings`: more than any bundle's piece list. @default 2^24 */
export const MAX_HOLDINGS_CHUNKS = 2 ** 24
/** Requests held at once for one peer (a hub and its restart's old stream). @default 2 */
export const DEFAULT_MAX_HELD_PER_PEER = 2
/** Requests held at once in all: a super hub's connected store hubs, a store's devices. @default 4096 */
export const DEFAULT_MAX_HELD_TOTAL = 4096
/**
 * What an idle 1.2.0 uplink asks for as `waitMs`: under MAX_REPORT_WAIT_MS so that NAT
 * and proxies see traffic twice a minute. @default 25 s
 */
export const DEFAULT_REPORT_WAIT_MS = 25 * SECOND_MS
/** The order cursor: 32 lower-case hex, a digest of the orders an answer carried. */
export const ORDER_CURSOR_RE = /^[0-9a-f]{32}$/

export { DEVICE_ID_RE, WAVE_ID_RE } from '../../interface/ids.js'
/** Hub ids: the same alphabet (a store label or the hub's peer id). */
export const HUB_ID_RE = DEVICE_ID_RE
/** Gate names (`device.battery`, `probe.scanner`) and failure names (`E_ARTIFACT_HASH_MISMATCH`). */
export const GATE_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/
/** A hub ledger's epoch: 32 hex characters, new when its database is new. */
export const EPOCH_RE = /^[0-9a-f]{32}$/
/** Journal entry kinds (`transition`, `decision`, ...). */
export const KIND_RE = /^[a-z][a-z0-9-]{0,31}$/

// --- the exchange ---------------------------------------------------------------------

/** The whole exchange on either side: 1 MiB over a slow WAN. @default 30 s */
export const DEFAULT_REPORT_TIMEOUT_MS = 30 * SECOND_MS
/** Streams per connection and direction. @default 4 */
export const DEFAULT_MAX_REPORT_STREAMS = 4
