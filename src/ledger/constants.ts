/**
 * The wave ledger (protocols/report/SPEC.md): the defaults of the ledgers and uplinks,
 * in one place. Roles and the CLI read `defaultUplinkOptions` /
 * `defaultSuperLedgerOptions`, so a flag and its default agree. The protocol id and
 * the wire limits are in report/constants.ts.
 */
import { DEFAULT_REPORT_TIMEOUT_MS, DEFAULT_REPORT_WAIT_MS } from './report/constants.js'

const KiB = 1024
const MiB = 1024 * KiB
const SECOND_MS = 1000
const MINUTE_MS = 60 * SECOND_MS

// --- ledgers ---------------------------------------------------------------------------

/** Folder of the store hub's ledger inside its data dir. */
export const HUB_LEDGER_DIR_NAME = 'ledger'
/**
 * A device's report poll that brings nothing new (no entries, same peer) only moves its
 * last-seen time: that is kept in memory and written, unsynced, when the stored one is
 * this old (issue #19: every held poll was an fsynced write, two per poll).
 * @default 5 min
 */
export const DEVICE_LAST_SEEN_WRITE_MS = 5 * 60_000
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
/** Devices with an outcome (updated + rolled back) before a ratio can halt a wave: the policy's `rollout.minOutcomesForHalt` default. @default 1 */
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
/**
 * A device whose polls bring nothing new (no entries to send, the same orders) asks less
 * often, doubling up to this many poll intervals and at most
 * DEFAULT_DEVICE_IDLE_POLL_MAX_MS; anything new, or a kick, brings it back to the poll
 * interval. An idle agent then opens one report stream per half minute instead of one
 * per 5 s (issue #19: idle CPU), and an order still arrives within that half minute.
 */
export const DEVICE_IDLE_POLL_FACTOR = 6
/** @default 30 s */
export const DEFAULT_DEVICE_IDLE_POLL_MAX_MS = 30 * SECOND_MS
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
  /**
   * Polls that bring nothing new double their wait up to this; equal to
   * `pollIntervalMs` (the hub uplink's default) keeps the poll steady.
   * @default pollIntervalMs
   */
  idlePollMaxMs: number
  /** @default DEFAULT_MAX_BATCH_BYTES */
  maxBatchBytes: number
  /** @default DEFAULT_BATCH_ENTRIES */
  batchEntries: number
  /** one exchange. @default DEFAULT_REPORT_TIMEOUT_MS */
  timeoutMs: number
  /**
   * An idle poll asks a 1.2.0 peer to hold it this long (`waitMs`): the idle uplink is
   * one held request at a time instead of a timer, and an order arrives when issued.
   * 0: never long-poll. @default DEFAULT_REPORT_WAIT_MS
   */
  longPollWaitMs: number
}

export const defaultUplinkOptions: Readonly<UplinkOptions> = {
  retryBaseMs: DEFAULT_RETRY_BASE_MS,
  retryMaxMs: DEFAULT_RETRY_MAX_MS,
  retryJitterFraction: DEFAULT_RETRY_JITTER_FRACTION,
  pollIntervalMs: DEFAULT_POLL_INTERVAL_MS,
  idlePollMaxMs: DEFAULT_POLL_INTERVAL_MS,
  maxBatchBytes: DEFAULT_MAX_BATCH_BYTES,
  batchEntries: DEFAULT_BATCH_ENTRIES,
  timeoutMs: DEFAULT_REPORT_TIMEOUT_MS,
  longPollWaitMs: DEFAULT_REPORT_WAIT_MS
}

export const UNITS = { KiB, MiB } as const
