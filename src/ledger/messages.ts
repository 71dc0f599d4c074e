/**
 * The messages of `/storemesh/report/1.0.0` (protocols/report/SPEC.md "Messages"):
 * strict decoders that fail closed with E_WIRE_MALFORMED, encoders that refuse to put
 * on the wire what the other side would refuse, and `toWireEntry()`, which trims a
 * journal entry to the wire schema so one odd entry can never stall a device's uplink.
 */
import { decodeUtf8Json, encodeBoundedJson } from '../net/json-message.js'
import { StoremeshError } from '../interface/errors.js'
import type { JournalEntry } from '../interface/types.js'
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

// --- helpers ---------------------------------------------------------------------------

function malformed (what: string, why: string): never {
  throw new StoremeshError('E_WIRE_MALFORMED', `bad report ${what}: ${why}`)
}

function asObject (x: unknown, what: string, allowed: ReadonlySet<string>): Record<string, unknown> {
  if (x === null || typeof x !== 'object' || Array.isArray(x)) malformed(what, 'not an object')
  for (const k of Object.keys(x)) if (!allowed.has(k)) malformed(what, `unknown member ${JSON.stringify(k.slice(0, 32))}`)
  return x as Record<string, unknown>
}

function int (x: unknown, what: string, name: string, min = 0): number {
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < min) malformed(what, `${name} must be an integer >= ${min}`)
  return x
}

function match (x: unknown, re: RegExp, what: string, name: string): string {
  if (typeof x !== 'string' || !re.test(x)) malformed(what, `invalid ${name}`)
  return x
}

function text (x: unknown, max: number, what: string, name: string): string {
  if (typeof x !== 'string' || x.length > max) malformed(what, `${name} must be a string of at most ${max} characters`)
  return x
}

function list (x: unknown, max: number, what: string, name: string): unknown[] {
  if (!Array.isArray(x)) malformed(what, `${name} must be an array`)
  if (x.length > max) malformed(what, `${name} has ${x.length} items, limit ${max}`)
  return x
}

// --- journal entries ----------------------------------------------------------------------

const ENTRY_KEYS = new Set(['seq', 'at', 'kind', 'waveId', 'bundleId', 'version', 'installId', 'step', 'from', 'to', 'event', 'reason', 'detail', 'data'])
/** optional string members and their limits */
const ENTRY_TEXT: ReadonlyArray<[keyof JournalEntry, number]> = [
  ['bundleId', 128], ['version', 64], ['installId', 128], ['from', 32], ['to', 32], ['event', 32],
  ['reason', MAX_REASON_CHARS], ['detail', MAX_ENTRY_TEXT_CHARS]
]

function parseData (x: unknown, what: string): Record<string, string | number | boolean | null> {
  if (x === null || typeof x !== 'object' || Array.isArray(x)) malformed(what, 'data must be an object')
  const keys = Object.keys(x)
  if (keys.length > MAX_ENTRY_DATA_KEYS) malformed(what, `data has more than ${MAX_ENTRY_DATA_KEYS} members`)
  const out: Record<string, string | number | boolean | null> = {}
  for (const k of keys) {
    const v = (x as Record<string, unknown>)[k]
    if (k.length > 64) malformed(what, 'data member name too long')
    if (typeof v === 'string') out[k] = text(v, MAX_ENTRY_TEXT_CHARS, what, `data.${k}`)
    else if (typeof v === 'number' && Number.isFinite(v)) out[k] = v
    else if (typeof v === 'boolean' || v === null) out[k] = v
    else malformed(what, `data.${k.slice(0, 32)} must be a string, finite number, boolean or null`)
  }
  return out
}

/** Strict: a journal entry as SPEC.md "Journal entries" allows it. */
export function parseJournalEntry (x: unknown): JournalEntry {
  const what = 'journal entry'
  const o = asObject(x, what, ENTRY_KEYS)
  const e: JournalEntry = {
    seq: int(o.seq, what, 'seq', 1),
    at: text(o.at, 64, what, 'at'),
    kind: match(o.kind, KIND_RE, what, 'kind')
  }
  if (o.waveId !== undefined) e.waveId = match(o.waveId, WAVE_ID_RE, what, 'waveId')
  if (o.step !== undefined) e.step = int(o.step, what, 'step')
  for (const [k, max] of ENTRY_TEXT) {
    if (o[k] !== undefined) (e as unknown as Record<string, string>)[k] = text(o[k], max, what, k)
  }
  if (o.data !== undefined) e.data = parseData(o.data, what)
  return e
}

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
    if (k.length > 64) continue
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

// --- requests --------------------------------------------------------------------------------

const DEVICE_BATCH_KEYS = new Set(['type', 'deviceId', 'entries'])
const HUB_BATCH_KEYS = new Set(['type', 'hubId', 'epoch', 'entries'])
const DELTA_KEYS = new Set(['seq', 'waveId', 'deviceId', 'state', 'gate', 'version', 'atMs'])

function increasing (seqs: number[], what: string): void {
  for (let i = 1; i < seqs.length; i++) if (seqs[i]! <= seqs[i - 1]!) malformed(what, 'entries must have strictly increasing seq')
}

export function parseLedgerDelta (x: unknown): LedgerDelta {
  const what = 'ledger delta'
  const o = asObject(x, what, DELTA_KEYS)
  if (typeof o.state !== 'string' || !(DEVICE_WAVE_STATES as readonly string[]).includes(o.state)) malformed(what, 'unknown state')
  const d: LedgerDelta = {
    seq: int(o.seq, what, 'seq', 1),
    waveId: match(o.waveId, WAVE_ID_RE, what, 'waveId'),
    deviceId: match(o.deviceId, DEVICE_ID_RE, what, 'deviceId'),
    state: o.state as DeviceWaveState,
    version: int(o.version, what, 'version'),
    atMs: int(o.atMs, what, 'atMs')
  }
  if (o.gate !== undefined) d.gate = match(o.gate, GATE_RE, what, 'gate')
  return d
}

export function parseReportRequest (x: unknown): ReportRequest {
  if (x !== null && typeof x === 'object' && (x as { type?: unknown }).type === 'device-events') {
    const o = asObject(x, 'device batch', DEVICE_BATCH_KEYS)
    const entries = list(o.entries, MAX_BATCH_ENTRIES, 'device batch', 'entries').map(e => {
      if (entryBytes(e) > MAX_WIRE_ENTRY_BYTES) malformed('journal entry', `larger than ${MAX_WIRE_ENTRY_BYTES} bytes`)
      return parseJournalEntry(e)
    })
    increasing(entries.map(e => e.seq), 'device batch')
    return { type: 'device-events', deviceId: match(o.deviceId, DEVICE_ID_RE, 'device batch', 'deviceId'), entries }
  }
  if (x !== null && typeof x === 'object' && (x as { type?: unknown }).type === 'hub-ledger') {
    const o = asObject(x, 'hub batch', HUB_BATCH_KEYS)
    const entries = list(o.entries, MAX_BATCH_ENTRIES, 'hub batch', 'entries').map(parseLedgerDelta)
    increasing(entries.map(e => e.seq), 'hub batch')
    return {
      type: 'hub-ledger',
      hubId: match(o.hubId, HUB_ID_RE, 'hub batch', 'hubId'),
      epoch: match(o.epoch, EPOCH_RE, 'hub batch', 'epoch'),
      entries
    }
  }
  return malformed('request', 'type must be device-events or hub-ledger')
}

// --- responses and orders -------------------------------------------------------------------

const ORDER_KEYS = new Set(['waveId', 'action', 'reason', 'issuedAtMs'])
const DEVICE_ORDER_KEYS = new Set(['orderId', 'deviceId', 'action', 'reason', 'issuedAtMs'])
const ACK_KEYS = new Set(['status', 'ackedSeq', 'orders'])
const ACK_KEYS_V1_1 = new Set([...ACK_KEYS, 'deviceOrders'])

/** Which answer members a version knows: 1.0.0 refuses `deviceOrders` as unknown. */
export interface ResponseVersion {
  /** @default true (1.1.0) */
  deviceOrders?: boolean
}
const ERROR_KEYS = new Set(['status', 'reason', 'detail'])

export function parseWaveOrder (x: unknown): WaveOrder {
  const what = 'order'
  const o = asObject(x, what, ORDER_KEYS)
  if (typeof o.action !== 'string' || !(WAVE_ACTIONS as readonly string[]).includes(o.action)) malformed(what, 'action must be halt, pause or resume')
  return {
    waveId: match(o.waveId, WAVE_ID_RE, what, 'waveId'),
    action: o.action as WaveAction,
    reason: text(o.reason, MAX_REASON_CHARS, what, 'reason'),
    issuedAtMs: int(o.issuedAtMs, what, 'issuedAtMs')
  }
}

export function parseDeviceOrder (x: unknown): DeviceOrder {
  const what = 'device order'
  const o = asObject(x, what, DEVICE_ORDER_KEYS)
  if (typeof o.action !== 'string' || !(DEVICE_ACTIONS as readonly string[]).includes(o.action)) malformed(what, 'action must be rollback')
  return {
    orderId: match(o.orderId, ORDER_ID_RE, what, 'orderId'),
    deviceId: match(o.deviceId, DEVICE_ID_RE, what, 'deviceId'),
    action: o.action as DeviceAction,
    reason: text(o.reason, MAX_REASON_CHARS, what, 'reason'),
    issuedAtMs: int(o.issuedAtMs, what, 'issuedAtMs')
  }
}

export function parseReportResponse (x: unknown, version: ResponseVersion = {}): ReportResponse {
  if (x !== null && typeof x === 'object' && (x as { status?: unknown }).status === 'ok') {
    const o = asObject(x, 'response', version.deviceOrders === false ? ACK_KEYS : ACK_KEYS_V1_1)
    const ack: ReportAck = {
      status: 'ok',
      ackedSeq: int(o.ackedSeq, 'response', 'ackedSeq'),
      orders: list(o.orders, MAX_ORDERS, 'response', 'orders').map(parseWaveOrder)
    }
    if (o.deviceOrders !== undefined) ack.deviceOrders = list(o.deviceOrders, MAX_DEVICE_ORDERS, 'response', 'deviceOrders').map(parseDeviceOrder)
    return ack
  }
  if (x !== null && typeof x === 'object' && (x as { status?: unknown }).status === 'error') {
    const o = asObject(x, 'response', ERROR_KEYS)
    if (typeof o.reason !== 'string' || !(ERROR_REASONS as readonly string[]).includes(o.reason)) malformed('response', 'unknown error reason')
    return { status: 'error', reason: o.reason as ReportErrorReason, detail: text(o.detail, MAX_REASON_CHARS, 'response', 'detail') }
  }
  return malformed('response', 'status must be ok or error')
}

// --- bytes ---------------------------------------------------------------------------------

function decodeJson (bytes: Uint8Array, what: string): unknown {
  try {
    return decodeUtf8Json(bytes)
  } catch {
    return malformed(what, 'not UTF-8 JSON')
  }
}

function encodeJson (x: unknown, what: string, maxBytes: number): Uint8Array {
  return encodeBoundedJson(x, `report ${what}`, maxBytes)
}

export function encodeReportRequest (req: ReportRequest): Uint8Array {
  return encodeJson(parseReportRequest(req), 'request', MAX_REPORT_REQUEST_BYTES)
}

export function decodeReportRequest (bytes: Uint8Array): ReportRequest {
  return parseReportRequest(decodeJson(bytes, 'request'))
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
  return encodeJson(parseReportResponse(out, version), 'response', MAX_REPORT_RESPONSE_BYTES)
}

export function decodeReportResponse (bytes: Uint8Array, version: ResponseVersion = {}): ReportResponse {
  return parseReportResponse(decodeJson(bytes, 'response'), version)
}

/** The `max` newest orders, newest first. */
export function newestOrders (orders: readonly WaveOrder[], max: number): WaveOrder[] {
  return [...orders].sort((a, b) => b.issuedAtMs - a.issuedAtMs || a.waveId.localeCompare(b.waveId)).slice(0, max)
}
