/**
 * A bounded decoder in front of bittorrent-protocol's parser. The library trusts the
 * 4-byte length prefix (a remote could make it buffer 4 GiB) and re-concatenates its
 * buffer on every write (quadratic for a 1 MiB piece in 64 KiB reads). This guard
 * checks every frame against the bundle and our limits before the library sees it,
 * fails closed with a typed error, and hands the library whole frames only.
 *
 * Accepted after the 68-byte handshake: keep-alive, choke, unchoke, interested,
 * not interested, have, one bitfield, request, piece, cancel, and BEP 10 extended
 * messages (the library sends an extended handshake by itself). Everything else —
 * port, the fast extension (never negotiated), unknown ids — is malformed.
 */
import { StoremeshError } from '../interface/errors.js'
import { Bits } from './bits.js'
import { HANDSHAKE_BYTES, PSTR } from './constants.js'

export const MSG = {
  CHOKE: 0,
  UNCHOKE: 1,
  INTERESTED: 2,
  UNINTERESTED: 3,
  HAVE: 4,
  BITFIELD: 5,
  REQUEST: 6,
  PIECE: 7,
  CANCEL: 8,
  EXTENDED: 20
} as const

export interface FrameLimits {
  numPieces: number
  maxChunkBytes: number
  maxExtendedBytes: number
}

const PSTR_BYTES = new TextEncoder().encode(PSTR)
const LENGTH_BYTES = 4

function malformed (message: string, meta: Record<string, string | number> = {}): StoremeshError {
  return new StoremeshError('E_WIRE_MALFORMED', message, meta)
}

export function readUint32 (buf: Uint8Array, at: number): number {
  return ((buf[at] ?? 0) * 2 ** 24) + ((buf[at + 1] ?? 0) << 16) + ((buf[at + 2] ?? 0) << 8) + (buf[at + 3] ?? 0)
}

function checkIndex (body: Uint8Array, limits: FrameLimits, name: string): void {
  const index = readUint32(body, 1)
  if (index >= limits.numPieces) {
    throw malformed(`${name} for chunk ${index} of a bundle with ${limits.numPieces}`, { index, pieces: limits.numPieces })
  }
}

/** Largest frame body (id + payload) we ever accept: a piece of the largest chunk. */
export function maxFrameBody (limits: FrameLimits): number {
  return Math.max(1 + 8 + limits.maxChunkBytes, 2 + limits.maxExtendedBytes, 1 + Bits.byteLengthFor(limits.numPieces))
}

/** Checks one message body (id + payload) against the rules of its id. */
export function checkMessage (body: Uint8Array, limits: FrameLimits, seenBitfield: boolean): void {
  const id = body[0]
  const len = body.length
  const exact = (n: number, name: string): void => {
    if (len !== n) throw malformed(`${name} message of ${len} bytes, expected ${n}`, { id: id ?? -1 })
  }
  switch (id) {
    case MSG.CHOKE: case MSG.UNCHOKE: case MSG.INTERESTED: case MSG.UNINTERESTED:
      return exact(1, 'state')
    case MSG.HAVE:
      exact(5, 'have')
      return checkIndex(body, limits, 'have')
    case MSG.BITFIELD: {
      const expected = 1 + Bits.byteLengthFor(limits.numPieces)
      if (seenBitfield) throw malformed('second bitfield')
      exact(expected, 'bitfield')
      if (!Bits.spareBitsClear(body.subarray(1), limits.numPieces)) throw malformed('bitfield has spare bits set')
      return
    }
    case MSG.REQUEST: case MSG.CANCEL: {
      const name = id === MSG.REQUEST ? 'request' : 'cancel'
      exact(13, name)
      checkIndex(body, limits, name)
      const length = readUint32(body, 9)
      if (length > limits.maxChunkBytes) {
        throw malformed(`${name} for ${length} bytes exceeds the chunk limit ${limits.maxChunkBytes}`, { bytes: length, limit: limits.maxChunkBytes })
      }
      return
    }
    case MSG.PIECE:
      if (len <= 9) throw malformed('empty piece')
      checkIndex(body, limits, 'piece')
      if (len - 9 > limits.maxChunkBytes) {
        throw new StoremeshError('E_WIRE_MESSAGE_TOO_LARGE', `piece of ${len - 9} bytes exceeds ${limits.maxChunkBytes}`,
          { bytes: len - 9, limit: limits.maxChunkBytes })
      }
      return
    case MSG.EXTENDED:
      if (len < 2) throw malformed('empty extended message')
      if (len - 2 > limits.maxExtendedBytes) {
        throw new StoremeshError('E_WIRE_MESSAGE_TOO_LARGE', `extended message of ${len - 2} bytes exceeds ${limits.maxExtendedBytes}`,
          { bytes: len - 2, limit: limits.maxExtendedBytes })
      }
      return
    default:
      throw malformed(`unexpected message id ${String(id)}`, { id: id ?? -1 })
  }
}

/**
 * Feed it raw bytes with push(); it calls `onFrame` with the handshake and then with
 * each whole message (length prefix included). push() throws a StoremeshError on the
 * first bad frame and refuses everything after it.
 */
export class FrameGuard {
  readonly #limits: FrameLimits
  readonly #maxBody: number
  readonly #onFrame: (frame: Uint8Array) => void
  #chunks: Uint8Array[] = []
  #buffered = 0
  #handshakeDone = false
  #seenBitfield = false
  #failed: StoremeshError | undefined

  constructor (limits: FrameLimits, onFrame: (frame: Uint8Array) => void) {
    this.#limits = limits
    this.#maxBody = maxFrameBody(limits)
    this.#onFrame = onFrame
  }

  /** Bytes held while waiting for the rest of a frame (bounded by one frame). */
  get bufferedBytes (): number {
    return this.#buffered
  }

  push (data: Uint8Array): void {
    if (this.#failed !== undefined) throw this.#failed
    if (data.length === 0) return
    this.#chunks.push(data)
    this.#buffered += data.length
    try {
      this.#drain()
    } catch (err) {
      this.#failed = err as StoremeshError
      this.#chunks = []
      this.#buffered = 0
      throw err
    }
  }

  #drain (): void {
    for (;;) {
      if (!this.#handshakeDone) {
        if (this.#buffered < 1) return
        if (this.#peek(1)[0] !== PSTR_BYTES.length) throw malformed('not a BitTorrent handshake')
        if (this.#buffered < HANDSHAKE_BYTES) return
        const hs = this.#take(HANDSHAKE_BYTES)
        for (let i = 0; i < PSTR_BYTES.length; i++) {
          if (hs[1 + i] !== PSTR_BYTES[i]) throw malformed('not a BitTorrent handshake')
        }
        this.#handshakeDone = true
        this.#onFrame(hs)
        continue
      }
      if (this.#buffered < LENGTH_BYTES) return
      const head = this.#peek(LENGTH_BYTES)
      const bodyLen = readUint32(head, 0)
      if (bodyLen > this.#maxBody) {
        throw new StoremeshError('E_WIRE_MESSAGE_TOO_LARGE', `wire message of ${bodyLen} bytes exceeds ${this.#maxBody}`,
          { bytes: bodyLen, limit: this.#maxBody })
      }
      if (this.#buffered < LENGTH_BYTES + bodyLen) return
      const frame = this.#take(LENGTH_BYTES + bodyLen)
      if (bodyLen > 0) {
        checkMessage(frame.subarray(LENGTH_BYTES), this.#limits, this.#seenBitfield)
        if (frame[LENGTH_BYTES] === MSG.BITFIELD) this.#seenBitfield = true
      }
      this.#onFrame(frame)
    }
  }

  /** The first n buffered bytes without consuming them (copies only across chunks). */
  #peek (n: number): Uint8Array {
    const first = this.#chunks[0] as Uint8Array
    if (first.length >= n) return first.subarray(0, n)
    const out = new Uint8Array(n)
    let off = 0
    for (const c of this.#chunks) {
      const part = c.subarray(0, n - off)
      out.set(part, off)
      off += part.length
      if (off === n) break
    }
    return out
  }

  /** Consumes n bytes (n <= buffered); one copy at most. */
  #take (n: number): Uint8Array {
    this.#buffered -= n
    const first = this.#chunks[0] as Uint8Array
    if (first.length >= n) {
      if (first.length === n) this.#chunks.shift()
      else this.#chunks[0] = first.subarray(n)
      return first.subarray(0, n)
    }
    // every byte is overwritten below: no zero fill (a piece is 256 KiB on average)
    const out = Buffer.allocUnsafeSlow(n)
    let off = 0
    while (off < n) {
      const c = this.#chunks[0] as Uint8Array
      const need = n - off
      if (c.length <= need) {
        out.set(c, off)
        off += c.length
        this.#chunks.shift()
      } else {
        out.set(c.subarray(0, need), off)
        off += need
        this.#chunks[0] = c.subarray(need)
      }
    }
    return out
  }
}
