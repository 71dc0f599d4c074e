/**
 * Strict JSON (RFC 8259) for signed documents and wire messages. `JSON.parse` is
 * lenient in ways a signed format must not be: it keeps the last of two duplicate
 * keys (so two readers can see two different documents behind one signature), and
 * `TextDecoder` silently drops a UTF-8 byte order mark. This parser refuses:
 *
 * - a UTF-8 BOM (bytes EF BB BF, or U+FEFF first in a string);
 * - invalid UTF-8;
 * - duplicate object keys at any depth;
 * - data after the value (JSON whitespace is allowed, a file may end in a newline);
 * - numbers that do not fit a double (`1e400`), nesting deeper than `maxDepth`;
 * - everything RFC 8259 refuses (control characters in strings, bad escapes, ...).
 *
 * Every refusal is one StoremeshError with a stable code (E_JSON_STRICT unless the
 * caller names its document's code) and meta `{document, offset, reason}`.
 *
 * ```ts
 * const value = parseStrictJson(bytes, 'root document')
 * const body = parseStrictJson(bytes, 'bundle.json', { code: 'E_MANIFEST_INVALID', maxBytes: MAX_MANIFEST_BYTES })
 * ```
 */
import { StoremeshError, type ErrorCode } from './errors.js'

/** Deeper than any document of ours; bounds the parser's recursion. */
export const DEFAULT_MAX_JSON_DEPTH = 64

export type StrictJsonReason =
  'bom' | 'utf8' | 'too-large' | 'syntax' | 'duplicate-key' | 'trailing-data' | 'number-range' | 'too-deep'

export interface StrictJsonOptions {
  /** the code of every refusal @default 'E_JSON_STRICT' */
  code?: ErrorCode
  /** bytes (or UTF-16 code units of a string) over this are refused before parsing */
  maxBytes?: number
  /** @default DEFAULT_MAX_JSON_DEPTH */
  maxDepth?: number
}

const BOM = 0xfeff
/** Names of keys cut before they reach a message: they are the sender's text. */
const MAX_KEY_CHARS = 32
const NUMBER_RE = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

class Parser {
  #at = 0
  readonly #text: string
  readonly #what: string
  readonly #code: ErrorCode
  readonly #maxDepth: number

  constructor (text: string, what: string, code: ErrorCode, maxDepth: number) {
    this.#text = text
    this.#what = what
    this.#code = code
    this.#maxDepth = maxDepth
  }

  fail (reason: StrictJsonReason, why: string, at = this.#at): StoremeshError {
    return new StoremeshError(this.#code, `${this.#what}: ${why} at offset ${at}`, { document: this.#what, offset: at, reason })
  }

  document (): unknown {
    this.#ws()
    const value = this.#value(0)
    this.#ws()
    if (this.#at !== this.#text.length) throw this.fail('trailing-data', 'data after the JSON value')
    return value
  }

  #ws (): void {
    const t = this.#text
    let i = this.#at
    for (;;) {
      const c = t.charCodeAt(i)
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break
      i++
    }
    this.#at = i
  }

  #value (depth: number): unknown {
    const c = this.#text.charCodeAt(this.#at)
    switch (c) {
      case 0x7b: return this.#object(depth + 1)
      case 0x5b: return this.#array(depth + 1)
      case 0x22: return this.#string()
      case 0x74: return this.#literal('true', true)
      case 0x66: return this.#literal('false', false)
      case 0x6e: return this.#literal('null', null)
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.#number()
        throw this.fail('syntax', Number.isNaN(c) ? 'unexpected end' : 'unexpected character')
    }
  }

  #literal<T> (word: string, value: T): T {
    if (!this.#text.startsWith(word, this.#at)) throw this.fail('syntax', 'unexpected character')
    this.#at += word.length
    return value
  }

  #number (): number {
    NUMBER_RE.lastIndex = this.#at
    const m = NUMBER_RE.exec(this.#text)
    if (m === null) throw this.fail('syntax', 'malformed number')
    const n = Number(m[0])
    if (!Number.isFinite(n)) throw this.fail('number-range', 'number out of range')
    this.#at += m[0].length
    return n
  }

  #string (): string {
    const t = this.#text
    const start = this.#at
    let i = start + 1
    let escaped = false
    for (;;) {
      const c = t.charCodeAt(i)
      if (Number.isNaN(c)) throw this.fail('syntax', 'unterminated string', start)
      if (c === 0x22) break
      if (c < 0x20) throw this.fail('syntax', 'control character in a string', i)
      if (c === 0x5c) {
        escaped = true
        const e = t.charCodeAt(i + 1)
        if (e === 0x75) {
          if (!/^[0-9A-Fa-f]{4}$/.test(t.slice(i + 2, i + 6))) throw this.fail('syntax', 'bad \\u escape', i)
          i += 6
          continue
        }
        // " \ / b f n r t
        if (e !== 0x22 && e !== 0x5c && e !== 0x2f && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74) {
          throw this.fail('syntax', 'bad escape', i)
        }
        i += 2
        continue
      }
      i++
    }
    this.#at = i + 1
    // the slice is a checked JSON string literal: JSON.parse only decodes its escapes
    return escaped ? JSON.parse(t.slice(start, i + 1)) as string : t.slice(start + 1, i)
  }

  #enter (depth: number): void {
    if (depth > this.#maxDepth) throw this.fail('too-deep', `nested deeper than ${this.#maxDepth} levels`)
    this.#at++
    this.#ws()
  }

  #array (depth: number): unknown[] {
    this.#enter(depth)
    const out: unknown[] = []
    if (this.#text.charCodeAt(this.#at) === 0x5d) {
      this.#at++
      return out
    }
    for (;;) {
      out.push(this.#value(depth))
      this.#ws()
      const c = this.#text.charCodeAt(this.#at)
      this.#at++
      if (c === 0x5d) return out
      if (c !== 0x2c) throw this.fail('syntax', 'expected , or ]', this.#at - 1)
      this.#ws()
    }
  }

  #object (depth: number): Record<string, unknown> {
    this.#enter(depth)
    const out: Record<string, unknown> = {}
    if (this.#text.charCodeAt(this.#at) === 0x7d) {
      this.#at++
      return out
    }
    for (;;) {
      if (this.#text.charCodeAt(this.#at) !== 0x22) throw this.fail('syntax', 'expected a member name')
      const keyAt = this.#at
      const key = this.#string()
      if (Object.hasOwn(out, key)) {
        throw this.fail('duplicate-key', `duplicate key ${JSON.stringify(key.slice(0, MAX_KEY_CHARS))}`, keyAt)
      }
      this.#ws()
      if (this.#text.charCodeAt(this.#at) !== 0x3a) throw this.fail('syntax', 'expected :')
      this.#at++
      this.#ws()
      // defineProperty for __proto__ only: it stays data, as JSON.parse keeps it; a plain
      // store for every other key keeps the object in V8's fast mode (5x faster to build and read)
      const value = this.#value(depth)
      if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true })
      else out[key] = value
      this.#ws()
      const c = this.#text.charCodeAt(this.#at)
      this.#at++
      if (c === 0x7d) return out
      if (c !== 0x2c) throw this.fail('syntax', 'expected , or }', this.#at - 1)
      this.#ws()
    }
  }
}

/**
 * Bytes (UTF-8) or a string to a JSON value, refusing every leniency listed in the
 * file comment. `what` names the document in the error (`bundle.json`, `lease request`).
 */
export function parseStrictJson (bytes: Uint8Array | string, what: string, options: StrictJsonOptions = {}): unknown {
  const code = options.code ?? 'E_JSON_STRICT'
  const size = typeof bytes === 'string' ? bytes.length : bytes.byteLength
  if (options.maxBytes !== undefined && size > options.maxBytes) {
    throw new StoremeshError(code, `${what}: ${size} bytes, limit ${options.maxBytes}`,
      { document: what, reason: 'too-large', bytes: size, maxBytes: options.maxBytes })
  }
  let text: string
  if (typeof bytes === 'string') {
    text = bytes
  } else {
    if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
      throw new StoremeshError(code, `${what}: starts with a UTF-8 byte order mark`, { document: what, offset: 0, reason: 'bom' })
    }
    try {
      text = utf8.decode(bytes)
    } catch {
      throw new StoremeshError(code, `${what}: not valid UTF-8`, { document: what, reason: 'utf8' })
    }
  }
  if (text.charCodeAt(0) === BOM) {
    throw new StoremeshError(code, `${what}: starts with a byte order mark`, { document: what, offset: 0, reason: 'bom' })
  }
  return new Parser(text, what, code, options.maxDepth ?? DEFAULT_MAX_JSON_DEPTH).document()
}
