/**
 * The messages of `/storemesh/manifest/1.0.0` (protocols/manifest/SPEC.md "Request",
 * "Response"): the request is JSON, checked by a zod schema (src/net/json-message.ts);
 * the response is a status byte and a payload (the manifest file, or a reason), the
 * manifest itself being verified by `decodeManifest` like any untrusted manifest.
 */
import { z } from 'zod'
import { decodeJsonMessage, encodeJsonMessage, parseWireMessage } from '../json-message.js'
import { BUNDLE_ID_RE, DEVICE_CLASS_RE, MAX_MANIFEST_REQUEST_BYTES, MAX_REASON_BYTES, STATUS, type Status } from './constants.js'

export type ManifestRequest = { bundleId: string } | { deviceClass: string }

/** Exactly one member, well formed; new members come with a new protocol version. */
export const manifestRequestSchema: z.ZodType<ManifestRequest> = z.union([
  z.strictObject({ bundleId: z.string().regex(BUNDLE_ID_RE) }),
  z.strictObject({ deviceClass: z.string().regex(DEVICE_CLASS_RE) })
], { error: 'exactly one of bundleId or deviceClass, well formed' })

const REQUEST = { label: 'manifest request', maxBytes: MAX_MANIFEST_REQUEST_BYTES }

/** 1.1.0 (SPEC.md "Roots"): the roots of trust newer than the asker's version. */
export interface RootsRequest { rootsAfter: number }
export type ManifestRequestV1_1 = ManifestRequest | RootsRequest

/** 1.1.0: 1.0.0's two requests, or exactly `rootsAfter`, a version the asker holds. */
export const manifestRequestSchemaV1_1: z.ZodType<ManifestRequestV1_1> = z.union([
  manifestRequestSchema,
  z.strictObject({ rootsAfter: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) })
], { error: 'exactly one of bundleId, deviceClass or rootsAfter, well formed' })

export function encodeManifestRequestV1_1 (req: ManifestRequestV1_1): Uint8Array {
  return encodeJsonMessage(req, manifestRequestSchemaV1_1, REQUEST)
}

export function decodeManifestRequestV1_1 (bytes: Uint8Array): ManifestRequestV1_1 {
  return decodeJsonMessage(bytes, manifestRequestSchemaV1_1, REQUEST)
}

/** Strict: exactly one of the two fields, well formed; anything else is E_WIRE_MALFORMED. */
export function parseManifestRequest (x: unknown): ManifestRequest {
  return parseWireMessage(manifestRequestSchema, x, REQUEST.label)
}

export function encodeManifestRequest (req: ManifestRequest): Uint8Array {
  return encodeJsonMessage(req, manifestRequestSchema, REQUEST)
}

export function decodeManifestRequest (bytes: Uint8Array): ManifestRequest {
  return decodeJsonMessage(bytes, manifestRequestSchema, REQUEST)
}

/** A response body: the status byte, then the payload. */
export function encodeManifestResponse (status: Status, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + body.byteLength)
  out[0] = status
  out.set(body, 1)
  return out
}

/** An error response: the reason cut to MAX_REASON_BYTES. */
export function reasonResponse (status: Exclude<Status, typeof STATUS.OK>, text: string): Uint8Array {
  return encodeManifestResponse(status, new TextEncoder().encode(text).subarray(0, MAX_REASON_BYTES))
}

export interface ManifestResponse {
  /** the status byte as received; callers refuse the ones STATUS does not list */
  status: number
  /** the manifest file bytes (OK) */
  body: Uint8Array
  /** the reason of an error status, for logs only */
  reason: string
}

export function decodeManifestResponse (bytes: Uint8Array): ManifestResponse {
  const status = bytes[0] ?? -1
  const body = bytes.subarray(1)
  const reason = status === STATUS.OK ? '' : new TextDecoder().decode(body.subarray(0, MAX_REASON_BYTES))
  return { status, body, reason }
}

/** For messages and logs: `bundle b3:...` or `device class pos`. */
export function describeManifestRequest (req: ManifestRequestV1_1): string {
  if ('rootsAfter' in req) return `roots after version ${req.rootsAfter}`
  return 'bundleId' in req ? `bundle ${req.bundleId}` : `device class ${req.deviceClass}`
}
