/**
 * How many connected peers hold each chunk (after webtorrent's lib/rarity-map.js):
 * updated from bitfields, haves and peer departures, and asked for the rarest chunk
 * among candidates, ties broken at random so that peers starting together spread
 * over different chunks instead of all asking for chunk 0.
 */
import type { Bits } from './bits.js'

export class RarityMap {
  readonly #counts: Uint32Array
  readonly #random: () => number

  constructor (numPieces: number, random: () => number = Math.random) {
    this.#counts = new Uint32Array(numPieces)
    this.#random = random
  }

  get length (): number {
    return this.#counts.length
  }

  count (index: number): number {
    return this.#counts[index] ?? 0
  }

  addBits (bits: Bits): void {
    for (const i of bits.indices()) this.#counts[i] = (this.#counts[i] ?? 0) + 1
  }

  removeBits (bits: Bits): void {
    for (const i of bits.indices()) this.#counts[i] = Math.max(0, (this.#counts[i] ?? 0) - 1)
  }

  add (index: number): void {
    this.#counts[index] = (this.#counts[index] ?? 0) + 1
  }

  remove (index: number): void {
    this.#counts[index] = Math.max(0, (this.#counts[index] ?? 0) - 1)
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
}
