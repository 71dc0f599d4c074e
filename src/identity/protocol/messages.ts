/**
 * The two messages of `/storemesh/identity/1.0.0` (protocols/identity/SPEC.md section
 * 7) as zod schemas. The certificate and the list inside a response are checked here
 * only as JSON objects: their strict decoding is the verifier's (../verify.ts), so a
 * malformed certificate is refused as E_CERT_INVALID like any other bad one.
 */
import { z } from 'zod'
import { decodeJsonMessage, encodeJsonMessage } from '../../net/json-message.js'
import { MAX_IDENTITY_REQUEST_BYTES, MAX_IDENTITY_RESPONSE_BYTES } from './constants.js'

export interface IdentityRequest {
  want: 'certificate'
  /** the version of the revocation list the asker holds: a newer one comes back with the answer */
  revocationsVersion?: number
}

export interface IdentityResponse {
  /** the answering node's certificate envelope, or null when it has none */
  certificate: Record<string, unknown> | null
  /** the answering node's revocation list, when newer than the asker's */
  revocations?: Record<string, unknown>
}

const object = z.record(z.string(), z.unknown())

export const identityRequestSchema: z.ZodType<IdentityRequest> = z.strictObject({
  want: z.literal('certificate'),
  revocationsVersion: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional()
})

export const identityResponseSchema: z.ZodType<IdentityResponse> = z.strictObject({
  certificate: object.nullable(),
  revocations: object.optional()
})

const REQUEST = { label: 'identity request', maxBytes: MAX_IDENTITY_REQUEST_BYTES }
const RESPONSE = { label: 'identity response', maxBytes: MAX_IDENTITY_RESPONSE_BYTES }

export function encodeIdentityRequest (req: IdentityRequest): Uint8Array {
  return encodeJsonMessage(req, identityRequestSchema, REQUEST)
}

export function decodeIdentityRequest (bytes: Uint8Array): IdentityRequest {
  return decodeJsonMessage(bytes, identityRequestSchema, REQUEST)
}

export function encodeIdentityResponse (res: IdentityResponse): Uint8Array {
  return encodeJsonMessage(res, identityResponseSchema, RESPONSE)
}

export function decodeIdentityResponse (bytes: Uint8Array): IdentityResponse {
  return decodeJsonMessage(bytes, identityResponseSchema, RESPONSE)
}
