/**
 * JSON as the signed-document specs read it: UTF-8 without a BOM, one value and
 * nothing after it. A minimal version for the root decoder (issue #21 item 1); the
 * strict-decoder work (items 4-5) brings the full one (duplicate keys too) under this
 * same signature.
 */
import { StoremeshError } from './errors.js'

const BOM = 0xfeff

/** Parses `bytes` as one JSON value; E_WIRE_MALFORMED names `what` when it is not. */
export function parseStrictJson (bytes: Uint8Array | string, what: string): unknown {
  let text: string
  try {
    text = typeof bytes === 'string' ? bytes : new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes)
  } catch {
    throw new StoremeshError('E_WIRE_MALFORMED', `bad ${what}: not UTF-8`, { what })
  }
  if (text.charCodeAt(0) === BOM) throw new StoremeshError('E_WIRE_MALFORMED', `bad ${what}: starts with a byte order mark`, { what })
  try {
    // JSON.parse itself refuses anything but whitespace after the value
    return JSON.parse(text)
  } catch {
    throw new StoremeshError('E_WIRE_MALFORMED', `bad ${what}: not one JSON value`, { what })
  }
}
