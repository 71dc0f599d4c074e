/**
 * Chunk availability of one bundle from the have-sets (bitfields) of its holders: the
 * figures a BitTorrent client shows as "availability" / "distributed copies".
 *
 *   copies[i]          holders of chunk i
 *   minCopies          min over chunks of copies[i] (0: some chunk is nowhere in the store)
 *   distributedCopies  minCopies + (chunks with more than minCopies copies) / pieceCount;
 *                      e.g. 2.25 = every chunk twice, a quarter of them at least three times
 *   chunksAtMin        chunks with exactly minCopies copies (the rarest chunks)
 *
 * Bitfields are in BitTorrent wire order (piece i is bit 7 - i % 8 of byte i / 8). A
 * bitfield shorter than the bundle counts the missing tail as not held; bits past
 * `pieceCount` are ignored, so a malformed have-set can never inflate the figures.
 * Pure: no I/O.
 */

export interface AvailabilityFigures {
  pieceCount: number
  /** bitfields counted */
  holders: number
  minCopies: number
  distributedCopies: number
  chunksAtMin: number
  /** holders whose bitfield has every chunk */
  completeHolders: number
}

/** Whether piece `index` is set in a wire-order bitfield (false past its end). */
export function hasPiece (bitfield: Uint8Array, index: number): boolean {
  const byte = bitfield[index >> 3]
  return byte !== undefined && (byte & (0x80 >> (index & 7))) !== 0
}

/** Pieces set in the bitfield, counting only indices below pieceCount. */
export function heldCount (bitfield: Uint8Array, pieceCount: number): number {
  let n = 0
  for (let i = 0; i < pieceCount; i++) if (hasPiece(bitfield, i)) n++
  return n
}

/** Holders per chunk. */
export function chunkCopies (pieceCount: number, bitfields: readonly Uint8Array[]): Uint32Array {
  checkCount(pieceCount)
  const copies = new Uint32Array(pieceCount)
  for (const bits of bitfields) {
    for (let i = 0; i < pieceCount; i++) if (hasPiece(bits, i)) copies[i]!++
  }
  return copies
}

export function availabilityOf (pieceCount: number, bitfields: readonly Uint8Array[]): AvailabilityFigures {
  const copies = chunkCopies(pieceCount, bitfields)
  const completeHolders = pieceCount === 0 ? bitfields.length : bitfields.filter(b => heldCount(b, pieceCount) === pieceCount).length
  if (pieceCount === 0) {
    return { pieceCount, holders: bitfields.length, minCopies: 0, distributedCopies: 0, chunksAtMin: 0, completeHolders }
  }
  let min = Number.POSITIVE_INFINITY
  for (const c of copies) if (c < min) min = c
  let atMin = 0
  for (const c of copies) if (c === min) atMin++
  return {
    pieceCount,
    holders: bitfields.length,
    minCopies: min,
    distributedCopies: min + (pieceCount - atMin) / pieceCount,
    chunksAtMin: atMin,
    completeHolders
  }
}

function checkCount (pieceCount: number): void {
  if (!Number.isSafeInteger(pieceCount) || pieceCount < 0) throw new RangeError(`bad piece count ${pieceCount}`)
}
