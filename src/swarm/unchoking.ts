/**
 * The upload side of one bundle's swarm: who is unchoked (choker.ts) and, on a store
 * hub, which chunks each peer is shown (superseed.ts). The swarm calls it on wire
 * events; it applies the outcome to the wires (choke/unchoke, `have` offers).
 *
 * A super-seeder keeps every peer unchoked: its offers (a few chunks in transit,
 * each sent once) already ration its upload, and rotating slots would take back
 * offers a peer has asked for and hand them to another, so the chunk went out twice.
 */
import type { Log } from '../interface/log.js'
import type { Link } from '../interface/types.js'
import { Choker } from './choker.js'
import type { SwarmOptions } from './constants.js'
import type { Picker } from './picker.js'
import { SuperSeeder } from './superseed.js'
import type { Uploader } from './uploader.js'
import type { PeerWire } from './wire.js'

/**
 * Bench only, for issue #19's A/B of the newcomer unchoke (choker.ts) at N = 16:
 * STOREMESH_BENCH_NO_NEWCOMER_UNCHOKE=1 in a daemon's environment turns it off.
 */
const NEWCOMER_UNCHOKE = process.env.STOREMESH_BENCH_NO_NEWCOMER_UNCHOKE !== '1'

/** What the swarm knows of a peer that this needs. */
export interface UnchokePeer {
  id: string
  link: Link
  wire: PeerWire
  uploader: Pick<Uploader, 'pending'>
  /** piece bytes in the current choke interval, for the choker's ranking */
  recentDown: number
  recentUp: number
  /** chunks we uploaded to it (none: a newcomer to the choker) */
  sentChunks: number
}

export interface UnchokingInit {
  options: Readonly<SwarmOptions>
  superseed: boolean
  picker: Picker
  peers: () => Iterable<UnchokePeer>
  peer: (id: string) => UnchokePeer | undefined
  stopped: () => boolean
  now: () => number
  random?: () => number
  /** a super-seeder's hoarder verdicts are logged here (info: a verdict on a peer) */
  log?: Log | undefined
}

export class Unchoking {
  readonly seeder: SuperSeeder | undefined
  readonly #init: UnchokingInit
  readonly #choker: Choker
  #queued = false

  constructor (init: UnchokingInit) {
    this.#init = init
    const o = init.options
    const uploadSlots = init.superseed ? Number.MAX_SAFE_INTEGER : o.uploadSlots
    this.#choker = new Choker({ uploadSlots, optimisticSlots: o.optimisticSlots, intervalMs: o.chokeIntervalMs, random: init.random })
    this.seeder = init.superseed
      ? new SuperSeeder({
        numPieces: init.picker.numPieces,
        offersPerPeer: o.superseedOffersPerPeer,
        maxInTransit: o.superseedMaxInTransit,
        stallMs: o.superseedStallMs,
        offerTimeoutMs: o.superseedOfferTimeoutMs,
        now: init.now,
        random: init.random
      })
      : undefined
  }

  /** A peer's wire is ready. */
  addPeer (id: string): void {
    this.seeder?.addPeer(id)
    this.schedule()
  }

  removePeer (id: string): void {
    this.seeder?.removePeer(id)
    this.schedule()
  }

  peerBitfield (peer: UnchokePeer): void {
    const bits = this.#init.picker.peerBits(peer.id)
    if (bits !== undefined) this.seeder?.peerBitfield(peer.id, bits)
    this.sendOffers(peer)
    this.schedule()
  }

  /** A peer announced a chunk: offers it may release go out now. */
  peerHave (id: string, index: number): void {
    if (this.seeder === undefined) return
    for (const q of this.seeder.peerHave(id, index)) {
      const qp = this.#init.peer(q)
      if (qp !== undefined) this.sendOffers(qp)
    }
    this.schedule()
  }

  /** We uploaded a chunk to a peer: its claim of that chunk is credible (superseed.ts). */
  peerSent (id: string, index: number): void {
    this.seeder?.peerSent(id, index)
  }

  /** A peer served us a verified chunk: its claims count from now on (superseed.ts). */
  peerServed (id: string): void {
    this.seeder?.peerServed(id)
  }

  /** We hold a new chunk: announce it (a super-seeder offers instead). */
  announce (peer: UnchokePeer, index: number): void {
    if (this.seeder === undefined) peer.wire.have(index)
    else if (!peer.wire.amChoking) this.sendOffers(peer)
  }

  sendOffers (peer: UnchokePeer): void {
    if (this.seeder === undefined || !peer.wire.ready) return
    const judged = this.seeder.hoarders
    for (const index of this.seeder.offers(peer.id, this.#init.picker.held, peer.uploader.pending)) peer.wire.have(index)
    if (this.seeder.hoarders > judged) {
      const { claimed, sent } = this.seeder.claimsOf(peer.id)
      this.#init.log?.info({ peer: peer.id, claimed, sent },
        `super-seeding: peer ${peer.id} named a hoarder (claims ${claimed} chunks, ${sent} of them from us, an unexplained claim and never proven)`)
    }
  }

  /**
   * The super-seeder's tick; false when every peer holds every chunk and none waits to be
   * judged a hoarder (nothing left to do until a peer joins or announces).
   */
  offerAll (): boolean {
    const { picker } = this.#init
    let busy = false
    for (const p of this.#init.peers()) {
      this.sendOffers(p)
      if ((picker.peerBits(p.id)?.count ?? 0) < picker.numPieces || this.seeder?.judging(p.id) === true) busy = true
    }
    return busy
  }

  /** Re-decides the slots once this turn of the event loop is over. */
  schedule (): void {
    if (this.#queued || this.#init.stopped()) return
    this.#queued = true
    setImmediate(() => {
      this.#queued = false
      this.run()
    })
  }

  /** The choke interval: re-rank, then start the next interval's counters. */
  tick (): void {
    this.run()
    for (const p of this.#init.peers()) { p.recentDown = 0; p.recentUp = 0 }
  }

  run (): void {
    if (this.#init.stopped()) return
    const { picker } = this.#init
    const n = picker.numPieces
    const seeding = picker.complete
    const ready = [...this.#init.peers()].filter(p => p.wire.ready && !p.wire.closed)
    const unchoke = this.#choker.decide(ready.map(p => ({
      id: p.id,
      // a super-seeder unchokes peers that lack chunks even before they know it has any
      candidate: p.wire.peerInterested || (this.seeder !== undefined && (picker.peerBits(p.id)?.count ?? 0) < n),
      link: p.link,
      score: seeding ? p.recentUp : p.recentDown,
      // LAN only: that is where requesters judge hoarders (hoarders.ts), and a WAN peer waits for a slot as before
      newcomer: NEWCOMER_UNCHOKE && p.link === 'lan' && p.sentChunks === 0
    })), this.#init.now())
    for (const p of ready) {
      const on = unchoke.has(p.id)
      if (on) p.wire.unchoke()
      else p.wire.choke()
      this.seeder?.setUnchoked(p.id, on)
      if (on) this.sendOffers(p)
    }
  }
}
