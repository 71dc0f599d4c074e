/**
 * Which chunk to ask which peer for. No I/O: the swarm tells it what peers hold and
 * what arrived, and asks for the next requests of one peer. Rarest first with a random
 * tie-break, pipelined up to `pipelineBytes`, endgame over every missing chunk, re-asks
 * and suspect times judged beyond the reader's own queue (reask-clock.ts), a chunk never
 * asked again of a peer that sent a bad copy, and unproven peers probed, not trusted
 * (picker-trust.ts). The rules and why each is so: docs/picker.md.
 */
import { Bits } from './bits.js'
import { ClaimMemory, firstClaimsOf } from './claim-memory.js'
import { pickAmong } from './pick-among.js'
import { RarityMap } from './rarity-map.js'
import type { PickerInit, PeerEntry } from './picker-types.js'
import { askableSince, hoarderDueInMs, isSuspect, reclock, takeHoarders } from './picker-trust.js'
import { ReaskClock } from './reask-clock.js'

export class Picker {
  readonly rarity: RarityMap
  readonly #init: PickerInit
  readonly #sizes: readonly number[]
  readonly #have: Bits
  readonly #peers = new Map<string, PeerEntry>()
  /**
   * The last peer looked up by id: a have is followed by isInteresting() and next() for
   * the same peer (session.ts, the fleet simulator's LAN model), and in a simulated
   * 50-device store at 4,096 chunks (10 M haves) each Map lookup showed in the profile.
   */
  #lastId: string | undefined
  #lastPeer: PeerEntry | undefined
  /** chunk -> peers it is asked of */
  readonly #inflight = new Map<number, Set<string>>()
  /** chunk -> when it was first asked of anyone (ms) */
  readonly #askedAt = new Map<number, number>()
  /** chunk -> bytes the reader had outstanding when it was first asked: re-asks wait for that queue (reask-clock.ts) */
  readonly #askedAhead = new Map<number, number>()
  readonly #clock = new ReaskClock()
  /** what judging found of peers whose wire closed: their next wire carries on from it */
  readonly #memory = new ClaimMemory()
  /** made once: #busy runs it per candidate chunk on the hot path */
  readonly #queueMsOf = (p: PeerEntry, index: number): number => this.#clock.queueMs(p.inflightAhead.get(index) ?? 0, this.#now())
  /** verified copies being stored (arrived()): asked of no one until stored or failed */
  readonly #arriving = new Set<number>()
  readonly #now: () => number
  readonly #random: () => number
  /** second (and later) asks of a chunk already in flight, by the rule that sent them (docs/picker.md): where duplicates can come from */
  readonly copies = { probe: 0, endgame: 0, reask: 0 }

  constructor (init: PickerInit) {
    this.#init = init
    this.#now = init.now ?? Date.now
    this.#random = init.random ?? Math.random
    this.#sizes = init.pieceSizes
    this.#have = new Bits(init.pieceSizes.length)
    this.rarity = new RarityMap(init.pieceSizes.length, init.random, { trackWanted: true })
  }

  get numPieces (): number { return this.#sizes.length }
  get heldCount (): number { return this.#have.count }
  get complete (): boolean { return this.#have.complete }
  /** our chunks as a bitfield (do not mutate) */
  get held (): Bits { return this.#have }

  has (index: number): boolean {
    return this.#have.get(index)
  }

  /** We hold `index` now (from `source`, when a peer sent it). Returns the peers it was still asked of (cancel them). */
  setHave (index: number, source?: string): string[] {
    if (source !== undefined) this.#served(source)
    // a copy from the wire not counted by arrived(): the reader's rate (reask-clock.ts)
    if (!this.#arriving.delete(index) && this.#inflight.has(index) && !this.#have.get(index)) this.#clock.received(this.#sizes[index] ?? 0, this.#now())
    if (!this.#have.set(index)) return []
    this.rarity.setHeld(index)
    // the rarity count is how many peers hold it: stop once each has been seen (often
    // only the sender), not after a test of every peer's bitfield
    let holders = this.rarity.count(index)
    if (holders > 0) {
      for (const p of this.#peers.values()) {
        if (!p.bits.get(index)) continue
        p.wanted--
        // nothing left to want of a choking claimant's first claims: its choke no longer holds us
        if (p.firstClaims?.get(index) === true && --p.firstWanted === 0 && p.waitingSinceMs !== undefined) this.#reclock(p)
        if (--holders === 0) break
      }
    }
    const askers = this.#inflight.get(index)
    if (askers === undefined) return []
    this.#forget(index)
    for (const id of askers) {
      const p = this.#peers.get(id)
      // a request that waited and was beaten counts against a peer that never delivered
      if (p !== undefined && id !== source && p.served === 0 && this.#late(p, index, this.#init.reaskAfterMs)) p.timeouts++
      this.#dropInflight(id, index)
    }
    return [...askers]
  }

  /**
   * A verified copy of `index` arrived from `source` and is being written: no one else
   * is asked for it from now on, and the other askers are returned so the swarm can
   * cancel them at once. Before, they were cancelled only once the chunk was durable
   * (setHave), and under CPU or disk load the write took long enough for re-asks and
   * endgame copies to go out for a chunk already here. setHave() or arrivalFailed() ends it.
   */
  arrived (index: number, source: string): string[] {
    if (this.#have.get(index)) return []
    if (!this.#arriving.has(index)) this.#clock.received(this.#sizes[index] ?? 0, this.#now())
    this.#arriving.add(index)
    const others = [...(this.#inflight.get(index) ?? [])].filter(id => id !== source)
    for (const id of others) {
      const p = this.#peers.get(id)
      // as in setHave: a request that waited and was beaten counts against a peer that never delivered
      if (p !== undefined && p.served === 0 && this.#late(p, index, this.#init.reaskAfterMs)) p.timeouts++
      this.#dropInflight(id, index)
    }
    return others
  }

  /** The arrived copy could not be stored: the chunk is wanted again. */
  arrivalFailed (index: number): void {
    this.#arriving.delete(index)
  }

  addPeer (id: string): void {
    if (this.#peers.has(id)) return
    this.#peers.set(id, { bits: new Bits(this.numPieces), inflight: new Map(), inflightAhead: new Map(), inflightBytes: 0, excluded: new Set(), wanted: 0, served: 0, timeouts: 0, suspect: false, waitedMs: 0, waitingSinceMs: undefined, hoarder: false, probes: 0, asked: false, claimedAtMs: undefined, unchokedAtMs: undefined, firstClaims: undefined, firstWanted: 0, firstInflight: 0 })
    this.#memory.restore(id, this.#peers.get(id) as PeerEntry)
  }

  /** A peer's bitfield replaces what we knew of it. */
  peerBitfield (id: string, bits: Bits): void {
    const p = this.#peer(id)
    this.rarity.removeBits(p.bits)
    p.bits = Bits.from(bits.bytes, this.numPieces)
    this.rarity.addBits(p.bits)
    p.wanted = 0
    for (const i of p.bits.indices()) if (!this.#have.get(i)) p.wanted++
    if (p.wanted > 0) p.claimedAtMs ??= this.#now()
    if (p.firstClaims === undefined) {
      // a copy: haves set bits in p.bits later, and claims made by have are not judged
      const first = firstClaimsOf(p.bits, p.priorClaims, this.#have, this.numPieces)
      p.firstClaims = first.claims
      p.firstWanted = first.wanted
    }
    this.#reclock(p)
  }

  /** Returns true when the peer did not have it before. */
  peerHave (id: string, index: number): boolean {
    const p = this.#peer(id)
    if (!p.bits.set(index)) return false
    this.rarity.add(index)
    if (p.firstClaims !== undefined && !p.bits.complete) p.downloading = true
    if (!this.#have.get(index)) {
      p.wanted++
      p.claimedAtMs ??= this.#now()
    }
    return true
  }

  /** The peer unchoked us (false: choked us again): with its claim, when it could first be asked. */
  peerUnchoked (id: string, unchoked = true): void {
    const p = this.#peers.get(id)
    if (p === undefined) return
    p.unchokedAtMs = unchoked ? (p.unchokedAtMs ?? this.#now()) : undefined
    this.#reclock(p)
  }

  /** The peer has not delivered a chunk yet (its hoarder clock may run). */
  unproven (id: string): boolean {
    return (this.#lookup(id)?.served ?? 1) === 0
  }

  /** A good copy of a chunk we held already came from `id`: it serves, as with a delivery. */
  delivered (id: string): void {
    this.#served(id)
  }

  peerHas (id: string, index: number): boolean {
    return this.#lookup(id)?.bits.get(index) ?? false
  }

  peerBits (id: string): Bits | undefined {
    return this.#lookup(id)?.bits
  }

  /** The peer holds something we lack. */
  isInteresting (id: string): boolean {
    return (this.#lookup(id)?.wanted ?? 0) > 0
  }

  /** Forgets a peer; returns the chunks that were asked of it (now free to ask elsewhere). */
  removePeer (id: string): number[] {
    const p = this.#peers.get(id)
    if (p === undefined) return []
    this.rarity.removeBits(p.bits)
    const freed = [...p.inflight.keys()]
    for (const i of freed) this.#dropInflight(id, i)
    this.#memory.keep(id, p, this.#now())
    this.#peers.delete(id)
    if (id === this.#lastId) { this.#lastId = undefined; this.#lastPeer = undefined }
    return freed
  }

  inflightCount (id: string): number {
    return this.#peers.get(id)?.inflight.size ?? 0
  }

  inflightBytes (id: string): number {
    return this.#peers.get(id)?.inflightBytes ?? 0
  }

  /** Peers that never delivered a chunk and let a request wait (see the header): demoted to one probe. */
  get suspects (): number {
    let n = 0
    for (const p of this.#peers.values()) if (this.#isSuspect(p)) n++
    return n
  }

  /**
   * Peers that never delivered a chunk while our requests waited at them for
   * hoarderAfterMs in all, each returned once (the swarm disconnects them).
   */
  takeHoarders (): string[] {
    const after = this.#init.hoarderAfterMs
    return after === undefined ? [] : takeHoarders(this.#peers, this.#now(), after)
  }

  /**
   * How long until the next peer becomes a hoarder if nothing changes (the earliest
   * waiting peer's hoarderAfterMs minus what it has waited), or undefined when no
   * peer that never delivered has a request in flight: the swarm arms a timer for
   * it, so a hoarder is named when its time is up, not on the next tick.
   */
  hoarderDueInMs (): number | undefined {
    const after = this.#init.hoarderAfterMs
    return after === undefined ? undefined : hoarderDueInMs(this.#peers, this.#now(), after)
  }

  /**
   * Treats a peer as a suspect from the start (one that was disconnected as a hoarder
   * and came back): its requests never hold a chunk, until it delivers one.
   */
  distrust (id: string): void {
    const p = this.#peers.get(id)
    if (p !== undefined && p.served === 0) p.suspect = true
  }

  /** The peer delivered a good chunk: it is trusted from now on. */
  #served (id: string): void {
    const p = this.#peers.get(id)
    if (p === undefined) return
    p.served++
    p.suspect = false
    p.waitingSinceMs = undefined
  }

  /** Never delivered, and one of its requests waited suspectAfterMs (sticky until it delivers). */
  #isSuspect (p: PeerEntry): boolean {
    // a peer that delivered is the common case on the hot path (#busy): no clock read for it
    return p.served > 0 ? false : isSuspect(p, this.#now(), this.#init, this.#queueMsOf)
  }

  /** The request for `index` at `p` waited `floorMs` beyond what the reader's queue ahead of it explains (reask-clock.ts). */
  #late (p: PeerEntry, index: number, floorMs: number): boolean {
    return this.#clock.late(p.inflight.get(index), p.inflightAhead.get(index) ?? 0, floorMs, this.#now())
  }

  /** Some asker of `index` may still deliver it: a request at a suspect does not count. */
  #busy (index: number): boolean {
    const askers = this.#inflight.get(index)
    if (askers === undefined) return false
    for (const id of askers) {
      const p = this.#peers.get(id)
      if (p !== undefined && !this.#isSuspect(p)) return true
    }
    return false
  }

  /** Every missing chunk is already asked of someone. */
  get endgame (): boolean {
    if (this.#have.complete) return false
    // in flight and held are disjoint (setHave drops the requests), so counting suffices
    return this.#have.count + this.#inflight.size >= this.numPieces
  }

  /**
   * Chooses the next chunks to ask `id` for (up to its pipeline) and records them as
   * in flight. The caller sends the requests (and reports failures with onFailed).
   */
  next (id: string): number[] {
    const p = this.#lookup(id)
    if (p === undefined || p.wanted === 0) return []
    const out: number[] = []
    let endgame: boolean | undefined
    // The candidate tests are methods and inline arrows, made only once the pipeline has
    // room: next() runs on every have from an unchoking peer, and a named closure per
    // call cost the fleet simulator (run under tsx, which names each one) a quarter of its time.
    while (this.#hasRoom(p)) {
      // the rarest chunk no one is asked for (or only a suspect): sublinear in the bundle's chunk count
      let pick = this.rarity.pickWanted(i => this.#askable(p, i) && !this.#busy(i))
      // the prompt probe (see the header): a copy of a chunk a trusted peer is fetching
      if (pick === undefined && p.served === 0 && p.inflight.size === 0 && p.probes < (this.#init.probeRequests ?? 0)) {
        pick = this.rarity.pickWanted(i => this.#askable(p, i))
        if (pick !== undefined) { p.probes++; if (this.#inflight.has(pick)) this.copies.probe++ }
      }
      if (pick === undefined) {
        // a copy only to an idle link: the rest of a pipeline of copies would queue
        // behind the upload caps and be served before our cancel lands
        if (p.inflight.size > 0) break
        endgame ??= this.endgame
        const max = this.#init.endgameMaxPeersPerPiece
        const now = this.#now()
        // a second copy: only chunks in flight qualify (a re-ask needs askedAt; in
        // endgame every missing chunk is in flight), so scan those, not the bundle
        pick = pickAmong(this.#inflight.keys(),
          i => this.#askable(p, i) && this.#askers(i) < max && (endgame || this.#clock.late(this.#askedAt.get(i), this.#askedAhead.get(i) ?? 0, this.#init.reaskAfterMs, now)),
          i => this.#askers(i) * 65536 + this.rarity.count(i), this.#random)
        if (pick === undefined) break
        this.copies[endgame ? 'endgame' : 'reask']++
      }
      this.#addInflight(id, p, pick)
      out.push(pick)
    }
    return out
  }

  /** Why next(id) asks nothing now (debug lines: peer-trace.ts); cheap enough for a reason that changed. */
  notAskedWhy (id: string, counts = true): string {
    const p = this.#peers.get(id)
    if (p === undefined) return 'no bitfield yet'
    if (this.#have.complete) return 'we are complete'
    if (p.wanted === 0) return 'holds nothing we lack'
    if (!this.#hasRoom(p)) return (p.served === 0 ? 'unproven, its probe is in flight' : 'pipeline full') + (counts ? ` (${p.inflight.size})` : '')
    // the kind of reason, without a pass over its chunks (peer-trace.ts logs the counts when the kind changes)
    if (!counts) return 'busy elsewhere, asked or refused'
    let busy = 0
    let other = 0
    for (const i of p.bits.indices()) {
      if (!this.#askable(p, i)) other++
      else if (this.#busy(i)) busy++
    }
    return `of its ${p.wanted} chunks we lack, ${busy} are in flight at a trusted peer, ${other} asked of it, arriving or refused from it` +
      (this.endgame ? ' (endgame: copies only to an idle link)' : '')
  }

  /** We lack it, the peer holds it, it is not asked of this peer already, and the peer never sent a bad copy of it. */
  #askable (p: PeerEntry, i: number): boolean {
    return !this.#have.get(i) && p.bits.get(i) && !p.inflight.has(i) && !p.excluded.has(i) && !this.#arriving.has(i)
  }

  #askers (i: number): number {
    return this.#inflight.get(i)?.size ?? 0
  }

  /** A request ended without a usable chunk; `exclude` when the peer sent a bad copy. */
  onFailed (index: number, id: string, exclude = false): void {
    const p = this.#peers.get(id)
    if (p !== undefined && exclude) p.excluded.add(index)
    const askers = this.#inflight.get(index)
    if (askers?.delete(id) === true && askers.size === 0) this.#forget(index)
    this.#dropInflight(id, index)
  }

  #hasRoom (p: PeerEntry): boolean {
    const n = p.inflight.size
    // a peer that never delivered is probed, not given a pipeline
    if (p.served === 0 && n >= (this.#init.unprovenPipelineRequests ?? Infinity)) return false
    if (n >= this.#init.pipelineMaxRequests) return false
    return n < this.#init.pipelineMinRequests || p.inflightBytes < this.#init.pipelineBytes
  }

  #addInflight (id: string, p: PeerEntry, index: number): void {
    if (p.served === 0 && p.firstClaims?.get(index) === true && p.firstInflight++ === 0 && p.waitingSinceMs === undefined) {
      p.waitingSinceMs = p.asked ? this.#now() : askableSince(p, this.#now())
    }
    p.asked = true
    const now = this.#now()
    const bytes = this.#sizes[index] ?? 0
    const ahead = this.#clock.asked(bytes, now)
    p.inflight.set(index, now)
    p.inflightAhead.set(index, ahead)
    p.inflightBytes += bytes
    let askers = this.#inflight.get(index)
    if (askers === undefined) {
      this.#inflight.set(index, askers = new Set())
      this.#askedAt.set(index, now)
      this.#askedAhead.set(index, ahead)
    }
    askers.add(id)
  }

  #dropInflight (id: string, index: number): void {
    const p = this.#peers.get(id)
    if (p === undefined || !p.inflight.delete(index)) return
    p.inflightAhead.delete(index)
    p.inflightBytes -= this.#sizes[index] ?? 0
    this.#clock.ended(this.#sizes[index] ?? 0, this.#now())
    if (p.served === 0 && p.firstClaims?.get(index) === true && --p.firstInflight === 0) this.#reclock(p)
    const askers = this.#inflight.get(index)
    if (askers?.delete(id) === true && askers.size === 0) this.#forget(index)
  }

  #reclock (p: PeerEntry): void {
    if (p.served === 0) reclock(p, this.#now())
  }

  #forget (index: number): void {
    this.#inflight.delete(index)
    this.#askedAt.delete(index)
    this.#askedAhead.delete(index)
  }

  #peer (id: string): PeerEntry {
    const p = this.#lookup(id)
    if (p === undefined) throw new Error(`picker: unknown peer ${id}`)
    return p
  }

  #lookup (id: string): PeerEntry | undefined {
    if (id === this.#lastId) return this.#lastPeer
    const p = this.#peers.get(id)
    if (p !== undefined) { this.#lastId = id; this.#lastPeer = p }
    return p
  }
}
