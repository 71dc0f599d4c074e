/**
 * Canonical base64 (RFC 4648 section 4, padded, standard alphabet). Node's decoder
 * is lenient: it skips characters outside the alphabet, accepts missing padding and
 * ignores the unused bits of the last character, so several strings decode to the
 * same bytes. A signed document whose signature can be rewritten without changing
 * what it decodes to is malleable; this checker accepts exactly the one string that
 * `Buffer.toString('base64')` writes for the bytes.
 */
import { StoremeshError, type ErrorCode } from './errors.js'

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

export interface Base64Options {
  /** the code of a refusal @default 'E_BASE64_INVALID' */
  code?: ErrorCode
  /** refuse a string that does not decode to exactly this many bytes */
  bytes?: number
  /** refuse a longer string before looking at it @default 1 MiB of base64 */
  maxChars?: number
}

const DEFAULT_MAX_BASE64_CHARS = 1024 * 1024

/** True when `s` is the canonical base64 of some bytes (no whitespace, right padding, zero spare bits). */
export function isCanonicalBase64 (s: string): boolean {
  if (!BASE64_RE.test(s)) return false
  return Buffer.from(s, 'base64').toString('base64') === s
}

/** The bytes of a canonical base64 string; `what` names the field in the error. */
export function decodeCanonicalBase64 (s: unknown, what: string, options: Base64Options = {}): Uint8Array {
  const code = options.code ?? 'E_BASE64_INVALID'
  const maxChars = options.maxChars ?? DEFAULT_MAX_BASE64_CHARS
  if (typeof s !== 'string') throw new StoremeshError(code, `${what}: not a base64 string`, { field: what })
  if (s.length > maxChars) throw new StoremeshError(code, `${what}: ${s.length} characters, limit ${maxChars}`, { field: what })
  if (!isCanonicalBase64(s)) throw new StoremeshError(code, `${what}: not canonical base64`, { field: what })
  const out = new Uint8Array(Buffer.from(s, 'base64'))
  if (options.bytes !== undefined && out.byteLength !== options.bytes) {
    throw new StoremeshError(code, `${what}: ${out.byteLength} bytes, expected ${options.bytes}`, { field: what })
  }
  return out
}
