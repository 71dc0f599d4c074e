/**
 * The two messages of `/storemesh/lease/1.0.0` (protocols/lease/SPEC.md "Request",
 * "Response"), as zod schemas: the one place they are validated. Decoders fail closed
 * with E_WIRE_MALFORMED (src/net/json-message.ts); encoders run the same schema, so
 * nothing goes on the wire the other side's decoder would refuse.
 */
import { z } from 'zod'
import { decodeJsonMessage, encodeJsonMessage, parseWireMessage } from '../../net/json-message.js'
import {
  BUNDLE_ID_RE, DEVICE_ID_RE, LEASE_ID_RE, MAX_LEASE_DETAIL_CHARS, MAX_LEASE_REQUEST_BYTES, MAX_LEASE_RESPONSE_BYTES, MAX_WIRE_TTL_MS,
  REASON_RE, WAVE_ID_RE
} from './constants.js'

export const LEASE_OPS = ['acquire', 'renew', 'release'] as const
export type LeaseOp = typeof LEASE_OPS[number]

export interface LeaseRequest {
  op: LeaseOp
  deviceId: string
  bundleId: string
  waveId: string
  /** asked lifetime; the hub clamps it to its own bounds */
  ttlMs?: number
}

/**
 * Stable reason codes (SPEC.md "Reasons"). A client acts on `granted`; an unknown
 * reason with `granted: false` is a denial.
 */
export const LEASE_REASONS = [
  'granted', 'existing', 'renewed', 'released', 'not-held',
  'cap-reached', 'wave-budget', 'recovering', 'wrong-peer', 'held', 'wave-held',
  'bad-request', 'hub-error'
] as const
export type LeaseReason = typeof LEASE_REASONS[number]
/** Reasons that mean the request itself failed: the client throws E_PEER_ERROR. */
export const ERROR_REASONS: ReadonlySet<string> = new Set<LeaseReason>(['bad-request', 'hub-error'])

export interface LeaseResponse {
  /** the asking device holds a lease after this exchange */
  granted: boolean
  leaseId?: string
  /** hub clock, ms since epoch: informational; devices count `ttlMs` on their own clock */
  expiresAtMs?: number
  /** the lifetime granted from the moment the hub answered */
  ttlMs?: number
  /** denied: ask again after this long (the device adds jitter) */
  retryAfterMs?: number
  /** leases active on the hub after this exchange */
  active: number
  /** the hub's cap of concurrent leases */
  limit: number
  reason: LeaseReason | (string & {})
  /** for logs only; never parse it */
  detail?: string
}

/** A count or a time in ms: a safe integer in [0, max]. */
const count = (max = Number.MAX_SAFE_INTEGER): z.ZodNumber => z.number().int().min(0).max(max)

/** Exactly the members of SPEC.md "Request", each well formed. */
export const leaseRequestSchema: z.ZodType<LeaseRequest> = z.strictObject({
  op: z.enum(LEASE_OPS, { error: 'must be acquire, renew or release' }),
  deviceId: z.string().regex(DEVICE_ID_RE, 'malformed'),
  bundleId: z.string().regex(BUNDLE_ID_RE, 'malformed'),
  waveId: z.string().regex(WAVE_ID_RE, 'malformed'),
  ttlMs: count(MAX_WIRE_TTL_MS).min(1, 'must be positive').optional()
})

/** SPEC.md "Response"; a grant must carry leaseId, expiresAtMs and a positive ttlMs. */
export const leaseResponseSchema: z.ZodType<LeaseResponse> = z.strictObject({
  granted: z.boolean(),
  active: count(),
  limit: count(),
  reason: z.string().regex(REASON_RE, 'malformed'),
  leaseId: z.string().regex(LEASE_ID_RE, 'malformed').optional(),
  expiresAtMs: count().optional(),
  ttlMs: count(MAX_WIRE_TTL_MS).optional(),
  retryAfterMs: count(MAX_WIRE_TTL_MS).optional(),
  detail: z.string().max(MAX_LEASE_DETAIL_CHARS, 'too long').optional()
}).refine(r => !r.granted || (r.leaseId !== undefined && r.expiresAtMs !== undefined && r.ttlMs !== undefined && r.ttlMs > 0),
  'a grant must carry leaseId, expiresAtMs and a positive ttlMs')

const REQUEST = { label: 'lease request', maxBytes: MAX_LEASE_REQUEST_BYTES }
const RESPONSE = { label: 'lease response', maxBytes: MAX_LEASE_RESPONSE_BYTES }

export function isLeaseId (x: unknown): x is string {
  return typeof x === 'string' && LEASE_ID_RE.test(x)
}

/** Strict: exactly the members of SPEC.md, each well formed; anything else is E_WIRE_MALFORMED. */
export function parseLeaseRequest (x: unknown): LeaseRequest {
  return parseWireMessage(leaseRequestSchema, x, REQUEST.label)
}

export function parseLeaseResponse (x: unknown): LeaseResponse {
  return parseWireMessage(leaseResponseSchema, x, RESPONSE.label)
}

export function encodeLeaseRequest (req: LeaseRequest): Uint8Array {
  return encodeJsonMessage(req, leaseRequestSchema, REQUEST)
}

export function decodeLeaseRequest (bytes: Uint8Array): LeaseRequest {
  return decodeJsonMessage(bytes, leaseRequestSchema, REQUEST)
}

/** Cuts `detail` to its limit, so a long error message never makes a response invalid. */
export function encodeLeaseResponse (res: LeaseResponse): Uint8Array {
  const out = res.detail !== undefined && res.detail.length > MAX_LEASE_DETAIL_CHARS
    ? { ...res, detail: res.detail.slice(0, MAX_LEASE_DETAIL_CHARS) }
    : res
  return encodeJsonMessage(out, leaseResponseSchema, RESPONSE)
}

export function decodeLeaseResponse (bytes: Uint8Array): LeaseResponse {
  return decodeJsonMessage(bytes, leaseResponseSchema, RESPONSE)
}
