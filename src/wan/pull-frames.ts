/**
 * Wire format of `/storemesh/wan-pull/1.0.0` (pull-protocol.ts): every message is an
 * unsigned LEB128 varint length and that many bytes, the framing of src/net/framing.ts,
 * parsed here incrementally because both sides read from paced Node streams.
 *
 *   request  (store hub -> super hub): UTF-8 JSON `{"hashes":["<64 hex>", ...]}`, 1..MAX_PULL_BATCH_CHUNKS
 *   response (super hub -> store hub): one per requested hash, in request order:
 *            a status byte, then the chunk's bytes when the status is OK
 *
 * A frame longer than the reader's limit, a non-minimal or overlong varint, a request
 * that is not exactly that JSON shape: E_WIRE_MALFORMED / E_WIRE_MESSAGE_TOO_LARGE,
 * and the stream is given up (fail closed).
 */
import { StoremeshError } from '../interface/errors.js'
import { encodeVarint } from '../net/framing.js'
import { MAX_VARINT_BYTES } from '../net/constants.js'
import { MAX_PULL_BATCH_CHUNKS, MAX_PULL_REQUEST_BYTES } from './pull-constants.js'

export const PULL_STATUS = { OK: 0, NOT_FOUND: 1 } as const

const HASH_RE = /^[0-9a-f]{64}$/

/** One length-prefixed frame (prefix + body) as one buffer. */
export function frame (body: Uint8Array): Uint8Array {
  const prefix = encodeVarint(body.byteLength)
  const out = new Uint8Array(prefix.byteLength + body.byteLength)
  out.set(prefix)
  out.set(body, prefix.byteLength)
  return out
}

export function encodePullRequest (hashes: readonly string[]): Uint8Array {
  if (hashes.length === 0 || hashes.length > MAX_PULL_BATCH_CHUNKS) {
    throw new StoremeshError('E_INVALID_ARGUMENT', `a pull request holds 1 to ${MAX_PULL_BATCH_CHUNKS} hashes`, { hashes: hashes.length })
  }
  return frame(new TextEncoder().encode(JSON.stringify({ hashes })))
}

export function decodePullRequest (body: Uint8Array): string[] {
  const bad = (why: string): never => { throw new StoremeshError('E_WIRE_MALFORMED', `bad wan-pull request: ${why}`) }
  let x: unknown
  try {
    x = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body))
  } catch {
    return bad('not UTF-8 JSON')
  }
  if (x === null || typeof x !== 'object' || Array.isArray(x)) return bad('not an object')
  const keys = Object.keys(x)
  const hashes = (x as { hashes?: unknown }).hashes
  if (keys.length !== 1 || !Array.isArray(hashes)) return bad('expected exactly {hashes: [...]}')
  if (hashes.length === 0 || hashes.length > MAX_PULL_BATCH_CHUNKS) return bad(`1 to ${MAX_PULL_BATCH_CHUNKS} hashes`)
  for (const h of hashes) if (typeof h !== 'string' || !HASH_RE.test(h)) bad('a hash is not 64 lower-case hex digits')
  return hashes as string[]
}

/** Response header for a chunk of `size` bytes (the body follows), or a bodiless status. */
export function responseHeader (status: number, size: number): Uint8Array {
  const prefix = encodeVarint(1 + size)
  const out = new Uint8Array(prefix.byteLength + 1)
  out.set(prefix)
  out[prefix.byteLength] = status
  return out
}

/**
 * Incremental varint-frame parser: push() bytes as they come, take whole frames.
 * `maxBytes()` is asked per frame, so a client can allow exactly the size it expects.
 */
export class FrameDecoder {
  private parts: Uint8Array[] = []
  private buffered = 0
  private need: number | undefined
  /** frames whose length prefix was read so far (the next frame's ordinal) */
  private framesStarted = 0

  /** `maxBytes(n)` is the limit of the n-th frame (0-based) on this stream. */
  constructor (private readonly maxBytes: (ordinal: number) => number) {}

  push (bytes: Uint8Array): Uint8Array[] {
    this.parts.push(bytes)
    this.buffered += bytes.byteLength
    const out: Uint8Array[] = []
    for (;;) {
      if (this.need === undefined) {
        const len = this.readPrefix()
        if (len === undefined) break
        this.need = len
      }
      if (this.buffered < this.need) break
      out.push(this.take(this.need))
      this.need = undefined
    }
    return out
  }

  /** Bytes of a frame started but not finished (the stream ended mid-frame when > 0). */
  get pendingBytes (): number {
    return this.buffered + (this.need !== undefined ? 1 : 0)
  }

  private readPrefix (): number | undefined {
    const max = this.maxBytes(this.framesStarted)
    let length = 0
    let i = 0
    for (const part of this.parts) {
      for (const b of part) {
        if (i >= MAX_VARINT_BYTES) throw new StoremeshError('E_WIRE_MESSAGE_TOO_LARGE', 'length prefix too long')
        if (i > 0 && b === 0) throw new StoremeshError('E_WIRE_MALFORMED', 'length prefix is not minimally encoded')
        length += (b & 0x7f) * 2 ** (7 * i)
        i++
        if (length > max) throw new StoremeshError('E_WIRE_MESSAGE_TOO_LARGE', `frame of ${length}+ bytes, limit ${max}`, { bytes: length, maxBytes: max })
        if ((b & 0x80) === 0) {
          this.take(i)
          this.framesStarted++
          return length
        }
      }
    }
    return undefined
  }

  private take (n: number): Uint8Array {
    const out = new Uint8Array(n)
    let off = 0
    while (off < n) {
      const head = this.parts[0] as Uint8Array
      const k = Math.min(head.byteLength, n - off)
      out.set(head.subarray(0, k), off)
      off += k
      if (k === head.byteLength) this.parts.shift()
      else this.parts[0] = head.subarray(k)
    }
    this.buffered -= n
    return out
  }
}

export { MAX_PULL_REQUEST_BYTES }
