/**
 * Super-seeding for the store hub (BEP 16 style), so that the hub uploads about one
 * copy of a bundle to the whole store and the devices spread it among themselves.
 *
 * The hub shows no bitfield. Each unchoked peer is offered (with `have`) up to
 * `offersPerPeer` chunks that no peer holds and no other peer has been offered. An
 * offer is released — and the peer offered a new chunk — once the chunk is seen at
 * another peer (its `have`: the first peer re-shared it), or once the peer holds it and
 * no connected peer lacks it (nobody to re-share to, e.g. a single device). At most
 * `maxInTransit` offers wait to be downloaded at once, and a free one goes to the
 * peer the hub has shown the fewest chunks: every device becomes a source early.
 *
 * It cannot deadlock at the end:
 * - an offer the peer did not fetch within `offerTimeoutMs`, or made to a peer that is
 *   choked or leaves, goes back to the pool;
 * - a stalled peer — nothing requested from us and no new `have` for `stallMs` — is
 *   shown every chunk it lacks that was already handed out once (normal seeding for
 *   those), so a chunk whose only holder is slow or gone is still served.
 *
 * No I/O and no timers: the swarm feeds it events and a clock and sends the haves.
 */
import { Bits } from './bits.js'
import { RarityMap } from './rarity-map.js'

export interface SuperSeederInit {
  numPieces: number
  offersPerPeer: number
  /**
   * Offers not yet downloaded, over all peers. The hub sends one chunk at a time, so
   * a few keep its upload busy; more only make each wait in its queue (at 16 peers
   * x 2 offers a chunk waited up to 30 s there and some devices got nothing from the
   * hub for their first 14 s). @default Infinity
   */
  maxInTransit?: number
  stallMs: number
  offerTimeoutMs: number
  now: () => number
  random?: () => number
}

interface SeedPeer {
  bits: Bits
  /** every chunk we ever showed it */
  revealed: Bits
  /** outstanding offers: chunk -> offered at (ms) */
  offers: Map<number, number>
  lastProgressMs: number
  unchoked: boolean
}

export class SuperSeeder {
  readonly #init: SuperSeederInit
  /** how many connected peers hold each chunk */
  readonly #holders: RarityMap
  readonly #peers = new Map<string, SeedPeer>()
  /** chunk -> the peer it is currently offered to */
  readonly #offeredTo = new Map<number, string>()
  /** chunks shown to peers by the stall fallback (for tests and status) */
  fallbackReveals = 0

  constructor (init: SuperSeederInit) {
    this.#init = init
    this.#holders = new RarityMap(init.numPieces, init.random)
  }

  addPeer (id: string): void {
    if (this.#peers.has(id)) return
    const n = this.#init.numPieces
    this.#peers.set(id, { bits: new Bits(n), revealed: new Bits(n), offers: new Map(), lastProgressMs: this.#init.now(), unchoked: false })
  }

  removePeer (id: string): void {
    const p = this.#peers.get(id)
    if (p === undefined) return
    this.#holders.removeBits(p.bits)
    for (const i of p.offers.keys()) this.#offeredTo.delete(i)
    this.#peers.delete(id)
  }

  peerBitfield (id: string, bits: Bits): void {
    const p = this.#peers.get(id)
    if (p === undefined) return
    this.#holders.removeBits(p.bits)
    p.bits = Bits.from(bits.bytes, this.#init.numPieces)
    this.#holders.addBits(p.bits)
    p.lastProgressMs = this.#init.now()
  }

  /**
   * A peer announced a chunk. Returns the peers whose offers this may release: call
   * offers() for each of them.
   */
  peerHave (id: string, index: number): string[] {
    const p = this.#peers.get(id)
    if (p === undefined || !p.bits.set(index)) return []
    this.#holders.add(index)
    p.lastProgressMs = this.#init.now()
    const owner = this.#offeredTo.get(index)
    // an offer downloaded frees an in-transit slot: the hungriest peer takes it
    if (owner === id && this.#init.maxInTransit !== undefined) return [...this.#peers.keys()]
    return owner !== undefined && owner !== id ? [owner, id] : [id]
  }

  /** Offers are made only to unchoked peers; a choked peer's unfetched offers go back to the pool. */
  setUnchoked (id: string, unchoked: boolean): void {
    const p = this.#peers.get(id)
    if (p === undefined || p.unchoked === unchoked) return
    p.unchoked = unchoked
    if (unchoked) return
    for (const i of [...p.offers.keys()]) if (!p.bits.get(i)) this.#release(p, i)
  }

  /**
   * The chunks to announce to `id` now (send a `have` for each). `held` is what we
   * hold; `pendingRequests` is how many of its requests we are still serving.
   */
  offers (id: string, held: Bits, pendingRequests: number): number[] {
    const p = this.#peers.get(id)
    if (p === undefined) return []
    const now = this.#init.now()
    for (const [i, at] of [...p.offers]) {
      if (this.#reshared(p, i) || (!p.bits.get(i) && now - at >= this.#init.offerTimeoutMs)) this.#release(p, i)
    }
    const out: number[] = []
    while (p.unchoked && p.offers.size < this.#init.offersPerPeer && this.#mayOfferTo(p)) {
      const i = this.#holders.pick(j => held.get(j) && !p.bits.get(j) && !p.revealed.get(j) &&
        !this.#offeredTo.has(j) && this.#holders.count(j) === 0)
      if (i === undefined) break
      p.offers.set(i, now)
      this.#offeredTo.set(i, id)
      p.revealed.set(i)
      out.push(i)
    }
    if (out.length === 0 && pendingRequests === 0 && now - p.lastProgressMs >= this.#init.stallMs) {
      for (const i of held.indices()) {
        if (!p.bits.get(i) && !p.revealed.get(i) && this.#holders.count(i) > 0) {
          p.revealed.set(i)
          out.push(i)
        }
      }
      this.fallbackReveals += out.length
      // one fallback per stall period
      p.lastProgressMs = now
    }
    return out
  }

  /** Offers not yet downloaded by the peer they were made to. */
  get inTransit (): number {
    let n = 0
    for (const p of this.#peers.values()) n += inTransitOf(p)
    return n
  }

  /** Under the in-transit cap, and no hungrier peer (shown fewer chunks, nothing in transit) waits. */
  #mayOfferTo (p: SeedPeer): boolean {
    const max = this.#init.maxInTransit ?? Infinity
    if (max === Infinity) return true
    if (this.inTransit >= max) return false
    const shown = p.revealed.count
    for (const q of this.#peers.values()) {
      if (q === p || !q.unchoked || q.bits.complete || q.revealed.count >= shown) continue
      if (inTransitOf(q) === 0) return false
    }
    return true
  }

  /** Outstanding offers of a peer (for tests and status). */
  offersOf (id: string): number[] {
    return [...(this.#peers.get(id)?.offers.keys() ?? [])]
  }

  /** Seen at a peer other than the one offered it, or it holds it and nobody lacks it. */
  #reshared (p: SeedPeer, i: number): boolean {
    const holders = this.#holders.count(i)
    const mine = p.bits.get(i) ? 1 : 0
    return holders - mine > 0 || (mine === 1 && holders === this.#peers.size)
  }

  #release (p: SeedPeer, i: number): void {
    p.offers.delete(i)
    this.#offeredTo.delete(i)
  }
}

/** A peer's offers it has not downloaded yet. */
function inTransitOf (p: SeedPeer): number {
  let n = 0
  for (const i of p.offers.keys()) if (!p.bits.get(i)) n++
  return n
}
