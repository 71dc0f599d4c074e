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
import type { Envelope, TrustedKey } from '../interface/types.js'
import { parseWireMessage } from '../net/json-message.js'
import { MAX_IDENTITY_SIGNATURES } from './constants.js'

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

/** Checks the envelope's signatures against the enrolment keys; E_SIGNATURE_* become `kind.signature`. */
export function verifySigned (env: Envelope<unknown>, keys: readonly TrustedKey[], kind: SignedKind): void {
  try {
    verifyEnvelope(env, { keys: [...keys] })
  } catch (err) {
    if (isStoremeshError(err) && err.code.startsWith('E_SIGNATURE_')) {
      throw new StoremeshError(kind.signature, `${kind.label}: ${err.message}`, err.meta, { cause: err })
    }
    throw err
  }
}

/** `Date.parse` of a time the schema already checked. */
export function timeMs (iso: string): number {
  return Date.parse(iso)
}
