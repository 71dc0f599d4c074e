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
 * Claims are not taken on trust (issue #20: one peer with a full bitfield that never
 * served froze every offer until the stall reveal). "Someone already holds it" counts
 * only credible holders: a peer's claim of a chunk we uploaded to it, or any claim of a
 * proven peer — one that served us a verified chunk, or whose chunk turned up at
 * another peer that never got it from us and could only have got it from it (the one
 * peer we sent it to, or its only other claimer). Everything a peer claims still
 * counts as "nobody lacks it" and for the stall fallback.
 *
 * An unproven peer's claims are ignored (demoted) whatever it does; it is also named a
 * hoarder (`hoarders`, a metric and status) when it made an unexplained claim and is
 * not proven within `proveWithinMs`. A claim is unexplained when, as it is made, nobody
 * could have given the peer that chunk: we never sent it to anyone and no proven peer
 * claims it. An honest device only announces chunks it downloaded, so every claim of
 * its is explained, however long its upload cap keeps it from being proven (it then
 * serves the other newcomers first, and credit goes to the peer we sent a chunk to: at
 * N = 16 and 256 KiB/s the old rule, "claims a chunk we never sent it", named 1-3
 * honest devices per run). A liar that claims a whole bundle before it circulates is
 * named; one that waits until every chunk circulated is not named but stays demoted
 * (the requesters' hoarder clock drops it). A pair of colluding liars, one vouching for
 * the other, can still get one of them proven; the stall fallback bounds that.
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
  /**
   * A peer not proven (see above) within this of an unexplained claim is counted as a
   * hoarder. @default 2 * stallMs
   */
  proveWithinMs?: number
  now: () => number
  random?: () => number
}

interface SeedPeer {
  /** what it claims (bitfield + haves) */
  bits: Bits
  /** the part of `bits` counted in #holders: all of it once proven, else what we sent it */
  counted: Bits
  /** chunks we uploaded to it */
  sent: Bits
  proven: boolean
  hoarder: boolean
  /** since when it has made an unexplained claim while unproven (ms), or undefined */
  unprovenSinceMs: number | undefined
  /** every chunk we ever showed it */
  revealed: Bits
  /** outstanding offers: chunk -> offered at (ms) */
  offers: Map<number, number>
  /** how many of `offers` it has not downloaded yet (kept as they change: asked on every have) */
  transit: number
  lastProgressMs: number
  unchoked: boolean
}

export class SuperSeeder {
  readonly #init: SuperSeederInit
  /** how many connected peers credibly hold each chunk (see above) */
  readonly #holders: RarityMap
  /** how many connected peers claim each chunk */
  readonly #claims: RarityMap
  readonly #peers = new Map<string, SeedPeer>()
  /** chunks someone could have passed on: we sent it to a peer, or a proven peer claims it */
  readonly #circulating: Bits
  /** peers not proven yet */
  #unproven = 0
  /** the sum of every peer's transit */
  #inTransit = 0
  /** chunk -> the peer it is currently offered to */
  readonly #offeredTo = new Map<number, string>()
  /** chunks shown to peers by the stall fallback (for tests and status) */
  fallbackReveals = 0
  /** peers found hoarding: claims never backed by serving (for metrics) */
  hoarders = 0

  constructor (init: SuperSeederInit) {
    this.#init = init
    // tracked by count, so an offer looks only at the chunks nobody holds (bucket 0),
    // not at the whole bundle: at 4,096 chunks the full scan per offer was a third of
    // the fleet simulator's time and the hub's CPU on every have
    this.#holders = new RarityMap(init.numPieces, init.random, { trackWanted: true })
    this.#claims = new RarityMap(init.numPieces)
    this.#circulating = new Bits(init.numPieces)
  }

  addPeer (id: string): void {
    if (this.#peers.has(id)) return
    const n = this.#init.numPieces
    this.#peers.set(id, {
      bits: new Bits(n),
      counted: new Bits(n),
      sent: new Bits(n),
      proven: false,
      hoarder: false,
      unprovenSinceMs: undefined,
      revealed: new Bits(n),
      offers: new Map(),
      lastProgressMs: this.#init.now(),
      unchoked: false,
      transit: 0
    })
    this.#unproven++
  }

  removePeer (id: string): void {
    const p = this.#peers.get(id)
    if (p === undefined) return
    this.#holders.removeBits(p.counted)
    this.#claims.removeBits(p.bits)
    if (!p.proven) this.#unproven--
    this.#inTransit -= p.transit
    for (const i of p.offers.keys()) this.#offeredTo.delete(i)
    this.#peers.delete(id)
  }

  peerBitfield (id: string, bits: Bits): void {
    const p = this.#peers.get(id)
    if (p === undefined) return
    this.#claims.removeBits(p.bits)
    p.bits = Bits.from(bits.bytes, this.#init.numPieces)
    this.#inTransit -= p.transit
    p.transit = inTransitOf(p)
    this.#inTransit += p.transit
    this.#claims.addBits(p.bits)
    this.#recount(p)
    p.lastProgressMs = this.#init.now()
  }

  /** We uploaded chunk `index` to the peer: its claim of it is credible. */
  peerSent (id: string, index: number): void {
    const p = this.#peers.get(id)
    this.#circulating.set(index)
    if (p === undefined || !p.sent.set(index)) return
    if (p.bits.get(index) && p.counted.set(index)) this.#holders.add(index)
  }

  /** The peer served us a verified chunk: all its claims count from now on. */
  peerServed (id: string): void {
    const p = this.#peers.get(id)
    if (p !== undefined) this.#prove(p)
  }

  /** Whether the peer's claims count (for tests and status). */
  isProven (id: string): boolean {
    return this.#peers.get(id)?.proven ?? false
  }

  /**
   * Whether a peer's claims wait to be judged: unproven, not yet found hoarding. The
   * judgement runs in offers(), so the offer tick must keep running for it even when
   * every peer claims every chunk (a hoarder's full bitfield says just that).
   */
  judging (id: string): boolean {
    const p = this.#peers.get(id)
    return p !== undefined && !p.proven && !p.hoarder && p.unprovenSinceMs !== undefined
  }

  /** What a peer claims and what we sent it (for the log line of a verdict). */
  claimsOf (id: string): { claimed: number, sent: number } {
    const p = this.#peers.get(id)
    return { claimed: p?.bits.count ?? 0, sent: p?.sent.count ?? 0 }
  }

  /** Whether the peer was found hoarding (for tests and status). */
  isHoarder (id: string): boolean {
    return this.#peers.get(id)?.hoarder ?? false
  }

  /**
   * A peer announced a chunk. Returns the peers whose offers this may release: call
   * offers() for each of them.
   */
  peerHave (id: string, index: number): string[] {
    const p = this.#peers.get(id)
    if (p === undefined || !p.bits.set(index)) return []
    if (p.offers.has(index)) { p.transit--; this.#inTransit-- }
    this.#claims.add(index)
    if (p.proven) this.#circulating.set(index)
    if ((p.proven || p.sent.get(index)) && p.counted.set(index)) this.#holders.add(index)
    else if (!p.proven && !this.#circulating.get(index)) this.#noteUnproven(p)
    // it did not get this chunk from us: whoever it could only have got it from served
    // it (worth a look only while some other peer is unproven)
    if (!p.sent.get(index) && this.#unproven - (p.proven ? 0 : 1) > 0) this.#creditSource(id, index)
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
    // no copy: #release deletes only the entry being visited, which a Map iteration allows
    for (const [i, at] of p.offers) {
      if (this.#reshared(p, i) || (!p.bits.get(i) && now - at >= this.#init.offerTimeoutMs)) this.#release(p, i)
    }
    this.#checkHoarding(p, now)
    const out: number[] = []
    while (p.unchoked && p.offers.size < this.#init.offersPerPeer && this.#mayOfferTo(p)) {
      const i = this.#holders.pickAtCount(0, j => held.get(j) && !p.bits.get(j) && !p.revealed.get(j) && !this.#offeredTo.has(j))
      if (i === undefined) break
      p.offers.set(i, now)
      p.transit++
      this.#inTransit++
      this.#offeredTo.set(i, id)
      p.revealed.set(i)
      out.push(i)
    }
    if (out.length === 0 && pendingRequests === 0 && now - p.lastProgressMs >= this.#init.stallMs) {
      for (const i of held.indices()) {
        // claims, credible or not: the fallback shows what someone says it has
        if (!p.bits.get(i) && !p.revealed.get(i) && this.#claims.count(i) > 0) {
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
    return this.#inTransit
  }

  /** Under the in-transit cap, and no hungrier peer (shown fewer chunks, nothing in transit) waits. */
  #mayOfferTo (p: SeedPeer): boolean {
    const max = this.#init.maxInTransit ?? Infinity
    if (max === Infinity) return true
    if (this.inTransit >= max) return false
    const shown = p.revealed.count
    for (const q of this.#peers.values()) {
      if (q === p || !q.unchoked || q.bits.complete || q.revealed.count >= shown) continue
      if (q.transit === 0) return false
    }
    return true
  }

  /** Outstanding offers of a peer (for tests and status). */
  offersOf (id: string): number[] {
    return [...(this.#peers.get(id)?.offers.keys() ?? [])]
  }

  /**
   * Seen at a peer other than the one offered it while someone credibly holds it, or
   * it holds it and nobody lacks it. A liar's claim alone releases nothing: the chunk
   * must be credibly held (by the offered peer, say, once we sent it).
   */
  #reshared (p: SeedPeer, i: number): boolean {
    const claims = this.#claims.count(i)
    const mine = p.bits.get(i) ? 1 : 0
    return (claims - mine > 0 && this.#holders.count(i) > 0) || (mine === 1 && claims === this.#peers.size)
  }

  /** `counted` from scratch: all its claims once proven, else those we sent it. */
  #recount (p: SeedPeer): void {
    this.#holders.removeBits(p.counted)
    p.counted = Bits.from(p.bits.bytes, this.#init.numPieces)
    let unexplained = false
    for (const i of p.bits.indices()) {
      if (p.proven) this.#circulating.set(i)
      else if (!p.sent.get(i)) {
        p.counted.clear(i)
        if (!this.#circulating.get(i)) unexplained = true
      }
    }
    this.#holders.addBits(p.counted)
    if (unexplained) this.#noteUnproven(p)
  }

  #prove (p: SeedPeer): void {
    if (p.proven) return
    p.proven = true
    this.#unproven--
    p.hoarder = false
    p.unprovenSinceMs = undefined
    this.#recount(p)
  }

  #noteUnproven (p: SeedPeer): void {
    if (!p.proven && p.unprovenSinceMs === undefined) p.unprovenSinceMs = this.#init.now()
  }

  /**
   * `id` announced a chunk we never sent it. The peer it came from is the one other
   * claimer we sent it to, or else the only other claimer; with several candidates
   * nobody is credited (a hoarder's claim must not ride on an honest peer's upload).
   */
  #creditSource (id: string, i: number): void {
    const others = [...this.#peers.entries()].filter(([q, qp]) => q !== id && qp.bits.get(i))
    const fromUs = others.filter(([, qp]) => qp.sent.get(i))
    const source = fromUs.length === 1 ? fromUs[0] : others.length === 1 ? others[0] : undefined
    if (source !== undefined) this.#prove(source[1])
  }

  /** An unproven peer whose unexplained claim is proveWithinMs old is a hoarder. */
  #checkHoarding (p: SeedPeer, now: number): void {
    if (p.proven || p.hoarder || p.unprovenSinceMs === undefined) return
    if (now - p.unprovenSinceMs < (this.#init.proveWithinMs ?? 2 * this.#init.stallMs)) return
    p.hoarder = true
    this.hoarders++
  }

  #release (p: SeedPeer, i: number): void {
    if (p.offers.delete(i) && !p.bits.get(i)) { p.transit--; this.#inTransit-- }
    this.#offeredTo.delete(i)
  }
}

/** A peer's offers it has not downloaded yet, counted afresh (when its bitfield is replaced). */
function inTransitOf (p: SeedPeer): number {
  let n = 0
  for (const i of p.offers.keys()) if (!p.bits.get(i)) n++
  return n
}
