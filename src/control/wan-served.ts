/**
 * What this super hub served each store over the WAN (`/storemesh/wan-pull/1.0.0`), for
 * the fleet API's store availability and `/metrics` (stores holding each bundle, WAN
 * bytes served). Hub reports carry device outcomes only, so a store's chunks are known
 * here from the other side: a store hub never fetches a chunk twice over the WAN
 * (protocols/wan-pull/SPEC.md), so the chunks served to its peer are the chunks it
 * fetched from this super hub.
 *
 * Per (peer, bundle) a bitfield of the bundle's pieces: a chunk listed by several
 * bundles (a delta update shares most of its chunks) counts for each of them. Held in
 * memory since this process started: chunks a store got from another super hub, or
 * before a restart, are not in it (docs/fleet.md "Store availability" says so).
 */

/** A bundle's pieces (unique chunk hashes, in piece order). */
export interface BundleChunks {
  bundleId: string
  hashes: readonly string[]
}

export interface StoreBundleAvailability {
  bundleId: string
  /** pieces of the bundle this super hub served the store */
  heldChunks: number
  pieceCount: number
}

export interface WanServedTallyInit {
  /** the bundles this super hub knows (its store): re-read when a served chunk is in none of them */
  bundles: () => Promise<BundleChunks[]>
  /** at most one re-read per this. @default REINDEX_MIN_INTERVAL_MS */
  reindexMinIntervalMs?: number
  /** served chunks no known bundle lists, kept (all peers together) until a re-read places them. @default MAX_UNPLACED_CHUNKS */
  maxUnplacedChunks?: number
  now?: () => number
}

/** A served chunk no known bundle lists waits this long at most for the bundle to be read. @default 2 s */
export const REINDEX_MIN_INTERVAL_MS = 2_000
/**
 * Unknown chunks kept, all peers together, until a re-read places them (a pull-through
 * store adds its bundle first, so they are few and placed within a re-read). A cap per
 * peer did not bound them: store hubs that read their manifest elsewhere (bench:origin's
 * clients) left every chunk served unplaced, ~3,566 per store hub of a 1 GiB bundle, and
 * the super hub's heap grew by them through a whole run (issue 17). Past it a chunk counts
 * bytes only. 16,384 hashes are ~2 MiB.
 */
export const MAX_UNPLACED_CHUNKS = 16_384
/** Peers tracked: far above a fleet's store count; past it new peers count bytes only. */
export const MAX_TRACKED_PEERS = 100_000

interface Held { bits: Uint8Array, count: number }

export class WanServedTally {
  readonly #init: WanServedTallyInit
  readonly #now: () => number
  /** hash -> [bundle index, piece index] of every bundle listing it */
  #index = new Map<string, Array<[number, number]>>()
  #bundles: Array<{ bundleId: string, pieceCount: number }> = []
  readonly #held = new Map<string, Map<string, Held>>()
  readonly #unplaced = new Map<string, Set<string>>()
  #unplacedCount = 0
  readonly #maxUnplaced: number
  #lastIndexMs = -Infinity
  #reindexing: Promise<void> | undefined
  #bytes = 0
  #chunks = 0

  constructor (init: WanServedTallyInit) {
    this.#init = init
    this.#now = init.now ?? Date.now
    this.#maxUnplaced = init.maxUnplacedChunks ?? MAX_UNPLACED_CHUNKS
  }

  /** Bytes served over the WAN since start (every peer). */
  get bytesServed (): number { return this.#bytes }
  /** Chunks served since start. */
  get chunksServed (): number { return this.#chunks }
  /** Served chunks no known bundle lists, waiting for a re-read (every peer). */
  get unplacedChunks (): number { return this.#unplacedCount }

  /** One chunk served to a peer (the pull server's onServed). */
  record (peerId: string, hash: string, bytes: number): void {
    this.#bytes += bytes
    this.#chunks++
    if (!this.#place(peerId, hash)) {
      let set = this.#unplaced.get(peerId)
      if (set === undefined) {
        if (this.#unplacedCount >= this.#maxUnplaced) return
        set = new Set()
        this.#unplaced.set(peerId, set)
      }
      if (!set.has(hash) && this.#unplacedCount < this.#maxUnplaced) {
        set.add(hash)
        this.#unplacedCount++
      }
      this.#maybeReindex()
    }
  }

  /** Re-reads the bundles now (tests; the API before answering). */
  async reindex (): Promise<void> {
    this.#reindexing ??= this.#readBundles().finally(() => { this.#reindexing = undefined })
    await this.#reindexing
  }

  /** Per bundle known, how much of it this super hub served the peer (bundles it got nothing of left out). */
  availability (peerId: string): StoreBundleAvailability[] {
    const mine = this.#held.get(peerId)
    if (mine === undefined) return []
    return this.#bundles.flatMap(b => {
      const h = mine.get(b.bundleId)
      return h === undefined ? [] : [{ bundleId: b.bundleId, heldChunks: h.count, pieceCount: b.pieceCount }]
    })
  }

  /** Per bundle known, the peers served every one of its pieces (but those in `exclude`). */
  peersHolding (exclude?: ReadonlySet<string>): Map<string, number> {
    const out = new Map<string, number>(this.#bundles.map(b => [b.bundleId, 0]))
    const sizes = new Map(this.#bundles.map(b => [b.bundleId, b.pieceCount]))
    for (const [peer, mine] of this.#held) {
      if (exclude?.has(peer) === true) continue
      for (const [bundleId, h] of mine) if (h.count === sizes.get(bundleId)) out.set(bundleId, (out.get(bundleId) ?? 0) + 1)
    }
    return out
  }

  #place (peerId: string, hash: string): boolean {
    const spots = this.#index.get(hash)
    if (spots === undefined) return false
    let mine = this.#held.get(peerId)
    if (mine === undefined) {
      if (this.#held.size >= MAX_TRACKED_PEERS) return true
      mine = new Map()
      this.#held.set(peerId, mine)
    }
    for (const [bi, pi] of spots) {
      const b = this.#bundles[bi]!
      let h = mine.get(b.bundleId)
      if (h === undefined) {
        h = { bits: new Uint8Array(Math.ceil(b.pieceCount / 8)), count: 0 }
        mine.set(b.bundleId, h)
      }
      const mask = 0x80 >> (pi & 7)
      if ((h.bits[pi >> 3]! & mask) === 0) {
        h.bits[pi >> 3]! |= mask
        h.count++
      }
    }
    return true
  }

  #maybeReindex (): void {
    if (this.#reindexing !== undefined) return
    const wait = this.#lastIndexMs + (this.#init.reindexMinIntervalMs ?? REINDEX_MIN_INTERVAL_MS) - this.#now()
    if (wait <= 0) {
      void this.reindex().catch(() => {})
      return
    }
    this.#reindexing = new Promise<void>(resolve => { setTimeout(resolve, wait).unref() })
      .then(async () => { await this.#readBundles() })
      .catch(() => {})
      .finally(() => { this.#reindexing = undefined })
  }

  async #readBundles (): Promise<void> {
    this.#lastIndexMs = this.#now()
    const list = await this.#init.bundles()
    // bundle indexes in #index are positions in #bundles: rebuilt together
    const index = new Map<string, Array<[number, number]>>()
    const bundles = list.map((b, bi) => {
      b.hashes.forEach((h, pi) => {
        const spots = index.get(h)
        if (spots === undefined) index.set(h, [[bi, pi]])
        else spots.push([bi, pi])
      })
      return { bundleId: b.bundleId, pieceCount: b.hashes.length }
    })
    const fresh = new Set(bundles.map(b => b.bundleId).filter(id => !this.#bundles.some(o => o.bundleId === id)))
    this.#index = index
    this.#bundles = bundles
    if (fresh.size > 0) this.#backfill(fresh)
    for (const [peerId, set] of this.#unplaced) {
      for (const hash of set) {
        if (this.#place(peerId, hash)) { set.delete(hash); this.#unplacedCount-- }
      }
      if (set.size === 0) this.#unplaced.delete(peerId)
    }
  }

  /** A bundle read for the first time: the chunks it shares with bundles a peer already got count for it too. */
  #backfill (fresh: Set<string>): void {
    const byId = new Map(this.#bundles.map((b, i) => [b.bundleId, i]))
    for (const [peerId, mine] of this.#held) {
      const served: string[] = []
      for (const [hash, spots] of this.#index) {
        if (!spots.some(([bi]) => fresh.has(this.#bundles[bi]!.bundleId))) continue
        if (spots.some(([bi, pi]) => {
          const b = this.#bundles[bi]!
          const h = mine.get(b.bundleId)
          return !fresh.has(b.bundleId) && byId.has(b.bundleId) && h !== undefined && (h.bits[pi >> 3]! & (0x80 >> (pi & 7))) !== 0
        })) served.push(hash)
      }
      for (const hash of served) this.#place(peerId, hash)
    }
  }
}
