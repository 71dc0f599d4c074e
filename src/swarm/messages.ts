/**
 * The messages of `/storemesh/chunks/1.0.0` (protocols/chunks/SPEC.md, "Framing" and
 * "Messages and limits"): the BitTorrent peer wire (BEP 3) as bittorrent-protocol
 * writes it, and the one place what a remote sends is decoded and checked. The
 * library encodes every message we send; here is what we accept:
 *
 *   handshake  <pstrlen=19><"BitTorrent protocol"><8 reserved><20 info-hash><20 peer id>
 *   message    <length: uint32 big-endian><id: 1 byte><payload: length-1 bytes>; length 0 is a keep-alive
 *
 * Accepted after the handshake: keep-alive, choke, unchoke, interested, not
 * interested, have, one bitfield, request, piece, cancel, and BEP 10 extended
 * messages (the library sends an extended handshake by itself). Everything else —
 * port, the fast extension (never negotiated), unknown ids — is malformed. The
 * FrameGuard (frame-guard.ts) applies these checks to every frame before the library
 * sees it; the wire (wire.ts) then checks what needs the session's state (a piece
 * answers a request of ours, a request's size is the chunk's).
 */
import { StoremeshError } from '../interface/errors.js'
import { Bits } from './bits.js'
import { HANDSHAKE_BYTES, INFO_HASH_BYTES, PSTR, WIRE_PEER_ID_BYTES } from './constants.js'

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
      if (seenBitfield) throw malformed('second bitfield', { violation: 'bitfield-repeat' })
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

// ---- handshake ----------------------------------------------------------------------

const PSTR_BYTES = new TextEncoder().encode(PSTR)

export interface Handshake {
  infoHash: Uint8Array
  peerId: Uint8Array
}

/** Parses the 68-byte handshake; anything else is E_WIRE_MALFORMED. */
export function parseHandshake (bytes: Uint8Array): Handshake {
  if (bytes.length < HANDSHAKE_BYTES || bytes[0] !== PSTR_BYTES.length) {
    throw new StoremeshError('E_WIRE_MALFORMED', 'not a BitTorrent handshake')
  }
  for (let i = 0; i < PSTR_BYTES.length; i++) {
    if (bytes[1 + i] !== PSTR_BYTES[i]) throw new StoremeshError('E_WIRE_MALFORMED', 'not a BitTorrent handshake')
  }
  const at = 1 + PSTR_BYTES.length + 8
  return {
    infoHash: bytes.slice(at, at + INFO_HASH_BYTES),
    peerId: bytes.slice(at + INFO_HASH_BYTES, at + INFO_HASH_BYTES + WIRE_PEER_ID_BYTES)
  }
}
