/**
 * Bounded, length-prefixed messages for small control protocols (manifest, lease,
 * report): an unsigned LEB128 varint length, then that many bytes (the multiformats
 * `unsigned-varint` framing, minimal encoding, as `@libp2p/utils` lpStream writes it).
 *
 * Every read has a maximum and a deadline. A length over the maximum fails before the
 * body is read; any failed read aborts the stream, because the framing is lost
 * (fail closed). Errors are typed: E_WIRE_MESSAGE_TOO_LARGE, E_TIMEOUT, E_ABORTED,
 * E_WIRE_MALFORMED (the stream ended or reset mid-message).
 */
import { byteStream } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import { StoremeshError, isStoremeshError } from '../interface/errors.js'
import { DEFAULT_MAX_STREAM_WINDOW_BYTES, DEFAULT_MESSAGE_TIMEOUT_MS, MAX_VARINT_BYTES } from './constants.js'

export interface MessageOptions {
  signal?: AbortSignal
  /** @default DEFAULT_MESSAGE_TIMEOUT_MS (30 s) */
  timeoutMs?: number
}

export interface BoundedReadOptions extends MessageOptions {
  /** the largest body accepted, in bytes */
  maxBytes: number
}

interface Deadline {
  signal: AbortSignal
  timeout: AbortSignal
}

function deadline (options: MessageOptions): Deadline {
  const timeout = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_MESSAGE_TIMEOUT_MS)
  const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout])
  return { signal, timeout }
}

function toWireError (err: unknown, d: Deadline, what: string, meta: Record<string, number | string>): StoremeshError {
  if (isStoremeshError(err)) return err
  // a caller's signal built with AbortSignal.timeout() is a timeout too
  const reason = d.signal.reason as Error | undefined
  if (d.timeout.aborted || (d.signal.aborted && reason?.name === 'TimeoutError')) {
    return new StoremeshError('E_TIMEOUT', `timed out ${what}`, meta, { cause: err })
  }
  if (d.signal.aborted) return new StoremeshError('E_ABORTED', `aborted ${what}`, meta, { cause: err })
  const name = (err as Error)?.name ?? ''
  if (name === 'StreamBufferError') {
    return new StoremeshError('E_WIRE_MESSAGE_TOO_LARGE', `read buffer overflow ${what}`, meta, { cause: err })
  }
  return new StoremeshError('E_WIRE_MALFORMED', `stream failed ${what}: ${(err as Error)?.message ?? String(err)}`, meta, { cause: err })
}

/** The framing is lost: detach, reset the stream, and hand back the error to throw. */
function fail (stream: Stream, bytes: { unwrap: () => unknown }, err: StoremeshError): StoremeshError {
  try {
    bytes.unwrap()
  } catch {
    // the stream is already closed: nothing to hand back
  }
  stream.abort(err)
  return err
}

/** Bytes of the minimal unsigned varint for `n`. */
export function varintLength (n: number): number {
  let len = 1
  while (n >= 0x80) { n = Math.floor(n / 0x80); len++ }
  return len
}

export function encodeVarint (n: number): Uint8Array {
  const out = new Uint8Array(varintLength(n))
  for (let i = 0; i < out.length; i++) {
    const low = n % 0x80
    n = Math.floor(n / 0x80)
    out[i] = n > 0 ? low | 0x80 : low
  }
  return out
}

/**
 * Reads one length-prefixed message of at most `maxBytes`. Bytes after it stay on the
 * stream for the next read. On any failure the stream is aborted and a typed error thrown.
 *
 * The varint is parsed here, not by lpStream: lpStream keeps reading a varint whose
 * continuation bit never clears (0x80 0x80 ...), so a peer could hold a reader forever.
 */
export async function readBounded (stream: Stream, options: BoundedReadOptions): Promise<Uint8Array> {
  const { maxBytes } = options
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new StoremeshError('E_INVALID_ARGUMENT', `maxBytes must be a non-negative integer, got ${maxBytes}`)
  }
  const d = deadline(options)
  const meta = { protocol: stream.protocol ?? '', maxBytes }
  const bytes = byteStream(stream, {
    // room for the message, its prefix, and what a peer sends behind it within one window
    maxBufferSize: maxBytes + MAX_VARINT_BYTES + DEFAULT_MAX_STREAM_WINDOW_BYTES
  })
  try {
    const maxPrefixBytes = Math.min(varintLength(maxBytes), MAX_VARINT_BYTES)
    let length = 0
    for (let i = 0; ; i++) {
      if (i >= maxPrefixBytes) throw new StoremeshError('E_WIRE_MESSAGE_TOO_LARGE', 'length prefix too long', meta)
      const b = (await bytes.read({ bytes: 1, signal: d.signal })).get(0)
      if (i > 0 && b === 0) throw new StoremeshError('E_WIRE_MALFORMED', 'length prefix is not minimally encoded', meta)
      length += (b & 0x7f) * 2 ** (7 * i)
      if (length > maxBytes) {
        throw new StoremeshError('E_WIRE_MESSAGE_TOO_LARGE', `message of ${length}+ bytes, limit ${maxBytes}`, { ...meta, bytes: length })
      }
      if ((b & 0x80) === 0) break
    }
    const body = length === 0 ? new Uint8Array(0) : (await bytes.read({ bytes: length, signal: d.signal })).subarray()
    bytes.unwrap()
    return body
  } catch (err) {
    throw fail(stream, bytes, toWireError(err, d, 'reading a message', meta))
  }
}

/** Writes one length-prefixed message and waits until the stream accepted it. */
export async function writeMessage (stream: Stream, data: Uint8Array, options: MessageOptions = {}): Promise<void> {
  const d = deadline(options)
  const bytes = byteStream(stream)
  try {
    const prefix = encodeVarint(data.byteLength)
    const frame = new Uint8Array(prefix.byteLength + data.byteLength)
    frame.set(prefix)
    frame.set(data, prefix.byteLength)
    // byteStream.write waits on the 'drain' event every time (not onDrain())
    await bytes.write(frame, { signal: d.signal })
    bytes.unwrap()
  } catch (err) {
    throw fail(stream, bytes, toWireError(err, d, 'writing a message', { protocol: stream.protocol ?? '', bytes: data.byteLength }))
  }
}
