/**
 * JSON bodies of the small control protocols (lease, report): strict UTF-8 on the way in,
 * a byte limit on the way out. Each protocol maps a parse failure to its own message.
 */
import { StoremeshError } from '../interface/errors.js'

/** Throws on bytes that are not UTF-8 JSON; callers turn that into E_WIRE_MALFORMED. */
export function decodeUtf8Json (bytes: Uint8Array): unknown {
  return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
}

/** `label` names the message in the error, e.g. `lease request`. */
export function encodeBoundedJson (x: unknown, label: string, maxBytes: number): Uint8Array {
  const bytes = new TextEncoder().encode(JSON.stringify(x))
  if (bytes.byteLength > maxBytes) {
    throw new StoremeshError('E_WIRE_MESSAGE_TOO_LARGE', `${label} of ${bytes.byteLength} bytes, limit ${maxBytes}`, { bytes: bytes.byteLength, maxBytes })
  }
  return bytes
}
