/**
 * What a node decides about a presented certificate (protocols/identity/SPEC.md
 * "Verification"), as pure functions: no clock but `nowMs`, no I/O. The checks run in
 * the spec's order and the first failure is the answer, with a stable code that the
 * refusing node logs and counts (`storemesh_peer_refusals_total{reason}`).
 */
import { StoremeshError, type ErrorCode } from '../interface/errors.js'
import { CERTIFICATE_KIND, decodeCertificate, parseCertificate, type NodeCertificate } from './certificate.js'
import { DEFAULT_CLOCK_SKEW_MS, type NodeRole } from './constants.js'
import { EMPTY_REVOCATIONS, type RevocationSet } from './revocation.js'
import { timeMs, verifySigned, type EnrolmentTrust } from './signed.js'

export interface VerifyCertificateOptions {
  /** the fleet's enrolment keys: the root's enrolment role, or a key list */
  trust: EnrolmentTrust
  /** the peer id of the connection that presented the certificate */
  peerId?: string
  /** refuse certificates of another store (E_CERT_MISMATCH) */
  storeId?: string
  /** refuse other roles (E_CERT_MISMATCH), e.g. a device accepts chunks from anyone but leases only from a hub */
  roles?: readonly NodeRole[]
  /** the revocation list in force. @default none revoked */
  revocations?: RevocationSet
  /** @default Date.now() */
  nowMs?: number
  /** @default DEFAULT_CLOCK_SKEW_MS */
  clockSkewMs?: number
}

/** What a verified certificate says about the peer: what leases, reports and bans attach to. */
export interface VerifiedIdentity {
  peerId: string
  deviceId: string
  storeId: string
  role: NodeRole
  deviceClass: string
  serial: string
  expiresAtMs: number
}

/** The bounded label of `storemesh_peer_refusals_total{reason}` for each refusal code. */
export const REFUSAL_REASONS = {
  E_CERT_INVALID: 'invalid',
  E_CERT_SIGNATURE: 'signature',
  E_CERT_EXPIRED: 'expired',
  E_CERT_NOT_YET_VALID: 'not-yet-valid',
  E_CERT_REVOKED: 'revoked',
  E_CERT_MISMATCH: 'mismatch',
  E_CERT_MISSING: 'missing'
} as const satisfies Partial<Record<ErrorCode, string>>

/**
 * Acts refused because they name a device or hub id the asking peer's certificate does
 * not bind (a lease in another device's name, a forged report): counted under the same
 * metric; the peer itself is not cut off (its own leases and reports still count).
 */
export const ACT_REFUSAL_REASONS = ['lease-unbound', 'report-unbound'] as const
export type ActRefusalReason = typeof ACT_REFUSAL_REASONS[number]

export type RefusalReason = typeof REFUSAL_REASONS[keyof typeof REFUSAL_REASONS] | ActRefusalReason

/** The refusal label of any error: an unknown one counts as `invalid` (fail closed). */
export function refusalReasonOf (err: unknown): RefusalReason {
  const code = (err as { code?: string } | undefined)?.code
  return (REFUSAL_REASONS as Record<string, RefusalReason>)[code ?? ''] ?? 'invalid'
}

/**
 * Checks, in order: shape (E_CERT_INVALID), the enrolment key's signature
 * (E_CERT_SIGNATURE), the presenting peer id (E_CERT_MISMATCH), the revocation list
 * (E_CERT_REVOKED), the lifetime (E_CERT_NOT_YET_VALID, E_CERT_EXPIRED), then the
 * store and role asked for (E_CERT_MISMATCH).
 */
export function verifyCertificate (input: Uint8Array | NodeCertificate | unknown, options: VerifyCertificateOptions): VerifiedIdentity {
  const cert = input instanceof Uint8Array ? decodeCertificate(input) : parseCertificate(input)
  verifySigned(cert, options.trust, CERTIFICATE_KIND)
  const c = cert.signed
  const meta = { serial: c.serial, device: c.deviceId, store: c.storeId }
  if (options.peerId !== undefined && options.peerId !== c.peerId) {
    throw new StoremeshError('E_CERT_MISMATCH', `certificate of peer ${c.peerId} presented by ${options.peerId}`, { ...meta, field: 'peerId', certPeer: c.peerId })
  }
  const revoked = options.revocations ?? EMPTY_REVOCATIONS
  if (revoked.serials.has(c.serial) || revoked.peerIds.has(c.peerId)) {
    throw new StoremeshError('E_CERT_REVOKED', `certificate ${c.serial} of device ${c.deviceId} is revoked`, { ...meta, revocations: revoked.version })
  }
  const nowMs = options.nowMs ?? Date.now()
  const skewMs = options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS
  if (timeMs(c.issuedAt) > nowMs + skewMs) {
    throw new StoremeshError('E_CERT_NOT_YET_VALID', `certificate ${c.serial} is issued at ${c.issuedAt}, in the future`, { ...meta, issuedAt: c.issuedAt })
  }
  const expiresAtMs = timeMs(c.expiresAt)
  if (expiresAtMs <= nowMs) {
    throw new StoremeshError('E_CERT_EXPIRED', `certificate ${c.serial} of device ${c.deviceId} expired at ${c.expiresAt}`, { ...meta, expiresAt: c.expiresAt })
  }
  if (options.storeId !== undefined && options.storeId !== c.storeId) {
    throw new StoremeshError('E_CERT_MISMATCH', `certificate of store ${c.storeId}, this is store ${options.storeId}`, { ...meta, field: 'storeId' })
  }
  if (options.roles !== undefined && !options.roles.includes(c.role)) {
    throw new StoremeshError('E_CERT_MISMATCH', `certificate of a ${c.role}, expected ${options.roles.join(' or ')}`, { ...meta, field: 'role', role: c.role })
  }
  return { peerId: c.peerId, deviceId: c.deviceId, storeId: c.storeId, role: c.role, deviceClass: c.deviceClass, serial: c.serial, expiresAtMs }
}
