/**
 * How many connected peers hold each chunk (after webtorrent's lib/rarity-map.js):
 * updated from bitfields, haves and peer departures, and asked for the rarest chunk
 * among candidates, ties broken at random so that peers starting together spread
 * over different chunks instead of all asking for chunk 0.
 *
 * The chunks we still want are also kept in buckets by count (as libtorrent's piece
 * picker keeps its pieces sorted by availability): pickWanted() looks at the rarest
 * bucket first and stops in the first bucket that holds a candidate, so a pick costs
 * about the chunks it inspects, not the bundle's chunk count (4,096 for 1 GiB; issue
 * #19). pick() still scans everything, for callers whose candidates are not "wanted".
 */
import type { Bits } from './bits.js'

/** not in any bucket: held, or never tracked */
const UNTRACKED = -1

export class RarityMap {
  readonly #counts: Uint32Array
  readonly #random: () => number
  /** bucket (count) each wanted chunk sits in, or UNTRACKED */
  readonly #bucketOf: Int32Array
  /** position of each wanted chunk inside its bucket */
  readonly #pos: Int32Array
  /** wanted chunks by count; order is arbitrary (swap-removal) */
  readonly #buckets: number[][] = []

  /** With `trackWanted`, every chunk starts wanted (see pickWanted and setHeld). */
  constructor (numPieces: number, random: () => number = Math.random, options: { trackWanted?: boolean } = {}) {
    this.#counts = new Uint32Array(numPieces)
    this.#random = random
    this.#bucketOf = new Int32Array(numPieces).fill(UNTRACKED)
    this.#pos = new Int32Array(numPieces)
    if (options.trackWanted === true) {
      const zero: number[] = []
      for (let i = 0; i < numPieces; i++) {
        this.#bucketOf[i] = 0
        this.#pos[i] = i
        zero.push(i)
      }
      this.#buckets[0] = zero
    }
  }

  get length (): number {
    return this.#counts.length
  }

  count (index: number): number {
    return this.#counts[index] ?? 0
  }

  addBits (bits: Bits): void {
    for (const i of bits.indices()) this.#set(i, (this.#counts[i] ?? 0) + 1)
  }

  removeBits (bits: Bits): void {
    for (const i of bits.indices()) this.#set(i, Math.max(0, (this.#counts[i] ?? 0) - 1))
  }

  add (index: number): void {
    this.#set(index, (this.#counts[index] ?? 0) + 1)
  }

  remove (index: number): void {
    this.#set(index, Math.max(0, (this.#counts[index] ?? 0) - 1))
  }

  /** We hold `index` now: it leaves the wanted buckets for good. */
  setHeld (index: number): void {
    const b = this.#bucketOf[index]
    if (b === undefined || b === UNTRACKED) return
    this.#take(index, b)
    this.#bucketOf[index] = UNTRACKED
  }

  /**
   * The candidate with the lowest key, ties broken uniformly at random (reservoir
   * sampling); undefined when no index is a candidate. `key` defaults to the count.
   */
  pick (isCandidate: (index: number) => boolean, key: (index: number) => number = i => this.count(i)): number | undefined {
    let best: number | undefined
    let bestKey = Infinity
    let ties = 0
    for (let i = 0; i < this.#counts.length; i++) {
      if (!isCandidate(i)) continue
      const k = key(i)
      if (k < bestKey) {
        best = i
        bestKey = k
        ties = 1
      } else if (k === bestKey) {
        ties++
        if (this.#random() * ties < 1) best = i
      }
    }
    return best
  }

  /**
   * The rarest wanted chunk that is a candidate: buckets from count 1 up (a chunk no
   * peer holds cannot be asked of anyone), each scanned from a random position, the
   * first candidate of the first bucket that has one. Among the equally rare, which
   * one comes first depends on the random start, so peers that start together still
   * spread. Only with `trackWanted`.
   */
  pickWanted (isCandidate: (index: number) => boolean): number | undefined {
    for (let c = 1; c < this.#buckets.length; c++) {
      const bucket = this.#buckets[c]
      const i = this.#scan(bucket, isCandidate)
      if (i !== undefined) return i
    }
    return undefined
  }

  /**
   * A candidate among the tracked chunks held by exactly `count` peers, scanned from a
   * random position (as pickWanted); cost is that bucket's size, not the bundle's.
   * The super-seeder asks for count 0 (chunks nobody holds). Only with `trackWanted`.
   */
  pickAtCount (count: number, isCandidate: (index: number) => boolean): number | undefined {
    return this.#scan(this.#buckets[count], isCandidate)
  }

  /** The first candidate of a bucket, scanned from a random position. */
  #scan (bucket: readonly number[] | undefined, isCandidate: (index: number) => boolean): number | undefined {
    if (bucket === undefined || bucket.length === 0) return undefined
    const n = bucket.length
    const start = Math.floor(this.#random() * n) % n
    for (let j = 0; j < n; j++) {
      const i = bucket[(start + j) % n]!
      if (isCandidate(i)) return i
    }
    return undefined
  }

  #set (index: number, count: number): void {
    const from = this.#bucketOf[index]
    this.#counts[index] = count
    if (from === undefined || from === UNTRACKED || from === count) return
    this.#take(index, from)
    const to = (this.#buckets[count] ??= [])
    this.#pos[index] = to.length
    to.push(index)
    this.#bucketOf[index] = count
  }

  /** swap-removal from bucket `b` */
  #take (index: number, b: number): void {
    const bucket = this.#buckets[b]!
    const at = this.#pos[index]!
    const last = bucket.pop()!
    if (last !== index) {
      bucket[at] = last
      this.#pos[last] = at
    }
  }
}
