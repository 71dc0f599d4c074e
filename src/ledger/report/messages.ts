/**
 * The messages of `/storemesh/report/1.0.0` and `1.1.0` (protocols/report/SPEC.md
 * "Requests", "Answers", "Device orders"), as zod schemas: the one place they are
 * validated. Decoders fail closed with E_WIRE_MALFORMED (src/net/json-message.ts);
 * encoders run the same schemas, so nothing goes on the wire the other side would
 * refuse; `toWireEntry()` trims a journal entry to the wire schema so one odd entry can
 * never stall a device's uplink.
 */
import { z } from 'zod'
import type { JournalEntry } from '../../interface/types.js'
import { decodeJsonMessage, encodeJsonMessage, parseWireMessage } from '../../net/json-message.js'
import {
  DEVICE_ID_RE, EPOCH_RE, GATE_RE, HUB_ID_RE, KIND_RE, MAX_BATCH_ENTRIES, MAX_DEVICE_ORDERS, MAX_ENTRY_DATA_KEYS, MAX_ENTRY_TEXT_CHARS, MAX_ORDERS,
  MAX_REASON_CHARS, MAX_REPORT_REQUEST_BYTES, MAX_REPORT_RESPONSE_BYTES, MAX_WIRE_ENTRY_BYTES, ORDER_ID_RE, WAVE_ID_RE
} from './constants.js'

export const WAVE_ACTIONS = ['halt', 'pause', 'resume'] as const
export type WaveAction = typeof WAVE_ACTIONS[number]

/** An order about one wave; per wave the newest (`issuedAtMs`) wins. */
export interface WaveOrder {
  waveId: string
  action: WaveAction
  reason: string
  /** ms since epoch, the issuer's clock */
  issuedAtMs: number
}

export const DEVICE_ACTIONS = ['rollback'] as const
export type DeviceAction = typeof DEVICE_ACTIONS[number]

/**
 * An order to one device (1.1.0, SPEC.md "Device orders"): the store hub repeats it in
 * every answer to that device until the device reported its outcome (a journal entry of
 * kind `order` naming `orderId`); the device runs each `orderId` once.
 */
export interface DeviceOrder {
  orderId: string
  deviceId: string
  action: DeviceAction
  reason: string
  /** ms since epoch, the hub's clock */
  issuedAtMs: number
}

/**
 * A device's condensed state in one wave:
 *   updated      the wave's bundle committed
 *   rolled-back  it was tried and rolled back (health, watchdog, boot attempts, operator)
 *   failed       the install stopped before the boot switch (hash, backend): nothing to roll back
 *   pending      in progress, staged, or cleared to install
 *   blocked      deferred or refused by a gate, named in `gate`
 */
export const DEVICE_WAVE_STATES = ['updated', 'rolled-back', 'failed', 'pending', 'blocked'] as const
export type DeviceWaveState = typeof DEVICE_WAVE_STATES[number]

/** Device → hub: journal entries, oldest first, strictly increasing seq. */
export interface DeviceBatch {
  type: 'device-events'
  deviceId: string
  entries: JournalEntry[]
}

/** One condensed change: `deviceId` is now `state` in `waveId`. */
export interface LedgerDelta {
  /** the hub's outbox sequence: monotonic per hub epoch, with gaps where a change was superseded */
  seq: number
  waveId: string
  deviceId: string
  state: DeviceWaveState
  /** blocked (and failed): the deciding gate or failure name */
  gate?: string
  /** the highest device journal seq behind this state; orders a device's states across hubs */
  version: number
  /** hub clock, ms since epoch */
  atMs: number
}

/** Store hub → super hub: outbox entries, increasing seq. */
export interface HubBatch {
  type: 'hub-ledger'
  hubId: string
  /** new whenever the hub's ledger database is new, so its outbox seq may restart */
  epoch: string
  entries: LedgerDelta[]
}

export type ReportRequest = DeviceBatch | HubBatch

export const ERROR_REASONS = ['bad-request', 'wrong-role', 'ledger-error'] as const
export type ReportErrorReason = typeof ERROR_REASONS[number]

export interface ReportAck {
  status: 'ok'
  /** the highest seq of the sender's the receiver has durably stored (see SPEC.md "Acks") */
  ackedSeq: number
  orders: WaveOrder[]
  /** 1.1.0 only, answers to a device: its open orders, oldest first; absent when none */
  deviceOrders?: DeviceOrder[]
}

export interface ReportError {
  status: 'error'
  reason: ReportErrorReason
  detail: string
}

export type ReportResponse = ReportAck | ReportError

// --- schemas ---------------------------------------------------------------------------

/** A safe integer >= min: seqs, versions, times in ms. */
const int = (min = 0): z.ZodNumber => z.number().int().min(min)
/** A string of at most `max` characters (UTF-16 units, as `.length` counts). */
const text = (max: number): z.ZodString => z.string().max(max)
const id = (re: RegExp): z.ZodString => z.string().regex(re, 'malformed')

/** Names of a journal entry's `data` members. @default 64 characters */
const MAX_DATA_NAME_CHARS = 64

const entryData = z.record(
  text(MAX_DATA_NAME_CHARS),
  z.union([text(MAX_ENTRY_TEXT_CHARS), z.number(), z.boolean(), z.null()], { error: 'must be a string, finite number, boolean or null' })
).refine(d => Object.keys(d).length <= MAX_ENTRY_DATA_KEYS, `more than ${MAX_ENTRY_DATA_KEYS} members`)

/** SPEC.md "Journal entries" (members in the order the encoder writes them). */
const journalEntryObject = z.strictObject({
  seq: int(1),
  at: text(64),
  kind: id(KIND_RE),
  waveId: id(WAVE_ID_RE).optional(),
  step: int().optional(),
  bundleId: text(128).optional(),
  version: text(64).optional(),
  installId: text(128).optional(),
  from: text(32).optional(),
  to: text(32).optional(),
  event: text(32).optional(),
  reason: text(MAX_REASON_CHARS).optional(),
  detail: text(MAX_ENTRY_TEXT_CHARS).optional(),
  data: entryData.optional()
})
export const journalEntrySchema: z.ZodType<JournalEntry> = journalEntryObject

/** One entry on the wire: at most MAX_WIRE_ENTRY_BYTES as JSON, checked before its members. */
const wireEntry = z.unknown()
  .refine(e => Buffer.byteLength(JSON.stringify(e) ?? '') <= MAX_WIRE_ENTRY_BYTES, `larger than ${MAX_WIRE_ENTRY_BYTES} bytes`)
  .pipe(journalEntryObject)

const increasingSeq = (entries: ReadonlyArray<{ seq: number }>): boolean => entries.every((e, i) => i === 0 || e.seq > entries[i - 1]!.seq)
const INCREASING = 'entries must have strictly increasing seq'

const deviceBatchObject = z.strictObject({
  type: z.literal('device-events'),
  deviceId: id(DEVICE_ID_RE),
  entries: z.array(wireEntry).max(MAX_BATCH_ENTRIES)
}).refine(b => increasingSeq(b.entries), INCREASING)

/** SPEC.md "Store hub → super hub" (members in the order the encoder writes them). */
const ledgerDeltaObject = z.strictObject({
  seq: int(1),
  waveId: id(WAVE_ID_RE),
  deviceId: id(DEVICE_ID_RE),
  state: z.enum(DEVICE_WAVE_STATES),
  version: int(),
  atMs: int(),
  gate: id(GATE_RE).optional()
})
export const ledgerDeltaSchema: z.ZodType<LedgerDelta> = ledgerDeltaObject

const hubBatchObject = z.strictObject({
  type: z.literal('hub-ledger'),
  hubId: id(HUB_ID_RE),
  epoch: id(EPOCH_RE),
  entries: z.array(ledgerDeltaObject).max(MAX_BATCH_ENTRIES)
}).refine(b => increasingSeq(b.entries), INCREASING)

export const reportRequestSchema: z.ZodType<ReportRequest> = z.discriminatedUnion('type', [deviceBatchObject, hubBatchObject],
  { error: 'type must be device-events or hub-ledger' })

const waveOrderObject = z.strictObject({
  waveId: id(WAVE_ID_RE),
  action: z.enum(WAVE_ACTIONS, { error: 'must be halt, pause or resume' }),
  reason: text(MAX_REASON_CHARS),
  issuedAtMs: int()
})
export const waveOrderSchema: z.ZodType<WaveOrder> = waveOrderObject

const deviceOrderObject = z.strictObject({
  orderId: id(ORDER_ID_RE),
  deviceId: id(DEVICE_ID_RE),
  action: z.enum(DEVICE_ACTIONS, { error: 'must be rollback' }),
  reason: text(MAX_REASON_CHARS),
  issuedAtMs: int()
})
export const deviceOrderSchema: z.ZodType<DeviceOrder> = deviceOrderObject

const ackShape = {
  status: z.literal('ok'),
  ackedSeq: int(),
  orders: z.array(waveOrderObject).max(MAX_ORDERS)
}
const errorObject = z.strictObject({
  status: z.literal('error'),
  reason: z.enum(ERROR_REASONS, { error: 'unknown error reason' }),
  detail: text(MAX_REASON_CHARS)
})
const STATUS_ERROR = { error: 'status must be ok or error' }

/** 1.0.0: an answer with `deviceOrders` is malformed (an unknown member). */
export const reportResponseSchemaV1: z.ZodType<ReportResponse> = z.discriminatedUnion('status', [z.strictObject(ackShape), errorObject], STATUS_ERROR)
/** 1.1.0: `deviceOrders` may come with an ack. */
export const reportResponseSchemaV1_1: z.ZodType<ReportResponse> = z.discriminatedUnion('status', [
  z.strictObject({ ...ackShape, deviceOrders: z.array(deviceOrderObject).max(MAX_DEVICE_ORDERS).optional() }),
  errorObject
], STATUS_ERROR)

// --- parsing -----------------------------------------------------------------------------

/** Strict: a journal entry as SPEC.md "Journal entries" allows it. */
export function parseJournalEntry (x: unknown): JournalEntry {
  return parseWireMessage(journalEntrySchema, x, 'report journal entry')
}

export function parseLedgerDelta (x: unknown): LedgerDelta {
  return parseWireMessage(ledgerDeltaSchema, x, 'report ledger delta')
}

export function parseWaveOrder (x: unknown): WaveOrder {
  return parseWireMessage(waveOrderSchema, x, 'report order')
}

export function parseDeviceOrder (x: unknown): DeviceOrder {
  return parseWireMessage(deviceOrderSchema, x, 'report device order')
}

/** The batch's kind names it in errors, as SPEC.md's example answer shows. */
function requestLabel (x: unknown): string {
  const type = (x as { type?: unknown } | null)?.type
  return type === 'device-events' ? 'report device batch' : type === 'hub-ledger' ? 'report hub batch' : 'report request'
}

export function parseReportRequest (x: unknown): ReportRequest {
  return parseWireMessage(reportRequestSchema, x, requestLabel(x))
}

/** Which answer members a version knows: 1.0.0 refuses `deviceOrders` as unknown. */
export interface ResponseVersion {
  /** @default true (1.1.0) */
  deviceOrders?: boolean
}

function responseSchema (version: ResponseVersion): z.ZodType<ReportResponse> {
  return version.deviceOrders === false ? reportResponseSchemaV1 : reportResponseSchemaV1_1
}

export function parseReportResponse (x: unknown, version: ResponseVersion = {}): ReportResponse {
  return parseWireMessage(responseSchema(version), x, 'report response')
}

/** Optional string members of a journal entry and their limits (the schema's, for toWireEntry). */
const ENTRY_TEXT: ReadonlyArray<[keyof JournalEntry, number]> = [
  ['bundleId', 128], ['version', 64], ['installId', 128], ['from', 32], ['to', 32], ['event', 32],
  ['reason', MAX_REASON_CHARS], ['detail', MAX_ENTRY_TEXT_CHARS]
]

/**
 * The sender's side: an entry trimmed to what parseJournalEntry accepts. Unknown
 * members are dropped, long text cut, an invalid wave id moved into `data` (the entry
 * then counts for no wave), so a journal never holds an entry that blocks its uplink.
 */
export function toWireEntry (entry: JournalEntry): JournalEntry {
  const out: JournalEntry = {
    seq: entry.seq,
    at: String(entry.at).slice(0, 64),
    kind: KIND_RE.test(entry.kind) ? entry.kind : 'note'
  }
  const data: Record<string, string | number | boolean | null> = {}
  if (entry.waveId !== undefined) {
    if (WAVE_ID_RE.test(entry.waveId)) out.waveId = entry.waveId
    else data.invalidWaveId = String(entry.waveId).slice(0, 128)
  }
  if (typeof entry.step === 'number' && Number.isSafeInteger(entry.step) && entry.step >= 0) out.step = entry.step
  for (const [k, max] of ENTRY_TEXT) {
    const v = entry[k]
    if (typeof v === 'string') (out as unknown as Record<string, string>)[k] = v.slice(0, max)
  }
  for (const [k, v] of Object.entries(entry.data ?? {})) {
    if (Object.keys(data).length >= MAX_ENTRY_DATA_KEYS) break
    if (k.length > MAX_DATA_NAME_CHARS) continue
    if (typeof v === 'string') data[k] = v.slice(0, MAX_ENTRY_TEXT_CHARS)
    else if ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean' || v === null) data[k] = v
  }
  if (Object.keys(data).length > 0) out.data = data
  // an entry at the journal's own limit may still be over ours after JSON escaping: cut the detail
  if (entryBytes(out) > MAX_WIRE_ENTRY_BYTES) delete out.detail
  if (entryBytes(out) > MAX_WIRE_ENTRY_BYTES) delete out.data
  return out
}

export function entryBytes (e: unknown): number {
  return Buffer.byteLength(JSON.stringify(e))
}

// --- bytes ---------------------------------------------------------------------------------

const REQUEST = { label: 'report request', maxBytes: MAX_REPORT_REQUEST_BYTES }
const RESPONSE = { label: 'report response', maxBytes: MAX_REPORT_RESPONSE_BYTES }

export function encodeReportRequest (req: ReportRequest): Uint8Array {
  return encodeJsonMessage(req, reportRequestSchema, { ...REQUEST, label: requestLabel(req) })
}

export function decodeReportRequest (bytes: Uint8Array): ReportRequest {
  const req = decodeJsonMessage(bytes, z.unknown(), REQUEST)
  return parseReportRequest(req)
}

/**
 * Keeps the newest MAX_ORDERS orders, the oldest MAX_DEVICE_ORDERS device orders (none
 * for a 1.0.0 peer, and the member only when there are any) and cuts a long detail,
 * so an answer is always valid for the version asked.
 */
export function encodeReportResponse (res: ReportResponse, version: ResponseVersion = {}): Uint8Array {
  let out: ReportResponse
  if (res.status === 'ok') {
    const { deviceOrders, ...ack } = res
    out = { ...ack, orders: newestOrders(res.orders, MAX_ORDERS) }
    if (version.deviceOrders !== false && deviceOrders !== undefined && deviceOrders.length > 0) {
      out.deviceOrders = [...deviceOrders].sort((a, b) => a.issuedAtMs - b.issuedAtMs || a.orderId.localeCompare(b.orderId)).slice(0, MAX_DEVICE_ORDERS)
    }
  } else {
    out = { ...res, detail: res.detail.slice(0, MAX_REASON_CHARS) }
  }
  return encodeJsonMessage(out, responseSchema(version), RESPONSE)
}

export function decodeReportResponse (bytes: Uint8Array, version: ResponseVersion = {}): ReportResponse {
  return decodeJsonMessage(bytes, responseSchema(version), RESPONSE)
}

/** The `max` newest orders, newest first. */
export function newestOrders (orders: readonly WaveOrder[], max: number): WaveOrder[] {
  return [...orders].sort((a, b) => b.issuedAtMs - a.issuedAtMs || a.waveId.localeCompare(b.waveId)).slice(0, max)
}
