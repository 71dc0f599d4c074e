/**
 * A fixed-size bit set in BitTorrent order (bit 0 is the high bit of byte 0), so its
 * bytes are a valid `bitfield` message body. Sized once; indices out of range throw,
 * because every caller validated them against the bundle first.
 */
export class Bits {
  readonly length: number
  readonly bytes: Uint8Array
  #count = 0

  constructor (length: number) {
    if (!Number.isInteger(length) || length < 0) throw new RangeError(`bad bit count ${length}`)
    this.length = length
    this.bytes = new Uint8Array(Bits.byteLengthFor(length))
  }

  static byteLengthFor (length: number): number {
    return Math.ceil(length / 8)
  }

  /** Copies a received bitfield; the caller checked its length and spare bits. */
  static from (bytes: Uint8Array, length: number): Bits {
    const b = new Bits(length)
    b.bytes.set(bytes.subarray(0, b.bytes.length))
    for (let i = 0; i < length; i++) if (b.get(i)) b.#count++
    return b
  }

  /** True when every bit past `length` in the last byte is zero (BEP 3 asks for it). */
  static spareBitsClear (bytes: Uint8Array, length: number): boolean {
    const spare = bytes.length * 8 - length
    if (spare <= 0) return true
    const last = bytes[bytes.length - 1] ?? 0
    return (last & ((1 << spare) - 1)) === 0
  }

  get count (): number {
    return this.#count
  }

  get complete (): boolean {
    return this.#count === this.length
  }

  get (index: number): boolean {
    this.#check(index)
    return ((this.bytes[index >> 3] ?? 0) & (0x80 >> (index & 7))) !== 0
  }

  /** Sets a bit; returns true if it was clear before. */
  set (index: number): boolean {
    // one check and one read (each peer's have of each chunk lands here: millions per simulated store)
    this.#check(index)
    const at = index >> 3
    const byte = this.bytes[at] ?? 0
    const bit = 0x80 >> (index & 7)
    if ((byte & bit) !== 0) return false
    this.bytes[at] = byte | bit
    this.#count++
    return true
  }

  /** Clears a bit; returns true if it was set before. */
  clear (index: number): boolean {
    if (!this.get(index)) return false
    this.bytes[index >> 3] = (this.bytes[index >> 3] ?? 0) & ~(0x80 >> (index & 7))
    this.#count--
    return true
  }

  * indices (): IterableIterator<number> {
    for (let i = 0; i < this.length; i++) if (this.get(i)) yield i
  }

  #check (index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new RangeError(`bit ${index} out of range 0..${this.length - 1}`)
    }
  }
}
