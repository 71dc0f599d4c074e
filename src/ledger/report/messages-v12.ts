/**
 * What `/storemesh/report/1.2.0` adds to 1.1.0 (protocols/report/SPEC.md "1.2.0"):
 *
 *   request  `waitMs` (hold me until something for me changes), `have` (what I hold:
 *            order cursor, root / revocation list / timestamp versions), `ackOrders`
 *            (fleet orders I stored durably), `holdings` (hub-ledger only: the
 *            bundles the store hub holds, chunks held of total, complete or not)
 *   answer   `orderCursor` (a digest of the orders this answer carries), `fleetOrders`
 *            (bundle hold / release / prestage, device rollback), `trust` (roots after
 *            the asker's version, the revocation list, the timestamp statement)
 *
 * The 1.1.0 members are checked by messages.ts's strict schemas; the new members by the
 * strict schemas here; the signed documents by their own strict schemas (identity/),
 * and the receiver verifies their signatures with the existing verifiers. Anything
 * else is E_WIRE_MALFORMED, as for every version.
 */
import { createHash } from 'node:crypto'
import { z } from 'zod'
import { StoremeshError } from '../../interface/errors.js'
import { BUNDLE_ID_RE } from '../../interface/ids.js'
import { MAX_REVOCATION_LIST_BYTES } from '../../identity/constants.js'
import { revocationListSchema, type RevocationList } from '../../identity/revocation.js'
import { MAX_ROOT_BYTES, MAX_TIMESTAMP_BYTES } from '../../identity/root/constants.js'
import { rootDocumentSchema, type RootDocument } from '../../identity/root/document.js'
import { timestampSchema, type Timestamp } from '../../identity/root/timestamp.js'
import { decodeJsonMessage, encodeJsonMessage, parseWireMessage } from '../../net/json-message.js'
import {
  DEVICE_ID_RE, HUB_ID_RE, MAX_FLEET_ORDERS, MAX_HOLDINGS_BUNDLES, MAX_HOLDINGS_CHUNKS, MAX_ORDER_ACKS, MAX_REASON_CHARS, MAX_REPORT_REQUEST_BYTES, MAX_REPORT_ROOTS,
  MAX_REPORT_V1_2_RESPONSE_BYTES, MAX_REPORT_WAIT_MS, ORDER_CURSOR_RE, ORDER_ID_RE
} from './constants.js'
import {
  encodeReportRequest, encodeReportResponse, parseReportRequest, parseReportResponse,
  type ReportAck, type ReportRequest, type ReportResponse
} from './messages.js'

export const FLEET_ORDER_ACTIONS = ['hold', 'release', 'prestage', 'rollback'] as const
export type FleetOrderAction = typeof FLEET_ORDER_ACTIONS[number]

/**
 * A fleet order to one store hub: `hold` / `release` / `prestage` name a bundle,
 * `rollback` a device of that store. The hub stores it durably, acks it in its next
 * request (`ackOrders`) and acts on it; the super hub repeats it until acked.
 */
export interface FleetOrderWire {
  orderId: string
  action: FleetOrderAction
  /** hold, release, prestage */
  bundleId?: string
  /** rollback: the store (hub id) and the device */
  storeId?: string
  deviceId?: string
  reason: string
  /** ms since epoch, the issuer's clock */
  issuedAtMs: number
}

/** What the asker holds; the answer then carries only what is newer. */
export interface Have {
  /** the `orderCursor` of the last answer it applied */
  orderCursor?: string
  /** its root of trust's version (0: the static keys) */
  rootVersion?: number
  /** its revocation list's version (0: none) */
  revocationVersion?: number
  /** its newest timestamp statement's `issuedAt`, ms (0: none) */
  timestampIssuedMs?: number
}

/** One bundle a store hub holds (SPEC.md "1.2.0" `holdings`). */
export interface BundleHolding {
  bundleId: string
  /** chunks of the bundle on the hub's disk, verified (a chunk held for another bundle counts) */
  heldChunks: number
  totalChunks: number
  /** every chunk held and the bundle recorded complete (or verified) in the hub's store */
  complete: boolean
}

/** What a store hub holds, as of `atMs` (its clock): the latest replaces the earlier at the receiver. */
export interface Holdings {
  atMs: number
  bundles: BundleHolding[]
}

export interface PollExtras {
  /** hold the request up to this long while nothing for the asker changes; 0 or absent: answer at once */
  waitMs?: number
  have?: Have
  /** fleet orders stored durably since the last answer */
  ackOrders?: string[]
  /** hub-ledger requests only: the store hub's bundle holdings (pre-staging, availability) */
  holdings?: Holdings
}

export type ReportRequestV12 = ReportRequest & PollExtras

/** Signed documents for the asker, each its own envelope; the receiver verifies them. */
export interface TrustNews {
  /** roots after `have.rootVersion`, in version order */
  roots?: RootDocument[]
  /** the revocation list, when newer than `have.revocationVersion` */
  revocations?: RevocationList
  /** the newest timestamp statement, when newer than `have.timestampIssuedMs` */
  timestamp?: Timestamp
}

export interface AnswerExtras {
  /** a digest of the orders (wave, device, fleet) the answer carries: the asker's `have.orderCursor` next time */
  orderCursor: string
  fleetOrders?: FleetOrderWire[]
  trust?: TrustNews
}

export type ReportAckV12 = ReportAck & Partial<AnswerExtras>
export type ReportResponseV12 = ReportAckV12 | Exclude<ReportResponse, ReportAck>

// --- schemas -------------------------------------------------------------------------------

const int = (min = 0): z.ZodNumber => z.number().int().min(min).max(Number.MAX_SAFE_INTEGER)
const id = (re: RegExp): z.ZodString => z.string().regex(re, 'malformed')

const haveObject = z.strictObject({
  orderCursor: id(ORDER_CURSOR_RE).optional(),
  rootVersion: int().optional(),
  revocationVersion: int().optional(),
  timestampIssuedMs: int().optional()
})

const holdingObject = z.strictObject({
  bundleId: id(BUNDLE_ID_RE),
  heldChunks: int().max(MAX_HOLDINGS_CHUNKS),
  totalChunks: int(1).max(MAX_HOLDINGS_CHUNKS),
  complete: z.boolean()
}).superRefine((h, ctx) => {
  if (h.heldChunks > h.totalChunks) ctx.addIssue({ code: 'custom', message: 'more chunks held than the bundle has', path: ['heldChunks'] })
  if (h.complete && h.heldChunks !== h.totalChunks) ctx.addIssue({ code: 'custom', message: 'complete with chunks missing', path: ['complete'] })
})

const holdingsObject = z.strictObject({
  atMs: int(),
  bundles: z.array(holdingObject).max(MAX_HOLDINGS_BUNDLES)
    .refine(xs => new Set(xs.map(x => x.bundleId)).size === xs.length, 'the same bundle twice')
})

const pollExtrasObject = z.strictObject({
  waitMs: int().max(MAX_REPORT_WAIT_MS).optional(),
  have: haveObject.optional(),
  ackOrders: z.array(id(ORDER_ID_RE)).max(MAX_ORDER_ACKS).refine(xs => new Set(xs).size === xs.length, 'duplicate order id').optional(),
  holdings: holdingsObject.optional()
})

const fleetOrderObject = z.strictObject({
  orderId: id(ORDER_ID_RE),
  action: z.enum(FLEET_ORDER_ACTIONS, { error: 'must be hold, release, prestage or rollback' }),
  bundleId: id(BUNDLE_ID_RE).optional(),
  storeId: id(HUB_ID_RE).optional(),
  deviceId: id(DEVICE_ID_RE).optional(),
  reason: z.string().max(MAX_REASON_CHARS),
  issuedAtMs: int()
}).superRefine((o, ctx) => {
  // exactly the target its action names: a bundle, or a store's device
  const wantsDevice = o.action === 'rollback'
  const check = (member: 'bundleId' | 'storeId' | 'deviceId', wanted: boolean): void => {
    if (wanted && o[member] === undefined) ctx.addIssue({ code: 'custom', message: `required for ${o.action}`, path: [member] })
    if (!wanted && o[member] !== undefined) ctx.addIssue({ code: 'custom', message: `not allowed for ${o.action}`, path: [member] })
  }
  check('bundleId', !wantsDevice)
  check('storeId', wantsDevice)
  check('deviceId', wantsDevice)
})
export const fleetOrderSchema: z.ZodType<FleetOrderWire> = fleetOrderObject as unknown as z.ZodType<FleetOrderWire>

/** A signed document of at most `maxBytes` as JSON, checked by size before its members. */
function sized<T> (schema: z.ZodType<T>, maxBytes: number): z.ZodType<T> {
  return z.unknown()
    .refine(v => Buffer.byteLength(JSON.stringify(v) ?? '') <= maxBytes, `larger than ${maxBytes} bytes`)
    .pipe(schema) as unknown as z.ZodType<T>
}

const trustObject = z.strictObject({
  roots: z.array(sized(rootDocumentSchema, MAX_ROOT_BYTES)).min(1).max(MAX_REPORT_ROOTS)
    .refine(rs => rs.every((r, i) => i === 0 || r.signed.version === rs[i - 1]!.signed.version + 1), 'must be consecutive versions').optional(),
  revocations: sized(revocationListSchema, MAX_REVOCATION_LIST_BYTES).optional(),
  timestamp: sized(timestampSchema, MAX_TIMESTAMP_BYTES).optional()
})

const answerExtrasObject = z.strictObject({
  orderCursor: id(ORDER_CURSOR_RE),
  fleetOrders: z.array(fleetOrderObject).min(1).max(MAX_FLEET_ORDERS).optional(),
  trust: trustObject.optional()
})

// --- splitting a message into its 1.1.0 part and its 1.2.0 part ------------------------------

const POLL_MEMBERS = ['waitMs', 'have', 'ackOrders', 'holdings'] as const
const ANSWER_MEMBERS = ['orderCursor', 'fleetOrders', 'trust'] as const

function isPlainObject (x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === 'object' && !Array.isArray(x)
}

/** [the members not named, the members named]; own members only, so `__proto__` is data. */
function split (x: Record<string, unknown>, names: readonly string[]): [Record<string, unknown>, Record<string, unknown>] {
  const rest: Record<string, unknown> = {}
  const picked: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(x)) Object.defineProperty(names.includes(k) ? picked : rest, k, { value: v, enumerable: true, writable: true, configurable: true })
  return [rest, picked]
}

/** Strict: a 1.1.0 batch plus the optional poll members. */
export function parseReportRequestV12 (x: unknown): ReportRequestV12 {
  if (!isPlainObject(x)) return parseReportRequest(x)
  const [rest, extras] = split(x, POLL_MEMBERS)
  const req = parseReportRequest(rest)
  const out: ReportRequestV12 = { ...req, ...parseWireMessage(pollExtrasObject, extras, 'report request') }
  // a device holds no store's bundles: holdings come from store hubs only
  if (out.holdings !== undefined && out.type !== 'hub-ledger') {
    throw new StoremeshError('E_WIRE_MALFORMED', 'bad report request: holdings: only a hub-ledger request carries holdings', { message: 'report request', field: 'holdings' })
  }
  return out
}

/** Strict: an error answer exactly as 1.1.0; an ok answer with `orderCursor` and the optional 1.2.0 members. */
export function parseReportResponseV12 (x: unknown): ReportResponseV12 {
  if (!isPlainObject(x) || x.status !== 'ok') return parseReportResponse(x)
  const [rest, extras] = split(x, ANSWER_MEMBERS)
  const ack = parseReportResponse(rest) as ReportAck
  return { ...ack, ...parseWireMessage(answerExtrasObject, extras, 'report response') } as ReportAckV12
}

const REQUEST = { label: 'report request', maxBytes: MAX_REPORT_REQUEST_BYTES }
const RESPONSE = { label: 'report response', maxBytes: MAX_REPORT_V1_2_RESPONSE_BYTES }

export function decodeReportRequestV12 (bytes: Uint8Array): ReportRequestV12 {
  return parseReportRequestV12(decodeJsonMessage(bytes, z.unknown(), REQUEST))
}

export function decodeReportResponseV12 (bytes: Uint8Array): ReportResponseV12 {
  return parseReportResponseV12(decodeJsonMessage(bytes, z.unknown(), RESPONSE))
}

const utf8 = (b: Uint8Array): string => new TextDecoder().decode(b)

/** The 1.1.0 encoding of the batch, the poll members appended: both halves checked by their schemas. */
export function encodeReportRequestV12 (req: ReportRequestV12): Uint8Array {
  const [base, extras] = split(req as unknown as Record<string, unknown>, POLL_MEMBERS)
  const head = JSON.parse(utf8(encodeReportRequest(base as unknown as ReportRequest))) as Record<string, unknown>
  return encodeJsonMessage({ ...head, ...parseWireMessage(pollExtrasObject, extras, 'report request') }, z.unknown(), REQUEST)
}

/**
 * The order cursor of an answer: the first 16 bytes of SHA-256 over the orders it
 * carries, in wire order. Equal orders give equal cursors, so a held request can
 * tell that nothing changed for its asker.
 */
export function orderCursorOf (ack: Pick<ReportAckV12, 'orders' | 'deviceOrders' | 'fleetOrders'>): string {
  const body = JSON.stringify([ack.orders, ack.deviceOrders ?? [], ack.fleetOrders ?? []])
  return createHash('sha256').update(body).digest('hex').slice(0, 32)
}

/**
 * An answer for 1.2.0: the 1.1.0 encoding (newest wave orders, oldest device orders),
 * then the oldest MAX_FLEET_ORDERS fleet orders, the trust news, and the cursor over
 * what the answer carries. An error answer is exactly 1.1.0's.
 */
export function encodeReportResponseV12 (res: ReportResponseV12): Uint8Array {
  if (res.status !== 'ok') return encodeReportResponse(res, { deviceOrders: true })
  const [base, extras] = split(res as unknown as Record<string, unknown>, ANSWER_MEMBERS)
  const head = JSON.parse(utf8(encodeReportResponse(base as unknown as ReportAck, { deviceOrders: true }))) as ReportAckV12
  const fleetOrders = [...(extras.fleetOrders as FleetOrderWire[] | undefined ?? [])]
    .sort((a, b) => a.issuedAtMs - b.issuedAtMs || a.orderId.localeCompare(b.orderId)).slice(0, MAX_FLEET_ORDERS)
  const trust = extras.trust as TrustNews | undefined
  const out: Record<string, unknown> = { ...head, orderCursor: orderCursorOf({ ...head, fleetOrders }) }
  if (fleetOrders.length > 0) out.fleetOrders = fleetOrders
  if (trust !== undefined) {
    const t: TrustNews = {}
    if (trust.roots !== undefined && trust.roots.length > 0) t.roots = trust.roots.slice(0, MAX_REPORT_ROOTS)
    if (trust.revocations !== undefined) t.revocations = trust.revocations
    if (trust.timestamp !== undefined) t.timestamp = trust.timestamp
    if (Object.keys(t).length > 0) out.trust = t
  }
  parseReportResponseV12(out)
  return encodeJsonMessage(out, z.unknown(), RESPONSE)
}
