/**
 * The one path from untrusted bytes to a signed identity object (a certificate or a
 * revocation list): size limit → strict UTF-8 → JSON → the envelope and body schemas
 * (exact members) → the enrolment key's signature (src/bundle/envelope.ts, the same
 * envelope and canonical JSON as manifests). Every failure carries the caller's codes,
 * so a certificate fails with E_CERT_* and a list with E_REVOCATION_*.
 */
import { z } from 'zod'
import { verifyEnvelope } from '../bundle/envelope.js'
import { isCanonicalBase64 } from '../interface/base64.js'
import { StoremeshError, isStoremeshError, type ErrorCode } from '../interface/errors.js'
import { parseStrictJson } from '../interface/strict-json.js'
import type { Envelope, TrustedKey, TrustOptions } from '../interface/types.js'
import { parseWireMessage } from '../net/json-message.js'
import { MAX_IDENTITY_SIGNATURES } from './constants.js'

/**
 * Who may sign certificates and revocation lists: the root's enrolment role (keys,
 * threshold, revoked ids, the root's expiry; a live view follows rotations), or a
 * plain key list (`--enrolment-trust`, one signature enough).
 */
export type EnrolmentTrust = readonly TrustedKey[] | TrustOptions

export function enrolmentTrustOptions (trust: EnrolmentTrust): TrustOptions {
  // a TrustOptions is passed on as it is: a live view's getters must keep reading the root in force
  return isKeyList(trust) ? { keys: [...trust] } : trust
}

function isKeyList (trust: EnrolmentTrust): trust is readonly TrustedKey[] {
  return Array.isArray(trust)
}

export interface SignedKind {
  /** names the object in errors: `certificate`, `revocation list` */
  label: string
  maxBytes: number
  /** malformed bytes, JSON, members or limits */
  invalid: ErrorCode
  /** no good signature from a trusted key, or an edited body */
  signature: ErrorCode
}

const signatureSchema = z.strictObject({
  keyid: z.string().regex(/^[0-9a-f]{32}$/, 'malformed'),
  sig: z.string().regex(/^[A-Za-z0-9+/]{86}==$/, 'must be base64 of 64 bytes').refine(isCanonicalBase64, 'must be canonical base64')
})

/** The envelope around a body schema: exactly `signed` and 1 … 16 `signatures`. */
export function envelopeSchema<S extends z.ZodType> (body: S): z.ZodType<Envelope<z.output<S>>> {
  return z.strictObject({
    signed: body,
    signatures: z.array(signatureSchema).min(1, 'at least one signature').max(MAX_IDENTITY_SIGNATURES, `at most ${MAX_IDENTITY_SIGNATURES}`)
  }) as unknown as z.ZodType<Envelope<z.output<S>>>
}

/** A value against `schema`, failing with `kind.invalid` and the first problem. */
export function parseSigned<T> (schema: z.ZodType<T>, value: unknown, kind: SignedKind): T {
  try {
    return parseWireMessage(schema, value, kind.label)
  } catch (err) {
    if (!isStoremeshError(err, 'E_WIRE_MALFORMED')) throw err
    throw new StoremeshError(kind.invalid, err.message, err.meta)
  }
}

/** Bytes to strict JSON (not yet checked against a schema), within `kind.maxBytes`: no BOM, duplicate keys or trailing data. */
export function parseSignedJson (bytes: Uint8Array, kind: SignedKind): unknown {
  if (bytes.byteLength > kind.maxBytes) {
    throw new StoremeshError(kind.invalid, `${kind.label} of ${bytes.byteLength} bytes, limit ${kind.maxBytes}`, { bytes: bytes.byteLength, maxBytes: kind.maxBytes })
  }
  return parseStrictJson(bytes, kind.label, { code: kind.invalid })
}

/**
 * Checks the envelope's signatures against the enrolment trust; E_SIGNATURE_* and
 * E_KEY_REVOKED (signed only by a key a newer root dropped) become `kind.signature`,
 * so a refused peer is counted under one stable reason.
 */
export function verifySigned (env: Envelope<unknown>, trust: EnrolmentTrust, kind: SignedKind): void {
  try {
    verifyEnvelope(env, enrolmentTrustOptions(trust))
  } catch (err) {
    if (isStoremeshError(err) && (err.code.startsWith('E_SIGNATURE_') || err.code === 'E_KEY_REVOKED')) {
      throw new StoremeshError(kind.signature, `${kind.label}: ${err.message}`, err.meta, { cause: err })
    }
    throw err
  }
}

/** `Date.parse` of a time the schema already checked. */
export function timeMs (iso: string): number {
  return Date.parse(iso)
}
