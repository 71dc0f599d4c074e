/**
 * One bundle's swarm on this node: the peer wires, the picker, have broadcasts,
 * verification and progress; who is unchoked and what a super-seeder shows is
 * unchoking.ts.
 *
 * Every received chunk is BLAKE3-verified before it is stored or announced; a bad one
 * scores its sender down (banned past the threshold) and is asked of someone else.
 * A wire closed for a protocol violation (over a budget, a wrong-length or
 * unsolicited piece, a malformed frame: violations.ts) scores its peer down too, and
 * the peer's connection is closed, not only the stream.
 * The bitfield comes from the store, so chunks held for any bundle count. After
 * completion the swarm keeps seeding until stop().
 *
 * Peers arrive as byte duplexes (addPeer), so tests use in-memory pairs and the
 * ChunkProtocol hands in libp2p streams; a peer's wire and uploader are built in
 * swarm-peer.ts, and what each of its messages changes is peer-events.ts.
 */
import { EventEmitter } from 'node:events'
import { blake3Hex } from '../bundle/hash.js'
import { isStoremeshError, StoremeshError, toStoremeshError } from '../interface/errors.js'
import type { BundleInfo, ChunkSink, Link } from '../interface/types.js'
import { lifetimeAbortController } from '../interface/startable.js'
import { Bits } from './bits.js'
import { defaultSwarmOptions, type SwarmOptions } from './constants.js'
import { HoarderWatch } from './hoarders.js'
import { PeerTrace } from './peer-trace.js'
import { Picker } from './picker.js'
import { BanList, PeerScorer } from './scoring.js'
import type { BundleSwarmEvents, BundleSwarmInit, LinkBytes, PeerConnection, SwarmProgress } from './swarm-types.js'
import { Unchoking } from './unchoking.js'
import type { AcquireBytes } from './uploader.js'
import { LENIENT_VIOLATIONS, violationOf } from './violations.js'
import type { PeerWire } from './wire.js'
import { createSwarmPeer, newWireWins, type SwarmPeer } from './swarm-peer.js'
import { bindPeerEvents, type PeerEventTarget } from './peer-events.js'

export type { BadChunkEvent, BundleSwarmEvents, BundleSwarmInit, ChunkEvent, LinkBytes, PeerConnection, SwarmProgress, ViolationSwarmEvent } from './swarm-types.js'


export class BundleSwarm extends EventEmitter<BundleSwarmEvents> {
  readonly bundle: BundleInfo
  readonly superseed: boolean
  readonly options: Readonly<SwarmOptions>
  readonly scorer: PeerScorer
  /** resolves when every chunk is held; rejects with E_ABORTED if stopped first */
  readonly done: Promise<void>
  readonly #store: ChunkSink
  readonly #localPeerId: string
  readonly #uploadLimiter: AcquireBytes | undefined
  readonly #isAllowed: (peerId: string) => boolean
  readonly #now: () => number
  readonly #picker: Picker
  readonly #unchoking: Unchoking
  readonly #peers = new Map<string, SwarmPeer>()
  readonly #storing = new Set<number>()
  readonly #hoarders: HoarderWatch
  readonly #trace: PeerTrace
  readonly #peerEvents: PeerEventTarget
  readonly #indexOf = new Map<string, number>()
  readonly #abort = lifetimeAbortController()
  readonly #bytes: Record<Link, LinkBytes> = { lan: { up: 0, down: 0 }, wan: { up: 0, down: 0 } }
  #resolveDone!: () => void
  #rejectDone!: (err: Error) => void
  #heldBytes = 0
  #wastedBytes = 0
  #badChunks = 0
  #started = false
  #stopped = false
  #pausedUntilMs = 0
  readonly #timers: Record<'choke' | 'fill' | 'offer', NodeJS.Timeout | undefined> = { choke: undefined, fill: undefined, offer: undefined }
  #fillQueued = false

  constructor (init: BundleSwarmInit) {
    super()
    this.bundle = init.bundle
    this.superseed = init.superseed === true
    this.options = { ...defaultSwarmOptions, ...init.options }
    this.scorer = init.scorer ?? new PeerScorer({ bans: new BanList() })
    this.#store = init.store
    this.#localPeerId = init.localPeerId
    this.#uploadLimiter = init.uploadLimiter
    this.#isAllowed = init.isAllowed ?? (() => true)
    this.#now = init.now ?? Date.now
    const o = this.options
    const big = init.bundle.pieces.findIndex(p => p.size > o.maxChunkBytes)
    if (big >= 0) {
      throw new StoremeshError('E_INVALID_ARGUMENT', `chunk ${big} of bundle ${init.bundle.id} is larger than the wire limit ${o.maxChunkBytes}`,
        { bundle: init.bundle.id, index: big })
    }
    init.bundle.pieces.forEach((p, i) => this.#indexOf.set(p.hash, i))
    this.#picker = new Picker({ ...o, pieceSizes: init.bundle.pieces.map(p => p.size), now: this.#now, random: init.random })
    this.#unchoking = new Unchoking({
      options: o,
      superseed: this.superseed,
      picker: this.#picker,
      peers: () => this.#peers.values(),
      peer: id => this.#peers.get(id),
      stopped: () => this.#stopped,
      now: this.#now,
      random: init.random,
      log: init.log
    })
    this.#hoarders = new HoarderWatch({
      picker: this.#picker,
      bundleId: init.bundle.id,
      hoarderAfterMs: o.hoarderAfterMs,
      peer: id => this.#peers.get(id),
      now: this.#now,
      ...(init.spareHoarder !== undefined ? { spare: init.spareHoarder } : {})
    })
    this.#trace = new PeerTrace({ log: init.log, bundleId: init.bundle.id, now: this.#now })
    this.#peerEvents = {
      picker: this.#picker,
      trace: this.#trace,
      hoarders: this.#hoarders,
      unchoking: this.#unchoking,
      pieceCount: init.bundle.pieces.length,
      superseed: this.superseed,
      stopped: () => this.#stopped,
      peerAdded: id => { this.#armOffers(); this.emit('peer:add', id) },
      peerRemoved: (id, err) => { this.emit('peer:remove', id, err) },
      updateInterest: peer => { this.#updateInterest(peer) },
      fill: peer => { this.#fill(peer) },
      scheduleFill: () => { this.#scheduleFill() },
      onPiece: (peer, index, data) => { void this.#onPiece(peer, index, data) },
      removePeer: peer => this.#removePeer(peer),
      onViolation: (peer, violation, err) => { this.#onViolation(peer, violation, err) }
    }
    this.done = new Promise<void>((resolve, reject) => { this.#resolveDone = resolve; this.#rejectDone = reject })
    // nobody awaiting done must not become an unhandled rejection at stop
    this.done.catch(() => {})
  }

  /** Reads which chunks the store holds (for any bundle) and starts the timers. */
  async start (): Promise<void> {
    if (this.#started) return
    const pieces = this.bundle.pieces
    const BATCH = 64
    for (let i = 0; i < pieces.length; i += BATCH) {
      const held = await Promise.all(pieces.slice(i, i + BATCH).map(async p => await this.#store.has(p.hash)))
      held.forEach((h, j) => { if (h) this.#markHeldQuietly(i + j) })
    }
    this.#started = true
    const o = this.options
    this.#timers.choke = setInterval(() => { this.#unchoking.tick() }, o.chokeIntervalMs).unref()
    // requests that waited past reaskAfterMs become askable of idle holders (picker.ts); cleared once complete (#finish)
    this.#timers.fill = setInterval(() => {
      if (this.#picker.complete) return
      this.#hoarders.check()
      this.#scheduleFill()
    }, Math.max(100, o.reaskAfterMs / 2)).unref()
    this.#armOffers()
    if (this.#picker.complete) this.#finish()
  }

  /** The super-seeder's offer tick, while a peer lacks chunks (issue #19: an idle hub woke every second); a peer joining starts it again. */
  #armOffers (): void {
    if (!this.superseed || !this.#started || this.#stopped || this.#timers.offer !== undefined) return
    this.#timers.offer = setInterval(() => {
      if (!this.#unchoking.offerAll()) { clearInterval(this.#timers.offer); this.#timers.offer = undefined }
    }, this.options.superseedTickMs).unref()
  }

  /** Closes every wire and stops; `done` rejects with E_ABORTED if not complete. */
  async stop (): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    for (const t of Object.values(this.#timers)) clearInterval(t)
    this.#hoarders.stop()
    this.#abort.abort()
    for (const p of [...this.#peers.values()]) p.wire.close()
    this.#peers.clear()
    this.#rejectDone(new StoremeshError('E_ABORTED', `swarm of ${this.bundle.id} stopped before completion`, { bundle: this.bundle.id }))
  }

  get complete (): boolean { return this.#picker.complete }
  /** the periodic timers armed now (once complete with every peer complete: the choke tick alone) */
  get timersArmed (): string[] { return Object.entries(this.#timers).filter(([, t]) => t !== undefined).map(([k]) => k) }
  get stopped (): boolean { return this.#stopped }
  /** our chunks as a bitfield (do not mutate) */
  get held (): Bits { return this.#picker.held }
  /** What a connected peer has announced (bitfield + haves): the metrics' availability source. */
  peerBitfield (peerId: string): Bits | undefined { return this.#picker.peerBits(peerId) }
  get endgame (): boolean { return this.#picker.endgame }
  /** chunks shown by the super-seeder's stall fallback */
  get superseedFallbackReveals (): number { return this.#unchoking.seeder?.fallbackReveals ?? 0 }
  /** peers the super-seeder found claiming chunks they never served (superseed.ts) */
  get superseedHoarders (): number { return this.#unchoking.seeder?.hoarders ?? 0 }
  /** peers disconnected as hoarders (hoarders.ts) */
  get droppedHoarders (): number { return this.#hoarders.dropped }
  /** peers we asked that never delivered a chunk and let a request wait: asked one chunk at a time (picker.ts) */
  get suspectPeers (): number { return this.#picker.suspects }
  /** copies of chunks in flight asked, by rule (picker.ts `copies`) */
  get copiesAsked (): Readonly<Picker['copies']> { return this.#picker.copies }

  peerIds (): string[] { return [...this.#peers.keys()] }

  /** The wire of a peer, for status and tests. */
  peerWire (peerId: string): PeerWire | undefined { return this.#peers.get(peerId)?.wire }

  progress (): SwarmProgress {
    return {
      bundleId: this.bundle.id,
      heldChunks: this.#picker.heldCount,
      totalChunks: this.bundle.pieces.length,
      heldBytes: this.#heldBytes,
      totalBytes: this.bundle.totalBytes,
      bytes: { lan: { ...this.#bytes.lan }, wan: { ...this.#bytes.wan } },
      wastedBytes: this.#wastedBytes,
      badChunks: this.#badChunks,
      peers: this.#peers.size,
      complete: this.#picker.complete,
      superseed: this.superseed
    }
  }

  /**
   * Adds a peer connection. Throws E_PEER_BANNED for a banned peer. Of two wires to
   * the same peer one wins (newWireWins); the loser is closed and undefined returned.
   */
  addPeer (conn: PeerConnection): PeerWire | undefined {
    if (!this.#started || this.#stopped) {
      throw new StoremeshError('E_NOT_CONNECTED', `swarm of ${this.bundle.id} is not running`, { bundle: this.bundle.id })
    }
    const id = conn.remotePeerId
    if (this.scorer.bans.isBanned(id)) {
      conn.duplex.destroy()
      throw new StoremeshError('E_PEER_BANNED', `peer ${id} is banned`, { peer: id })
    }
    const existing = this.#peers.get(id)
    if (existing !== undefined) {
      if (!newWireWins(this.#localPeerId, id, conn.initiator, existing.initiator)) {
        conn.duplex.on('error', () => {})
        conn.duplex.destroy()
        return undefined
      }
      this.#removePeer(existing)
      existing.wire.close()
    }
    const peer = createSwarmPeer(conn, {
      bundle: this.bundle,
      localPeerId: this.#localPeerId,
      options: this.options,
      now: this.#now,
      uploadLimiter: this.#uploadLimiter,
      read: async (index, signal) => await this.#store.get((this.bundle.pieces[index] as { hash: string }).hash, { signal }),
      holders: index => this.#picker.rarity.count(index),
      signal: this.#abort.signal,
      onSent: (p, index, bytes) => {
        this.#bytes[p.link].up += bytes
        p.recentUp += bytes
        p.sentChunks++
        this.#unchoking.peerSent(p.id, index)
      },
      onError: err => { this.emit('warning', err) }
    })
    this.#peers.set(id, peer)
    bindPeerEvents(peer, this.#peerEvents)
    return peer.wire
  }

  /** Closes the wire of a peer (e.g. when its connection closed). */
  removePeer (peerId: string, err?: StoremeshError): void {
    this.#peers.get(peerId)?.wire.close(err)
  }

  /**
   * Another path stored a chunk (a WAN download, another bundle's swarm): announce it
   * if it is one of ours. The caller vouches that the store verified it.
   */
  noteChunkStored (hash: string): void {
    const index = this.#indexOf.get(hash)
    if (index === undefined || this.#stopped || this.#picker.has(index) || this.#storing.has(index)) return
    this.#markHeld(index)
  }

  #removePeer (peer: SwarmPeer): boolean {
    if (this.#peers.get(peer.id) !== peer) return false
    this.#peers.delete(peer.id)
    this.#trace.forget(peer.id)
    this.#picker.removePeer(peer.id)
    this.#unchoking.removePeer(peer.id)
    this.#scheduleFill()
    return true
  }

  async #onPiece (peer: SwarmPeer, index: number, data: Uint8Array): Promise<void> {
    if (!this.#isAllowed(peer.id)) { this.#picker.onFailed(index, peer.id); return }
    this.#bytes[peer.link].down += data.length
    peer.recentDown += data.length
    const ref = this.bundle.pieces[index] as { hash: string, size: number }
    if (this.#picker.has(index) || this.#storing.has(index)) {
      // an endgame copy that crossed our cancel, or a late answer to a request we withdrew
      this.#picker.onFailed(index, peer.id)
      this.#wastedBytes += data.length
      // its choker counts it as sent and may choke us now: a good copy proves it serves (hoarders.ts)
      if (this.#picker.unproven(peer.id) && blake3Hex(data) === ref.hash) this.#picker.delivered(peer.id)
      return
    }
    if (blake3Hex(data) !== ref.hash) {
      this.#onBadChunk(peer, index, data.length)
      return
    }
    this.#storing.add(index)
    // cancel on arrival, not once durable: the others' copies would cross our slow write
    for (const q of this.#picker.arrived(index, peer.id)) this.#peers.get(q)?.wire.cancel(index)
    try {
      const store = this.#store
      // just hashed above: a store that can skip its own check does
      if (store.putVerified !== undefined) await store.putVerified(ref.hash, data, this.#abort.signal)
      else await store.put(ref.hash, data, { signal: this.#abort.signal })
    } catch (err) {
      this.#storing.delete(index)
      if (this.#stopped) return
      this.#picker.arrivalFailed(index)
      this.#picker.onFailed(index, peer.id)
      const e = toStoremeshError(err)
      if (isStoremeshError(e, 'E_CHUNK_HASH_MISMATCH')) {
        this.#onBadChunk(peer, index, data.length)
        return
      }
      // disk full or the like: do not hammer the network while the store refuses
      this.#pausedUntilMs = this.#now() + this.options.storeErrorBackoffMs
      setTimeout(() => { this.#scheduleFill() }, this.options.storeErrorBackoffMs).unref()
      this.emit('warning', e)
      return
    }
    this.#storing.delete(index)
    if (this.#stopped) return
    this.#unchoking.peerServed(peer.id)
    this.#markHeld(index, peer)
  }

  #onBadChunk (peer: SwarmPeer, index: number, bytes: number): void {
    const hash = (this.bundle.pieces[index] as { hash: string }).hash
    this.#badChunks++
    this.#wastedBytes += bytes
    // never ask this peer for this chunk again; someone else gets asked
    this.#picker.onFailed(index, peer.id, true)
    const verdict = this.scorer.recordBadChunk(peer.id, `chunk ${index} of ${this.bundle.id}`)
    this.emit('bad-chunk', { index, hash, peerId: peer.id, banned: verdict.banned })
    if (verdict.banned) this.dropBanned(peer.id)
    this.#scheduleFill()
  }

  /**
   * The wire closed for a protocol violation: score the peer and close its connection
   * too (its stream is already reset), so a hostile peer has to dial again (the
   * gater refuses it once banned) and our reopen back-off (reopen.ts) does not reset.
   */
  #onViolation (peer: SwarmPeer, violation: NonNullable<ReturnType<typeof violationOf>>, err: StoremeshError): void {
    const verdict = this.scorer.recordViolation(peer.id, violation, `${err.message} (bundle ${this.bundle.id})`)
    this.emit('violation', { peerId: peer.id, violation, message: err.message, banned: verdict.banned })
    if (!LENIENT_VIOLATIONS.has(violation)) peer.disconnect?.()
  }

  /** Closes a banned peer's wire and connection (the ChunkProtocol calls it for every swarm). */
  dropBanned (peerId: string): void {
    const peer = this.#peers.get(peerId)
    if (peer === undefined) return
    peer.wire.close(new StoremeshError('E_PEER_BANNED', `peer ${peerId} is banned`, { peer: peerId, bundle: this.bundle.id }))
    peer.disconnect?.()
  }

  /** Records a chunk found in the store at start: no broadcast, no events. */
  #markHeldQuietly (index: number): void {
    if (this.#picker.has(index)) return
    this.#picker.setHave(index)
    this.#heldBytes += this.bundle.pieces[index]?.size ?? 0
  }

  #markHeld (index: number, source?: SwarmPeer): void {
    const ref = this.bundle.pieces[index] as { hash: string, size: number }
    const askers = this.#picker.setHave(index, source?.id)
    this.#heldBytes += ref.size
    for (const q of askers) if (q !== source?.id) this.#peers.get(q)?.wire.cancel(index)
    for (const p of this.#peers.values()) {
      // a super-seeder offers new chunks through its pool instead of announcing them
      this.#unchoking.announce(p, index)
      this.#updateInterest(p)
    }
    this.emit('chunk', { index, hash: ref.hash, size: ref.size, peerId: source?.id, link: source?.link })
    this.emit('progress', this.progress())
    if (this.#picker.complete) this.#finish()
    else this.#scheduleFill()
  }

  #finish (): void {
    clearInterval(this.#timers.fill)
    this.#timers.fill = undefined
    this.#resolveDone()
    this.emit('done')
  }

  #updateInterest (peer: SwarmPeer): void {
    if (this.#picker.isInteresting(peer.id)) peer.wire.interested()
    else peer.wire.uninterested()
  }

  #fill (peer: SwarmPeer): void {
    const w = peer.wire
    if (this.#stopped || !w.ready || w.closed || this.#picker.complete) return
    if (w.peerChoking) {
      if (this.#trace.enabled) this.#trace.considered(peer.id, 0, () => 'it chokes us')
      return
    }
    if (this.#now() < this.#pausedUntilMs) return
    const asked = this.#picker.next(peer.id)
    if (this.#trace.enabled) this.#trace.considered(peer.id, asked.length, () => this.#picker.notAskedWhy(peer.id, false), () => this.#picker.notAskedWhy(peer.id))
    for (const index of asked) {
      if (!w.request(index)) this.#picker.onFailed(index, peer.id)
    }
    if (asked.length > 0) this.#hoarders.arm()
  }

  #scheduleFill (): void {
    if (this.#fillQueued || this.#stopped) return
    this.#fillQueued = true
    setImmediate(() => {
      this.#fillQueued = false
      for (const p of this.#peers.values()) this.#fill(p)
    })
  }
}
