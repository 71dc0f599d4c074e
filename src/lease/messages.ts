/**
 * The two messages of `/storemesh/lease/1.0.0` (protocols/lease/SPEC.md "Messages"):
 * strict decoders that fail closed with E_WIRE_MALFORMED, and encoders that refuse to
 * put anything on the wire the other side's decoder would refuse.
 */
import { decodeUtf8Json, encodeBoundedJson } from '../net/json-message.js'
import { StoremeshError } from '../interface/errors.js'
import {
  BUNDLE_ID_RE, DEVICE_ID_RE, MAX_LEASE_DETAIL_CHARS, MAX_LEASE_REQUEST_BYTES, MAX_LEASE_RESPONSE_BYTES, MAX_WIRE_TTL_MS, WAVE_ID_RE
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
  'cap-reached', 'wave-budget', 'recovering', 'wrong-peer',
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

const LEASE_ID_RE = /^[0-9a-f]{32}$/
const REASON_RE = /^[a-z][a-z-]{0,31}$/
const REQUEST_KEYS = new Set(['op', 'deviceId', 'bundleId', 'waveId', 'ttlMs'])
const RESPONSE_KEYS = new Set(['granted', 'leaseId', 'expiresAtMs', 'ttlMs', 'retryAfterMs', 'active', 'limit', 'reason', 'detail'])

export function isLeaseId (x: unknown): x is string {
  return typeof x === 'string' && LEASE_ID_RE.test(x)
}

function malformed (what: string, why: string): never {
  throw new StoremeshError('E_WIRE_MALFORMED', `bad lease ${what}: ${why}`)
}

function asObject (x: unknown, what: string, allowed: ReadonlySet<string>): Record<string, unknown> {
  if (x === null || typeof x !== 'object' || Array.isArray(x)) malformed(what, 'not an object')
  for (const k of Object.keys(x)) if (!allowed.has(k)) malformed(what, `unknown member ${JSON.stringify(k.slice(0, 32))}`)
  return x as Record<string, unknown>
}

function count (x: unknown, what: string, name: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0 || x > max) malformed(what, `${name} must be an integer in [0, ${max}]`)
  return x
}

function text (x: unknown, re: RegExp, what: string, name: string): string {
  if (typeof x !== 'string' || !re.test(x)) malformed(what, `invalid ${name}`)
  return x
}

/** Strict: exactly the members of SPEC.md, each well formed; anything else is E_WIRE_MALFORMED. */
export function parseLeaseRequest (x: unknown): LeaseRequest {
  const o = asObject(x, 'request', REQUEST_KEYS)
  if (typeof o.op !== 'string' || !(LEASE_OPS as readonly string[]).includes(o.op)) malformed('request', 'op must be acquire, renew or release')
  const req: LeaseRequest = {
    op: o.op as LeaseOp,
    deviceId: text(o.deviceId, DEVICE_ID_RE, 'request', 'deviceId'),
    bundleId: text(o.bundleId, BUNDLE_ID_RE, 'request', 'bundleId'),
    waveId: text(o.waveId, WAVE_ID_RE, 'request', 'waveId')
  }
  if (o.ttlMs !== undefined) {
    req.ttlMs = count(o.ttlMs, 'request', 'ttlMs', MAX_WIRE_TTL_MS)
    if (req.ttlMs === 0) malformed('request', 'ttlMs must be positive')
  }
  return req
}

export function parseLeaseResponse (x: unknown): LeaseResponse {
  const o = asObject(x, 'response', RESPONSE_KEYS)
  if (typeof o.granted !== 'boolean') malformed('response', 'granted must be a boolean')
  const res: LeaseResponse = {
    granted: o.granted,
    active: count(o.active, 'response', 'active'),
    limit: count(o.limit, 'response', 'limit'),
    reason: text(o.reason, REASON_RE, 'response', 'reason')
  }
  if (o.leaseId !== undefined) res.leaseId = text(o.leaseId, LEASE_ID_RE, 'response', 'leaseId')
  if (o.expiresAtMs !== undefined) res.expiresAtMs = count(o.expiresAtMs, 'response', 'expiresAtMs')
  if (o.ttlMs !== undefined) res.ttlMs = count(o.ttlMs, 'response', 'ttlMs', MAX_WIRE_TTL_MS)
  if (o.retryAfterMs !== undefined) res.retryAfterMs = count(o.retryAfterMs, 'response', 'retryAfterMs', MAX_WIRE_TTL_MS)
  if (o.detail !== undefined) {
    if (typeof o.detail !== 'string' || o.detail.length > MAX_LEASE_DETAIL_CHARS) malformed('response', 'detail too long')
    res.detail = o.detail
  }
  if (res.granted && (res.leaseId === undefined || res.expiresAtMs === undefined || res.ttlMs === undefined || res.ttlMs === 0)) {
    malformed('response', 'a grant must carry leaseId, expiresAtMs and a positive ttlMs')
  }
  return res
}

function decodeJson (bytes: Uint8Array, what: string): unknown {
  try {
    return decodeUtf8Json(bytes)
  } catch {
    return malformed(what, 'not UTF-8 JSON')
  }
}

function encodeJson (x: unknown, what: string, maxBytes: number): Uint8Array {
  return encodeBoundedJson(x, `lease ${what}`, maxBytes)
}

export function encodeLeaseRequest (req: LeaseRequest): Uint8Array {
  return encodeJson(parseLeaseRequest(req), 'request', MAX_LEASE_REQUEST_BYTES)
}

export function decodeLeaseRequest (bytes: Uint8Array): LeaseRequest {
  return parseLeaseRequest(decodeJson(bytes, 'request'))
}

/** Cuts `detail` to its limit, so a long error message never makes a response invalid. */
export function encodeLeaseResponse (res: LeaseResponse): Uint8Array {
  const out = res.detail !== undefined && res.detail.length > MAX_LEASE_DETAIL_CHARS
    ? { ...res, detail: res.detail.slice(0, MAX_LEASE_DETAIL_CHARS) }
    : res
  return encodeJson(parseLeaseResponse(out), 'response', MAX_LEASE_RESPONSE_BYTES)
}

export function decodeLeaseResponse (bytes: Uint8Array): LeaseResponse {
  return parseLeaseResponse(decodeJson(bytes, 'response'))
}
