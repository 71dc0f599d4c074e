/**
 * A bounded framer in front of bittorrent-protocol's parser, kept because the library
 * needs it. Checked against bittorrent-protocol 5.0.9 (node_modules/bittorrent-protocol/index.js):
 *
 * - `_onMessageLength` trusts any uint32 length prefix and waits for that many bytes:
 *   a remote could make a wire buffer up to 4 GiB. There is no option to bound it.
 * - `_write` concatenates everything buffered into one buffer on every write, so a
 *   1 MiB piece arriving in 64 KiB reads costs about 8.5 MiB of copies (quadratic).
 *   Handed whole frames only, it concatenates nothing.
 * - `_onMessage` dispatches port (9) and the fast extension (0x0D-0x11) and emits
 *   unknown ids, and `_onHave`, `_onBitField` and `_onRequest` take any index, length
 *   and bitfield size; the fast-extension ids are refused only once dispatched.
 *
 * So every frame is checked against the bundle and our limits (messages.ts) as soon
 * as its length prefix is read, before its payload is buffered; a violation fails
 * closed with a typed error (E_WIRE_MESSAGE_TOO_LARGE / E_WIRE_MALFORMED), and the
 * library sees whole, valid frames only. Not it-length-prefixed: the BitTorrent wire
 * has a fixed 4-byte big-endian prefix, a 68-byte handshake without one, and the
 * library must receive the prefix too.
 */
import { StoremeshError } from '../interface/errors.js'
import { HANDSHAKE_BYTES, PSTR } from './constants.js'
import { MSG, checkMessage, maxFrameBody, parseHandshake, readUint32, type FrameLimits } from './messages.js'

const PSTR_BYTES = new TextEncoder().encode(PSTR)
const LENGTH_BYTES = 4

function malformed (message: string): StoremeshError {
  return new StoremeshError('E_WIRE_MALFORMED', message)
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

  /**
   * The id of a frame begun and not complete (length prefix and id read), if any:
   * every whole frame is passed on at once, so a stream that ends now cut this one.
   */
  get pendingFrameId (): number | undefined {
    if (!this.#handshakeDone || this.#failed !== undefined || this.#buffered < LENGTH_BYTES + 1) return undefined
    return this.#peek(LENGTH_BYTES + 1)[LENGTH_BYTES]
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
        parseHandshake(hs)
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
