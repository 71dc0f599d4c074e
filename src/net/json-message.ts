/**
 * JSON bodies of the small control protocols (lease, report; the manifest request):
 * the one path from untrusted bytes to a typed message, and back.
 *
 * ```ts
 * const req = decodeJsonMessage(bytes, leaseRequestSchema, { label: 'lease request', maxBytes: MAX_LEASE_REQUEST_BYTES })
 * const out = encodeJsonMessage(res, leaseResponseSchema, { label: 'lease response', maxBytes: MAX_LEASE_RESPONSE_BYTES })
 * ```
 *
 * bytes → size limit → strict JSON (src/interface/strict-json.ts: UTF-8, no BOM, no
 * duplicate keys, no trailing data) → the protocol's zod schema → typed value.
 * Every failure is a StoremeshError with a stable code: E_WIRE_MESSAGE_TOO_LARGE over
 * the limit, E_WIRE_MALFORMED otherwise, its message `bad <label>: <field>: <why>`
 * (servers send it back as the detail of a bad-request answer). Encoders run the same
 * schema first, so a peer is never sent what its decoder would refuse.
 */
import type { z } from 'zod'
import { StoremeshError } from '../interface/errors.js'
import { parseStrictJson } from '../interface/strict-json.js'

export interface JsonMessageOptions {
  /** names the message in errors, e.g. `lease request` */
  label: string
  /** the spec's limit of the body, in bytes */
  maxBytes: number
}

/** Unknown member names are the peer's text: cut before they reach a log or an answer. */
const MAX_NAME_CHARS = 32

/** The issue's path, cut: record keys are the peer's text too. */
function fieldOf (issue: z.core.$ZodIssue): string {
  return issue.path.map(String).join('.').slice(0, 2 * MAX_NAME_CHARS)
}

function describe (issue: z.core.$ZodIssue): string {
  const field = fieldOf(issue)
  const why = issue.code === 'unrecognized_keys'
    ? `unknown member ${JSON.stringify(String(issue.keys[0] ?? '').slice(0, MAX_NAME_CHARS))}`
    : issue.message
  return field === '' ? why : `${field}: ${why}`
}

/** Checks a decoded value against `schema`; E_WIRE_MALFORMED names the first problem. */
export function parseWireMessage<S extends z.ZodType> (schema: S, value: unknown, label: string): z.output<S> {
  const r = schema.safeParse(value)
  if (r.success) return r.data
  const first = r.error.issues[0]
  throw new StoremeshError('E_WIRE_MALFORMED', `bad ${label}: ${first === undefined ? 'invalid' : describe(first)}`,
    { message: label, field: first === undefined ? '' : fieldOf(first) })
}

/** Bytes from the wire to a typed message, or a typed error (see the file comment). */
export function decodeJsonMessage<S extends z.ZodType> (bytes: Uint8Array, schema: S, options: JsonMessageOptions): z.output<S> {
  const { label, maxBytes } = options
  if (bytes.byteLength > maxBytes) {
    throw new StoremeshError('E_WIRE_MESSAGE_TOO_LARGE', `${label} of ${bytes.byteLength} bytes, limit ${maxBytes}`, { bytes: bytes.byteLength, maxBytes })
  }
  let value: unknown
  try {
    value = parseStrictJson(bytes, label, { code: 'E_WIRE_MALFORMED' })
  } catch (err) {
    const reason = err instanceof StoremeshError ? String(err.meta.reason) : 'syntax'
    const offset = err instanceof StoremeshError ? err.meta.offset : undefined
    throw new StoremeshError('E_WIRE_MALFORMED', `bad ${label}: not UTF-8 JSON (${reason}${offset === undefined ? '' : ` at offset ${offset}`})`,
      { message: label, reason, offset })
  }
  return parseWireMessage(schema, value, label)
}

/** A message to bytes: checked by its schema (what the peer will check) and its size limit. */
export function encodeJsonMessage<S extends z.ZodType> (value: z.input<S>, schema: S, options: JsonMessageOptions): Uint8Array {
  const { label, maxBytes } = options
  const bytes = new TextEncoder().encode(JSON.stringify(parseWireMessage(schema, value, label)))
  if (bytes.byteLength > maxBytes) {
    throw new StoremeshError('E_WIRE_MESSAGE_TOO_LARGE', `${label} of ${bytes.byteLength} bytes, limit ${maxBytes}`, { bytes: bytes.byteLength, maxBytes })
  }
  return bytes
}
