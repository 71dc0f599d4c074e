/**
 * A Map with a size cap and an age limit, oldest entry out first (insertion order; a
 * set() moves a key to the end). For caches a remote peer can grow: the resolver's
 * misses (resolve-bundle.ts), which were unbounded before
 * issue #20 (1,500 random info-hashes, 90 MiB of RSS on a device).
 */
export class BoundedTtlMap<K, V> {
  readonly #entries = new Map<K, { value: V, atMs: number }>()
  readonly #maxEntries: number
  readonly #ttlMs: number
  readonly #now: () => number

  constructor (init: { maxEntries: number, ttlMs: number, now?: () => number }) {
    this.#maxEntries = Math.max(1, init.maxEntries)
    this.#ttlMs = init.ttlMs
    this.#now = init.now ?? Date.now
  }

  get size (): number {
    return this.#entries.size
  }

  /** The value when set less than ttlMs ago; an expired entry is dropped. */
  get (key: K): V | undefined {
    const e = this.#entries.get(key)
    if (e === undefined) return undefined
    if (this.#now() - e.atMs >= this.#ttlMs) {
      this.#entries.delete(key)
      return undefined
    }
    return e.value
  }

  set (key: K, value: V): void {
    this.#entries.delete(key)
    this.#entries.set(key, { value, atMs: this.#now() })
    this.#prune()
  }

  delete (key: K): void {
    this.#entries.delete(key)
  }

  /** Drops expired entries from the old end, then the oldest past maxEntries. */
  #prune (): void {
    const now = this.#now()
    for (const [k, e] of this.#entries) {
      if (now - e.atMs < this.#ttlMs && this.#entries.size <= this.#maxEntries) break
      this.#entries.delete(k)
    }
  }
}
