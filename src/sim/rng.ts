/**
 * A seeded PRNG (xoshiro128**, seeded through splitmix32) and the few distributions the
 * model draws from. Deterministic across runs and machines: the same seed gives the
 * same stream, which is what makes a simulated report reproducible byte for byte.
 *
 * Streams are forked by label (`rng.fork(storeIndex)`), so what a store draws does not
 * depend on how many numbers another store drew before it.
 */

function splitmix32 (state: number): () => number {
  let s = state >>> 0
  return () => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
}

const TWO_POW_32 = 4294967296

export class Rng {
  #a: number
  #b: number
  #c: number
  #d: number
  readonly seed: number

  constructor (seed: number) {
    this.seed = seed >>> 0
    const sm = splitmix32(this.seed)
    this.#a = sm()
    this.#b = sm()
    this.#c = sm()
    this.#d = sm()
    if ((this.#a | this.#b | this.#c | this.#d) === 0) this.#a = 1
  }

  /** A 32-bit unsigned integer. */
  nextU32 (): number {
    const r = Math.imul(rotl(Math.imul(this.#b, 5) >>> 0, 7), 9) >>> 0
    const t = (this.#b << 9) >>> 0
    this.#c ^= this.#a
    this.#d ^= this.#b
    this.#b ^= this.#c
    this.#a ^= this.#d
    this.#c ^= t
    this.#d = rotl(this.#d, 11)
    return r
  }

  /** Uniform in [0, 1). */
  next (): number {
    return this.nextU32() / TWO_POW_32
  }

  /** The same function, bound: what the swarm engines take as `random`. */
  readonly random = (): number => this.next()

  /** An independent stream for `label` (a store index, a purpose). */
  fork (label: number): Rng {
    return new Rng((Math.imul(this.seed ^ 0x5bd1e995, 0x01000193) + Math.imul(label + 1, 0x9e3779b1)) >>> 0)
  }

  /** Uniform integer in [lo, hi]. */
  int (lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1))
  }

  /** True with probability p. */
  chance (p: number): boolean {
    return this.next() < p
  }

  /** Exponential with the given mean. */
  exp (mean: number): number {
    return -mean * Math.log(1 - this.next())
  }

  /** Standard normal (Box-Muller; one value per call keeps the stream simple). */
  normal (): number {
    const u = 1 - this.next()
    const v = this.next()
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
  }

  /** Log-normal given its median and the sigma of its logarithm. */
  logNormal (median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal())
  }

  /** One item, with probability proportional to its weight. */
  weighted<T> (items: ReadonlyArray<{ weight: number, value: T }>): T {
    const total = items.reduce((a, b) => a + b.weight, 0)
    let x = this.next() * total
    for (const it of items) {
      x -= it.weight
      if (x < 0) return it.value
    }
    return (items[items.length - 1] as { value: T }).value
  }
}

function rotl (x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0
}
