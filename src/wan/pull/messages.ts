/**
 * The messages of `/storemesh/wan-pull/1.0.0` (protocols/wan-pull/SPEC.md, "Framing",
 * "Request", "Answer"): the one place they are framed, decoded and validated.
 *
 *   frame    an unsigned LEB128 varint length (minimal, at most 8 bytes), then that many bytes
 *   request  (store hub -> super hub): UTF-8 JSON `{"hashes":["<64 hex>", ...]}`, 1..MAX_PULL_BATCH_CHUNKS
 *   answer   (super hub -> store hub): one per requested hash, in request order:
 *            a status byte, then the chunk's bytes when the status is OK
 *
 * Frames are read with it-length-prefixed, `maxDataLength` the protocol's ceiling,
 * through the length decoder every protocol shares (net/length-prefixed.ts
 * `strictLengthDecoder`): the library's default
 * decoder accepts a non-minimal varint and then consumes only as many bytes as the
 * minimal encoding of the value would take (`0x80 0x00` reads as length 0 and leaves
 * the `0x00` as the next frame), so a peer could desynchronise the framing; ours
 * refuses it, as the spec requires, and also applies a per-frame limit byte by byte.
 *
 * Errors are typed: E_WIRE_MESSAGE_TOO_LARGE for a frame or prefix over its limit,
 * E_WIRE_MALFORMED for anything else (a frame cut by the end of the stream too:
 * `endedMidFrame(err)` tells it apart, because a store hub may treat it as an end).
 */
import * as lp from 'it-length-prefixed'
import * as varint from 'uint8-varint'
import { z } from 'zod'
import { HASH_HEX_RE } from '../../bundle/hash.js'
import { StoremeshError, isStoremeshError } from '../../interface/errors.js'
import { parseStrictJson } from '../../interface/strict-json.js'
import { strictLengthDecoder } from '../../net/length-prefixed.js'
import { MAX_PULL_ANSWER_BYTES, MAX_PULL_BATCH_CHUNKS, MAX_PULL_PREFIX_BYTES, MAX_PULL_REQUEST_BYTES } from './constants.js'

/** The first byte of an answer (SPEC "Answer"). */
export const PULL_STATUS = { OK: 0, NOT_FOUND: 1 } as const

// ---- frames -------------------------------------------------------------------------

export interface DecodeFramesOptions {
  /** The protocol's ceiling for every frame (it-length-prefixed's `maxDataLength`). */
  maxDataLength: number
  /** A tighter limit for the n-th frame (0-based) of the stream, asked as its prefix is read. */
  maxFrameBytes?: (ordinal: number) => number
}

const TRUNCATED = 'the stream ended mid-frame'

/** The decoding failed only because the stream ended inside a frame. */
export function endedMidFrame (err: unknown): boolean {
  return isStoremeshError(err, 'E_WIRE_MALFORMED') && err.meta.truncated === true
}

/**
 * it-length-prefixed's errors as ours (they carry `code` strings of their own). Any
 * other error is not the framing's (the source failed: a reset, an abort) and passes
 * unchanged.
 */
function toFrameError (err: unknown): unknown {
  if (isStoremeshError(err)) return err
  const code = (err as { code?: unknown })?.code
  const message = (err as Error)?.message ?? String(err)
  if (code === 'ERR_MSG_DATA_TOO_LONG' || code === 'ERR_MSG_LENGTH_TOO_LONG') {
    return new StoremeshError('E_WIRE_MESSAGE_TOO_LARGE', message, {}, { cause: err })
  }
  if (code === 'ERR_UNEXPECTED_EOF') return new StoremeshError('E_WIRE_MALFORMED', TRUNCATED, { truncated: true }, { cause: err })
  if (code === 'ERR_INVALID_MSG_LENGTH') return new StoremeshError('E_WIRE_MALFORMED', message, {}, { cause: err })
  return err
}

/**
 * The frame bodies of `source`, in order. It pulls from `source` only while the
 * consumer waits for the next body, so back-pressure reaches the stream, and holds at
 * most one frame (plus the read that completed it).
 */
export async function * decodeFrames (source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: DecodeFramesOptions): AsyncGenerator<Uint8Array, void, undefined> {
  const { maxDataLength, maxFrameBytes } = options
  let ordinal = 0
  const limit = (): number => Math.min(maxDataLength, maxFrameBytes?.(ordinal) ?? maxDataLength)
  try {
    const frames = lp.decode(source, {
      maxDataLength,
      maxLengthLength: MAX_PULL_PREFIX_BYTES,
      lengthDecoder: strictLengthDecoder(limit, MAX_PULL_PREFIX_BYTES),
      onLength: () => { ordinal++ }
    })
    // one copy only when a frame spans several reads, as a hand framer would make
    for await (const frame of frames) yield frame.subarray()
  } catch (err) {
    throw toFrameError(err)
  }
}

/** One frame (prefix + body) as one buffer. */
function frame (body: Uint8Array, maxDataLength: number): Uint8Array {
  try {
    return lp.encode.single(body, { maxDataLength }).subarray()
  } catch (err) {
    throw new StoremeshError('E_INVALID_ARGUMENT', `a wan-pull frame of ${body.byteLength} bytes is over the limit ${maxDataLength}`, {}, { cause: err })
  }
}

// ---- request ------------------------------------------------------------------------

const pullRequestSchema = z.strictObject({
  hashes: z.array(z.string().regex(HASH_HEX_RE, 'a hash is not 64 lower-case hex digits'))
    .min(1, `1 to ${MAX_PULL_BATCH_CHUNKS} hashes`)
    .max(MAX_PULL_BATCH_CHUNKS, `1 to ${MAX_PULL_BATCH_CHUNKS} hashes`)
})

export type PullRequest = z.infer<typeof pullRequestSchema>

function firstIssue (error: z.ZodError): string {
  const issue = error.issues[0]
  if (issue === undefined) return 'invalid'
  return issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message
}

/** The request frame for `hashes`; we never send what a super hub would refuse. */
export function encodePullRequest (hashes: readonly string[]): Uint8Array {
  const parsed = pullRequestSchema.safeParse({ hashes })
  if (!parsed.success) {
    throw new StoremeshError('E_INVALID_ARGUMENT', `a pull request holds 1 to ${MAX_PULL_BATCH_CHUNKS} hashes of 64 lower-case hex digits: ${firstIssue(parsed.error)}`, { hashes: hashes.length })
  }
  return frame(new TextEncoder().encode(JSON.stringify(parsed.data)), MAX_PULL_REQUEST_BYTES)
}

/** The hashes of a request frame's body; anything but exactly `{hashes: [...]}` is E_WIRE_MALFORMED. */
export function decodePullRequest (body: Uint8Array): string[] {
  let x: unknown
  try {
    x = parseStrictJson(body, 'wan-pull request', { code: 'E_WIRE_MALFORMED' })
  } catch (err) {
    const reason = err instanceof StoremeshError ? String(err.meta.reason) : 'syntax'
    throw new StoremeshError('E_WIRE_MALFORMED', `bad wan-pull request: not UTF-8 JSON (${reason})`, { reason })
  }
  const parsed = pullRequestSchema.safeParse(x)
  if (!parsed.success) throw new StoremeshError('E_WIRE_MALFORMED', `bad wan-pull request: ${firstIssue(parsed.error)}`)
  // JSON.parse gives slices of the request's text (V8 sliced strings): a hash kept in a
  // map (what a peer was served, an origin's 404) would keep the whole ~4 KiB request
  // alive. A copy of 64 hex digits holds only itself (issue 17: super hub heap growth).
  return parsed.data.hashes.map(flatCopy)
}

/** A string of its own (hex, so latin1 round-trips it exactly). */
function flatCopy (hex: string): string {
  return Buffer.from(hex, 'latin1').toString('latin1')
}

// ---- answer -------------------------------------------------------------------------

/**
 * The answer to one hash as the parts to write in order: the prefix and status byte,
 * then the chunk's bytes themselves (never copied: the writer paces them in slices).
 */
export function encodePullAnswer (bytes: Uint8Array | undefined): Uint8Array[] {
  const size = bytes?.byteLength ?? 0
  if (1 + size > MAX_PULL_ANSWER_BYTES) {
    throw new StoremeshError('E_INVALID_ARGUMENT', `a chunk of ${size} bytes is over the wan-pull limit`, { bytes: size })
  }
  const prefix = varint.encode(1 + size)
  const head = new Uint8Array(prefix.byteLength + 1)
  head.set(prefix)
  head[prefix.byteLength] = bytes === undefined ? PULL_STATUS.NOT_FOUND : PULL_STATUS.OK
  return bytes === undefined ? [head] : [head, bytes]
}

/**
 * The chunk an answer frame's body carries for `want`, or undefined when the super hub
 * does not hold it. An OK of any other size than asked, a NOT_FOUND with a body or an
 * unknown status is E_WIRE_MALFORMED.
 */
export function decodePullAnswer (body: Uint8Array, want: { hash: string, size: number }): Uint8Array | undefined {
  const status = body[0]
  if (status === PULL_STATUS.NOT_FOUND && body.byteLength === 1) return undefined
  if (status === PULL_STATUS.OK && body.byteLength === 1 + want.size) return body.subarray(1)
  throw new StoremeshError('E_WIRE_MALFORMED', `bad answer for chunk ${want.hash}: status ${String(status)}, ${body.byteLength - 1} bytes, expected ${want.size}`)
}
