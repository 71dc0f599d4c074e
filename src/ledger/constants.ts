/**
 * `/storemesh/report/1.0.0` (protocols/report/SPEC.md) and the wave ledger: the
 * protocol id, wire limits and the defaults of the ledgers and uplinks, in one place.
 * Roles and the CLI read `defaultUplinkOptions` / `defaultSuperLedgerOptions`, so a
 * flag and its default agree.
 */
import { formatProtocolId } from '../net/protocol-id.js'

const KiB = 1024
const MiB = 1024 * KiB
const SECOND_MS = 1000
const MINUTE_MS = 60 * SECOND_MS

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

/** Device ids: a label an operator types (`pos-17`), a serial number, or a peer id. */
export const DEVICE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/
/** Hub ids: the same alphabet (a store label or the hub's peer id). */
export const HUB_ID_RE = DEVICE_ID_RE
/** Wave ids: the policy's `metadata.wave`, as text (`142`, `pos-q4-142`). */
export const WAVE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
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

// --- ledgers ---------------------------------------------------------------------------

/** Folder of the store hub's ledger inside its data dir. */
export const HUB_LEDGER_DIR_NAME = 'ledger'
/** Folder of the super hub's aggregate inside its data dir. */
export const SUPER_LEDGER_DIR_NAME = 'super-ledger'
/**
 * Raw journal entries kept per device on the hub (for `device history`); older ones
 * are pruned. Condensed state never depends on them. @default 1000
 */
export const DEFAULT_MAX_EVENTS_PER_DEVICE = 1000
/**
 * The policy's `rollout.haltOnRollbackRatio` default (src/policy/constants.ts holds the
 * same figure; the roles pass the policy's value in). @default 0.05
 */
export const DEFAULT_HALT_ON_ROLLBACK_RATIO = 0.05
/** Devices with an outcome (updated + rolled back) before a ratio can halt a wave. @default 1 */
export const DEFAULT_MIN_OUTCOMES_FOR_HALT = 1

// --- uplinks -------------------------------------------------------------------------------

/** First retry after a failed push. @default 1 s */
export const DEFAULT_RETRY_BASE_MS = 1 * SECOND_MS
/** Retries never wait longer than this (plus jitter). @default 60 s */
export const DEFAULT_RETRY_MAX_MS = 1 * MINUTE_MS
/** Each retry waits between (1 - f) and 1 times its back-off. @default 0.5 */
export const DEFAULT_RETRY_JITTER_FRACTION = 0.5
/**
 * With nothing to send, ask anyway this often: the answer carries halt and pause
 * orders. @default 30 s
 */
export const DEFAULT_POLL_INTERVAL_MS = 30 * SECOND_MS
/**
 * A device asks its store hub this often with nothing to send: the answer carries the
 * wave orders and the device's own orders (a rollback), and the LAN is cheap. @default 5 s
 */
export const DEFAULT_DEVICE_POLL_INTERVAL_MS = 5 * SECOND_MS
/** Device orders whose outcome the device remembers, so a re-sent order runs once. @default 256 */
export const DEFAULT_DEVICE_ORDERS_KEPT = 256
/** The device's record of the orders it ran, in its data dir. */
export const DEVICE_ORDERS_FILE = 'device-orders.json'
/** Bytes of entries one push packs (under MAX_REPORT_REQUEST_BYTES). @default 256 KiB */
export const DEFAULT_MAX_BATCH_BYTES = 256 * KiB
/** Entries one push packs. @default 500 */
export const DEFAULT_BATCH_ENTRIES = 500

export interface UplinkOptions {
  /** @default DEFAULT_RETRY_BASE_MS */
  retryBaseMs: number
  /** @default DEFAULT_RETRY_MAX_MS */
  retryMaxMs: number
  /** @default DEFAULT_RETRY_JITTER_FRACTION */
  retryJitterFraction: number
  /** @default DEFAULT_POLL_INTERVAL_MS */
  pollIntervalMs: number
  /** @default DEFAULT_MAX_BATCH_BYTES */
  maxBatchBytes: number
  /** @default DEFAULT_BATCH_ENTRIES */
  batchEntries: number
  /** one exchange. @default DEFAULT_REPORT_TIMEOUT_MS */
  timeoutMs: number
}

export const defaultUplinkOptions: Readonly<UplinkOptions> = {
  retryBaseMs: DEFAULT_RETRY_BASE_MS,
  retryMaxMs: DEFAULT_RETRY_MAX_MS,
  retryJitterFraction: DEFAULT_RETRY_JITTER_FRACTION,
  pollIntervalMs: DEFAULT_POLL_INTERVAL_MS,
  maxBatchBytes: DEFAULT_MAX_BATCH_BYTES,
  batchEntries: DEFAULT_BATCH_ENTRIES,
  timeoutMs: DEFAULT_REPORT_TIMEOUT_MS
}

export const UNITS = { KiB, MiB } as const
