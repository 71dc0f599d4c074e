/**
 * Node certificates (protocols/identity/SPEC.md "Certificate"): the fleet's enrolment
 * key binds a libp2p peer id to a device id, a store id, a role, a device class and a
 * lifetime, under a serial that a revocation list can name. Issuing and strict
 * decoding live here; what a verifier decides (signature, peer, revocation, time) is
 * verify.ts.
 */
import { randomBytes } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import { z } from 'zod'
import { canonicalize } from '../bundle/canonical.js'
import { signEnvelope } from '../bundle/envelope.js'
import type { SigningKey } from '../bundle/keys.js'
import { StoremeshError } from '../interface/errors.js'
import type { Envelope } from '../interface/types.js'
import {
  CERTIFICATE_TYPE, DEVICE_CLASS_RE, DEVICE_ID_RE, IDENTITY_SPEC_VERSION, ISO_TIME_RE, MAX_CERTIFICATE_BYTES,
  MAX_CERTIFICATE_LIFETIME_MS, NODE_ROLES, PEER_ID_RE, SERIAL_BYTES, SERIAL_RE, STORE_ID_RE, type NodeRole
} from './constants.js'
import { envelopeSchema, parseSigned, parseSignedJson, timeMs, type SignedKind } from './signed.js'

export interface CertificateBody {
  type: typeof CERTIFICATE_TYPE
  specVersion: typeof IDENTITY_SPEC_VERSION
  /** 32 lower-case hex characters; what a revocation list names */
  serial: string
  /** the libp2p peer id the certificate belongs to */
  peerId: string
  deviceId: string
  storeId: string
  role: NodeRole
  deviceClass: string
  /** ISO 8601 UTC with milliseconds */
  issuedAt: string
  expiresAt: string
}

export type NodeCertificate = Envelope<CertificateBody>

export const CERTIFICATE_KIND: SignedKind = {
  label: 'certificate',
  maxBytes: MAX_CERTIFICATE_BYTES,
  invalid: 'E_CERT_INVALID',
  signature: 'E_CERT_SIGNATURE'
}

function isPeerId (s: string): boolean {
  try {
    peerIdFromString(s)
    return true
  } catch {
    return false
  }
}

/**
 * zod runs a refinement even after the regex failed, and base58 decoding is quadratic:
 * found by fuzzing, one 70 KB peer id in a revocation list took 295 s to refuse. The
 * decoder now only sees strings the regex bounded to 64 characters.
 */
export const peerIdSchema = z.string().regex(PEER_ID_RE, 'malformed')
  .refine(s => PEER_ID_RE.test(s) && isPeerId(s), 'not a libp2p peer id')
export const isoTimeSchema = z.string().regex(ISO_TIME_RE, 'must be ISO 8601 UTC with milliseconds')
  .refine(s => Number.isFinite(Date.parse(s)) && new Date(Date.parse(s)).toISOString() === s, 'not a real time')

/** Exactly the members of SPEC.md "Certificate", each well formed. */
export const certificateBodySchema: z.ZodType<CertificateBody> = z.strictObject({
  type: z.literal(CERTIFICATE_TYPE),
  specVersion: z.literal(IDENTITY_SPEC_VERSION),
  serial: z.string().regex(SERIAL_RE, 'must be 32 lower-case hex characters'),
  peerId: peerIdSchema,
  deviceId: z.string().regex(DEVICE_ID_RE, 'malformed'),
  storeId: z.string().regex(STORE_ID_RE, 'malformed'),
  role: z.enum(NODE_ROLES, { error: 'must be device, hub or super-hub' }),
  deviceClass: z.string().regex(DEVICE_CLASS_RE, 'malformed'),
  issuedAt: isoTimeSchema,
  expiresAt: isoTimeSchema
}).refine(b => timeMs(b.expiresAt) > timeMs(b.issuedAt), { message: 'must be after issuedAt', path: ['expiresAt'] })

export const certificateSchema = envelopeSchema(certificateBodySchema)

/** What `identity issue` binds; serial and issuedAt are made when absent. */
export interface CertificateFields {
  peerId: string
  deviceId: string
  storeId: string
  role: NodeRole
  deviceClass: string
  /** @default now */
  issuedAt?: Date
  expiresAt: Date
  /** @default SERIAL_BYTES random bytes in hex */
  serial?: string
}

export function newSerial (): string {
  return randomBytes(SERIAL_BYTES).toString('hex')
}

/** Signs a certificate with the enrolment key; refuses what a verifier would refuse as malformed. */
export function issueCertificate (fields: CertificateFields, keys: SigningKey[]): NodeCertificate {
  const issuedAt = fields.issuedAt ?? new Date()
  if (fields.expiresAt.getTime() - issuedAt.getTime() > MAX_CERTIFICATE_LIFETIME_MS) {
    throw new StoremeshError('E_INVALID_ARGUMENT', `a certificate may live at most ${MAX_CERTIFICATE_LIFETIME_MS / 86_400_000} days`)
  }
  const body: CertificateBody = {
    type: CERTIFICATE_TYPE,
    specVersion: IDENTITY_SPEC_VERSION,
    serial: fields.serial ?? newSerial(),
    peerId: fields.peerId,
    deviceId: fields.deviceId,
    storeId: fields.storeId,
    role: fields.role,
    deviceClass: fields.deviceClass,
    issuedAt: issuedAt.toISOString(),
    expiresAt: fields.expiresAt.toISOString()
  }
  const env = signEnvelope(parseSigned(certificateBodySchema, body, CERTIFICATE_KIND), keys)
  if (encodeCertificate(env).byteLength > MAX_CERTIFICATE_BYTES) {
    throw new StoremeshError('E_CERT_INVALID', `certificate over ${MAX_CERTIFICATE_BYTES} bytes`)
  }
  return env
}

/** Canonical JSON of the envelope (SPEC.md "Encoding"): the bytes of a file and of the wire. */
export function encodeCertificate (cert: NodeCertificate): Uint8Array {
  return canonicalize(cert)
}

/** Strict shape check of a value (already JSON); trusts nothing yet. E_CERT_INVALID. */
export function parseCertificate (value: unknown): NodeCertificate {
  return parseSigned(certificateSchema, value, CERTIFICATE_KIND)
}

/** Bytes to a well-formed certificate; trusts nothing yet. E_CERT_INVALID. */
export function decodeCertificate (bytes: Uint8Array): NodeCertificate {
  return parseCertificate(parseSignedJson(bytes, CERTIFICATE_KIND))
}
