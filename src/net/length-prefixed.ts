/**
 * Bounded, length-prefixed messages of the small control protocols (manifest, lease,
 * report): an unsigned LEB128 varint length, then that many bytes (the multiformats
 * `unsigned-varint` framing, minimally encoded, as `@libp2p/utils` lpStream writes it).
 *
 * The framing is it-length-prefixed's, composed with it-pipe, the libp2p ecosystem's
 * way; each side has a `maxDataLength`:
 *
 * ```ts
 * await pipe([body], src => lp.encode(src, { maxDataLength }), duplex)             // writeMessage
 * const body = await pipe(duplex, src => lp.decode(src, { maxDataLength, ... }), first) // readBounded
 * ```
 *
 * it-pipe 3 does not take a libp2p 3 stream (STACK-NOTES), so `messageDuplex()` is the
 * adapter, with the traps the notes list avoided:
 * - its source reads exactly what the decoder asks for (the prefix a byte at a time,
 *   then the whole body, told by the decoder's `onLength`), through `byteStream`, so
 *   bytes behind a message stay on the stream for the next read; what a peer sends
 *   beyond the message, its prefix and one window aborts the stream (byteStream's
 *   `maxBufferSize`); EOF is the stream's readable end, never `remoteCloseWrite` alone.
 *   (`lp.decode.fromReader` does the same in principle, but resets its read size to
 *   one byte after every chunk: a 4 MiB manifest would be read a byte at a time.)
 * - its sink waits for the `drain` event every time send() returns false (not
 *   `onDrain()`, which only waits the first time), and for nothing else.
 *
 * One guard stays ours: it-length-prefixed's default length decoder reads a
 * non-minimal varint (`85 00` = 5 in two bytes) and then consumes only the bytes of
 * the minimal form (one), so the `00` would become the first body byte and the framing
 * would slip silently. The specs require minimal encoding, so `strictLengthDecoder`
 * refuses it (E_WIRE_MALFORMED). The prefix's length is bounded by the library
 * (`maxLengthLength`, the bytes `maxBytes` needs), so a varint that never ends is
 * refused after a few bytes.
 *
 * Every read has a maximum and a deadline. A length over the maximum fails before the
 * body is read; any failed read or write aborts the stream, because the framing is lost
 * (fail closed). Errors are typed: E_WIRE_MESSAGE_TOO_LARGE, E_TIMEOUT, E_ABORTED,
 * E_WIRE_MALFORMED (the stream ended or reset mid-message, or a bad prefix).
 */
import { byteStream } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import * as lp from 'it-length-prefixed'
import { pipe } from 'it-pipe'
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

export interface WriteMessageOptions extends MessageOptions {
  /** the largest body this side may send (the spec's limit); larger is E_WIRE_MESSAGE_TOO_LARGE, nothing sent. @default no limit */
  maxBytes?: number
}

/** The list of buffers it-length-prefixed hands its length decoder. */
type LengthBytes = Parameters<lp.LengthDecoderFunction>[0]

/** What it-pipe takes as a duplex: a source of bytes and a sink of bytes. */
export interface MessageDuplex {
  source: AsyncIterable<Uint8Array>
  sink: (source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>) => Promise<void>
  /** the decoder's `onLength`: the next pull reads exactly this many bytes (then one at a time again) */
  expect: (bytes: number) => void
  /** detaches the reader and hands unread bytes back to the stream */
  release: () => void
}

export interface MessageDuplexInit {
  signal: AbortSignal
  /** read buffer before the stream is aborted (a peer sending far past one message) */
  maxBufferBytes: number
}

/** Bytes of the minimal unsigned varint for `n`. */
export function varintLength (n: number): number {
  let len = 1
  while (n >= 0x80) { n = Math.floor(n / 0x80); len++ }
  return len
}

/**
 * it-length-prefixed's `lengthDecoder`, the one every storemesh protocol reads lengths
 * with: a LEB128 varint that must be minimally encoded, of at most `maxPrefixBytes`,
 * whose value may not pass `maxBytes()` (asked per prefix, so a protocol can tighten
 * the limit per frame). The checks run per byte, in the specs' order: a prefix too
 * long, a zero continuation byte (not minimal), a length already over the limit. A
 * prefix not complete yet throws a RangeError, which the library takes as "wait for
 * more bytes"; anything else ends the decoding.
 */
export function strictLengthDecoder (maxBytes: () => number, maxPrefixBytes: number = MAX_VARINT_BYTES): lp.LengthDecoderFunction {
  const read = (buf: LengthBytes): number => {
    const max = maxBytes()
    let length = 0
    for (let i = 0; ; i++) {
      if (i >= buf.byteLength) throw new RangeError('length prefix not complete yet')
      if (i >= maxPrefixBytes) throw new StoremeshError('E_WIRE_MESSAGE_TOO_LARGE', 'length prefix too long')
      const b = buf.get(i)
      if (i > 0 && b === 0) throw new StoremeshError('E_WIRE_MALFORMED', 'length prefix is not minimally encoded')
      length += (b & 0x7f) * 2 ** (7 * i)
      if (length > max) throw new StoremeshError('E_WIRE_MESSAGE_TOO_LARGE', `frame of ${length}+ bytes, limit ${max}`, { bytes: length, maxBytes: max })
      if ((b & 0x80) === 0) {
        decoder.bytes = i + 1
        return length
      }
    }
  }
  const decoder: lp.LengthDecoderFunction = Object.assign(read, { bytes: 0 })
  return decoder
}

/** Resolves on the stream's next `drain` event; rejects on close or abort. */
async function drained (stream: Stream, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted()
  await new Promise<void>((resolve, reject) => {
    const done = (): void => {
      stream.removeEventListener('drain', onDrain)
      stream.removeEventListener('close', onClose)
      signal.removeEventListener('abort', onAbort)
    }
    const onDrain = (): void => { done(); resolve() }
    const onClose = (): void => { done(); reject(new Error(`stream closed while waiting to write (${stream.status})`)) }
    const onAbort = (): void => { done(); reject(signal.reason) }
    stream.addEventListener('drain', onDrain)
    stream.addEventListener('close', onClose)
    signal.addEventListener('abort', onAbort)
  })
}

/** A libp2p v3 stream as the duplex it-pipe expects; see the file comment. */
export function messageDuplex (stream: Stream, init: MessageDuplexInit): MessageDuplex {
  const { signal } = init
  let bytes: ReturnType<typeof byteStream> | undefined
  let want = 1
  return {
    source: {
      async * [Symbol.asyncIterator] () {
        bytes ??= byteStream(stream, { maxBufferSize: init.maxBufferBytes })
        while (true) {
          const n = want
          want = 1
          // throws UnexpectedEOFError when the stream ends first, even at a message boundary
          yield (await bytes.read({ bytes: n, signal })).subarray()
        }
      }
    },
    sink: async (source) => {
      for await (const chunk of source) {
        if (!stream.send(chunk)) await drained(stream, signal)
      }
    },
    expect: (n) => { want = n },
    release: () => {
      try {
        bytes?.unwrap()
      } catch {
        // the stream is already closed: nothing to hand back
      }
    }
  }
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

/** The codes it-length-prefixed and byteStream fail with, as ours. */
const TOO_LARGE_CODES = new Set(['ERR_MSG_DATA_TOO_LONG', 'ERR_MSG_LENGTH_TOO_LONG'])

function toWireError (err: unknown, d: Deadline, what: string, meta: Record<string, number | string>): StoremeshError {
  if (isStoremeshError(err)) return err
  // a caller's signal built with AbortSignal.timeout() is a timeout too
  const reason = d.signal.reason as Error | undefined
  if (d.timeout.aborted || (d.signal.aborted && reason?.name === 'TimeoutError')) {
    return new StoremeshError('E_TIMEOUT', `timed out ${what}`, meta, { cause: err })
  }
  if (d.signal.aborted) return new StoremeshError('E_ABORTED', `aborted ${what}`, meta, { cause: err })
  const e = err as { name?: string, code?: string, message?: string } | undefined
  if (e?.name === 'StreamBufferError' || TOO_LARGE_CODES.has(e?.code ?? '')) {
    return new StoremeshError('E_WIRE_MESSAGE_TOO_LARGE', `${e?.message ?? 'message too large'} ${what}`, meta, { cause: err })
  }
  return new StoremeshError('E_WIRE_MALFORMED', `stream failed ${what}: ${e?.message ?? String(err)}`, meta, { cause: err })
}

/** The framing is lost: detach, reset the stream, and hand back the error to throw. */
function fail (stream: Stream, duplex: MessageDuplex, err: StoremeshError): StoremeshError {
  duplex.release()
  stream.abort(err)
  return err
}

/**
 * Reads one length-prefixed message of at most `maxBytes`. Bytes after it stay on the
 * stream for the next read. On any failure the stream is aborted and a typed error thrown.
 */
export async function readBounded (stream: Stream, options: BoundedReadOptions): Promise<Uint8Array> {
  const { maxBytes } = options
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new StoremeshError('E_INVALID_ARGUMENT', `maxBytes must be a non-negative integer, got ${maxBytes}`)
  }
  const d = deadline(options)
  const meta = { protocol: stream.protocol ?? '', maxBytes }
  const duplex = messageDuplex(stream, {
    signal: d.signal,
    // room for the message, its prefix, and what a peer sends behind it within one window
    maxBufferBytes: maxBytes + MAX_VARINT_BYTES + DEFAULT_MAX_STREAM_WINDOW_BYTES
  })
  try {
    const body = await pipe(
      duplex,
      (source) => lp.decode(source, {
        maxDataLength: maxBytes,
        maxLengthLength: Math.min(varintLength(maxBytes), MAX_VARINT_BYTES),
        lengthDecoder: strictLengthDecoder(() => maxBytes),
        onLength: duplex.expect
      }),
      async (messages) => {
        for await (const message of messages) return message.subarray()
        throw new StoremeshError('E_WIRE_MALFORMED', 'the stream ended before a message', meta)
      }
    )
    duplex.release()
    return body
  } catch (err) {
    throw fail(stream, duplex, toWireError(err, d, 'reading a message', meta))
  }
}

/** Writes one length-prefixed message and waits until the stream accepted it (drain honoured). */
export async function writeMessage (stream: Stream, data: Uint8Array, options: WriteMessageOptions = {}): Promise<void> {
  const maxBytes = options.maxBytes ?? Number.MAX_SAFE_INTEGER
  const meta = { protocol: stream.protocol ?? '', bytes: data.byteLength }
  if (data.byteLength > maxBytes) {
    // a bug of ours, not the peer's: nothing was sent, the framing is intact
    throw new StoremeshError('E_WIRE_MESSAGE_TOO_LARGE', `message of ${data.byteLength} bytes, limit ${maxBytes}`, { ...meta, maxBytes })
  }
  const d = deadline(options)
  const duplex = messageDuplex(stream, { signal: d.signal, maxBufferBytes: 0 })
  try {
    await pipe([data], (source) => lp.encode(source, { maxDataLength: maxBytes }), duplex)
  } catch (err) {
    throw fail(stream, duplex, toWireError(err, d, 'writing a message', meta))
  }
}
