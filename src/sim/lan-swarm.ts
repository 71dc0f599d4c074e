/**
 * One store's LAN swarm at full fidelity, on simulated time: every chunk transfer goes
 * through the product's own decisions, imported, not re-implemented:
 * - each node's Picker (rarest first, pipelining, endgame, re-asking; src/swarm/picker.ts),
 * - the hub's SuperSeeder offers (superseed.ts) and each device's Choker (choker.ts),
 * - each node's upload turns (upload-turns.ts nextTurn: one whole chunk at a time at
 *   the node's cap, the chunk fewest of its peers hold first, among one request per
 *   peer whose last chunk was read: lan-swarm-turns.ts),
 * - bad chunks scored and banned by the PeerScorer (scoring.ts).
 *
 * What is modelled, not run: the wire (a message arrives `latencyMs` after it is sent),
 * the upload cap (a chunk of s bytes holds the uploader for s/u), a device's download
 * (one chunk at a time at its download rate after it arrives), and the session's
 * timers at their product intervals (choke rotation, the fill tick, the super-seed
 * tick). Mirrors session.ts: a chunk that arrives fills every peer's pipeline again,
 * a have fills the pipeline to its sender, a cancel during a turn hands the granted
 * bytes to the next turn (upload-turns.ts prepaid bytes).
 *
 * A corrupt peer claims every chunk and serves bad copies; it is not one of the N.
 */
import { Bits } from '../swarm/bits.js'
import { Choker, type ChokerPeer } from '../swarm/choker.js'
import { defaultSwarmOptions, type SwarmOptions } from '../swarm/constants.js'
import { SuperSeeder } from '../swarm/superseed.js'
import { EventQueue } from './event-queue.js'
import { HostCpu } from './host-cpu.js'
import type { LanSwarmInit, LanSwarmResult, Node, Req } from './lan-swarm-types.js'
import { HUB, newNode } from './lan-swarm-nodes.js'
import { holdersOf, takeTurn } from './lan-swarm-turns.js'
import { runDeviceChoker, runHubChoker } from './lan-swarm-chokers.js'
export type { LanSwarmInit, LanSwarmResult } from './lan-swarm-types.js'

/**
 * The product re-runs a choker once per event-loop turn (setImmediate), so every
 * message read in one turn shares one run; a node busy with a chunk every few ms
 * batches about this long. (Per simulated instant instead ran the hub's choker on
 * every `have` of a 300-device store, most of the model's time.)
 */
const CHOKER_BATCH_MS = 10
const HORIZON_DEFAULT_MS = 30 * 24 * 3600_000

export function simulateLanSwarm (init: LanSwarmInit): LanSwarmResult {
  return new LanSwarm(init).run()
}

/** Exported for tests that look at the nodes' pickers after a run; simulateLanSwarm is the API. */
export class LanSwarm {
  readonly q = new EventQueue(0)
  readonly o: SwarmOptions
  readonly nodes: Node[] = []
  readonly seeder: SuperSeeder
  readonly hubChoker: Choker
  readonly n: number
  readonly sizes: readonly number[]
  /** a device's choker slots, regular and optimistic */
  readonly slots: number
  fillQueued = new Set<number>()
  chokeQueued = new Set<number>()
  hubQueued = false
  /** live requests each device has waiting in the hub's queue (not the one being served): the seeder's pendingRequests without a pass over the queue */
  readonly hubLiveQueued: Int32Array
  /** scratch of takeTurn: the requests offered to a turn, and which peers offered one */
  readonly offered: Req[] = []
  readonly seen: Uint8Array
  /** 1 once the hub is connected to that device (init.hubConnectMs) */
  readonly hubLinked: Uint8Array
  wastedBytes = 0
  badChunks = 0
  bans = 0
  remaining: number
  /** single-machine validation only (host-cpu.ts) */
  readonly cpu: HostCpu | undefined

  constructor (readonly init: LanSwarmInit) {
    this.o = { ...defaultSwarmOptions, ...init.options }
    this.sizes = init.pieceSizes
    this.n = init.deviceUpBytesPerSec.length
    this.slots = this.o.uploadSlots + this.o.optimisticSlots
    this.remaining = this.n
    this.hubLiveQueued = new Int32Array(1 + this.n + init.corruptPeers)
    this.seen = new Uint8Array(1 + this.n + init.corruptPeers)
    this.hubLinked = new Uint8Array(1 + this.n + init.corruptPeers)
    this.cpu = init.hostCpu === undefined ? undefined : new HostCpu(init.hostCpu, 1 + this.n + init.corruptPeers)
    const random = init.rng.random
    const now = this.q.now
    const total = 1 + this.n + init.corruptPeers
    for (let i = 0; i < total; i++) this.nodes.push(newNode(i, init, this.o, now, random))
    this.seeder = new SuperSeeder({
      numPieces: this.sizes.length,
      offersPerPeer: this.o.superseedOffersPerPeer,
      maxInTransit: this.o.superseedMaxInTransit,
      stallMs: this.o.superseedStallMs,
      offerTimeoutMs: this.o.superseedOfferTimeoutMs,
      now,
      random
    })
    this.hubChoker = new Choker({ uploadSlots: Number.MAX_SAFE_INTEGER, optimisticSlots: this.o.optimisticSlots, intervalMs: this.o.chokeIntervalMs, random })
  }

  #devices: Node[] | undefined

  get devices (): Node[] {
    this.#devices ??= this.nodes.slice(1, 1 + this.n)
    return this.#devices
  }

  run (): LanSwarmResult {
    const horizon = this.init.horizonMs ?? HORIZON_DEFAULT_MS
    this.q.runAt(this.init.connectMs, () => { this.connect() })
    this.q.run(horizon, () => this.remaining === 0)
    const doneMs = this.devices.map(d => d.doneMs)
    return {
      makespanMs: Math.max(0, ...doneMs),
      doneMs,
      hubUpBytes: (this.nodes[HUB] as Node).upBytes,
      lanBytes: this.nodes.reduce((a, x) => a + x.upBytes, 0),
      wastedBytes: this.wastedBytes,
      badChunks: this.badChunks,
      bans: this.bans,
      events: this.q.processed
    }
  }

  connect (): void {
    const full = new Bits(this.sizes.length)
    for (let c = 0; c < this.sizes.length; c++) full.set(c)
    const later = this.init.hubConnectMs
    for (const d of this.devices) if ((later?.[d.idx - 1] ?? 0) <= this.init.connectMs) this.hubLinked[d.idx] = 1
    for (const a of this.nodes) {
      for (const b of this.nodes) {
        if (a === b || (a.idx === HUB && b.corrupt) || (a.corrupt && b.idx === HUB)) continue
        if ((a.idx === HUB && this.hubLinked[b.idx] === 0) || (b.idx === HUB && this.hubLinked[a.idx] === 0)) continue
        a.picker.addPeer(b.id)
        // a corrupt peer claims everything; the super-seeding hub shows nothing up front
        if (b.corrupt) a.picker.peerBitfield(b.id, full)
      }
      if (a.idx !== HUB && !a.corrupt && this.hubLinked[a.idx] === 1) this.seeder.addPeer(a.id)
    }
    for (const d of this.devices) if (this.hubLinked[d.idx] === 0) this.q.runAt(later?.[d.idx - 1] ?? 0, () => { this.linkHub(d) })
    for (const c of this.nodes.filter(x => x.corrupt)) {
      // it unchokes everyone: a liar wants to be asked
      for (const d of this.devices) { c.unchoking.add(d.idx); d.unchokedBy.add(c.idx) }
    }
    runHubChoker(this)
    for (const d of this.devices) this.queueChoke(d)
    const tick = (): void => {
      this.offerAll()
      this.q.runIn(tick, this.o.superseedTickMs)
    }
    this.q.runIn(tick, this.o.superseedTickMs)
    const chokeTick = (): void => {
      for (const d of this.devices) { runDeviceChoker(this, d); d.recentDown.clear(); d.recentUp.clear() }
      runHubChoker(this)
      this.q.runIn(chokeTick, this.o.chokeIntervalMs)
    }
    this.q.runIn(chokeTick, this.o.chokeIntervalMs)
    const fillTick = (): void => {
      for (const d of this.devices) if (!d.picker.complete) this.queueFill(d)
      this.q.runIn(fillTick, Math.max(100, this.o.reaskAfterMs / 2))
    }
    this.q.runIn(fillTick, Math.max(100, this.o.reaskAfterMs / 2))
  }

  /** The hub's connection to `d` opens late (a loaded host's dials): each learns the other's bitfield. */
  linkHub (d: Node): void {
    const hub = this.nodes[HUB] as Node
    this.hubLinked[d.idx] = 1
    hub.picker.addPeer(d.id)
    hub.picker.peerBitfield(d.id, d.picker.held)
    d.picker.addPeer(hub.id)
    this.seeder.addPeer(d.id)
    this.seeder.peerBitfield(d.id, d.picker.held)
    this.queueHubChoker()
  }

  // ---- messages --------------------------------------------------------------

  send (fn: () => void): void {
    this.q.runIn(fn, this.init.latencyMs)
  }

  /** `to` learns that `from` holds `index`. */
  onHave (to: Node, from: Node, index: number): void {
    if (to.idx === HUB) {
      if (this.hubLinked[from.idx] === 0 || !to.picker.peerHave(from.id, index)) return
      for (const id of this.seeder.peerHave(from.id, index)) this.sendOffersTo(this.byId(id))
      // The product re-runs the hub's unchoking on every have. With unlimited slots its
      // choice is "every device that lacks a chunk", which changes only when the hub
      // learns a device is complete; its offers on each run are released by the
      // seeder's own path above and the super-seed tick. So the model runs it then (and
      // at each choke interval), not per batch of haves: it was a tenth of a store's time.
      if ((to.picker.peerBits(from.id)?.count ?? 0) >= this.sizes.length) this.queueHubChoker()
      return
    }
    // a ban is rare: the size test spares 10 M Set lookups per 50-device store at 4,096 chunks
    if (to.corrupt || (to.banned.size !== 0 && to.banned.has(from.idx))) return
    const wasInterested = to.picker.isInteresting(from.id)
    if (!to.picker.peerHave(from.id, index)) return
    // the wire sends `interested` only on a change, and only that re-runs the choker
    if (!wasInterested) this.queueChoke(from)
    this.fill(to, from)
  }

  byId (id: string): Node {
    return this.nodes[id === 'hub' ? HUB : Number(id.slice(1))] as Node
  }

  // ---- requests and uploads ----------------------------------------------------

  fill (d: Node, peer: Node): void {
    // the unchoke test first: most haves come from peers that choke the receiver
    if (!d.unchokedBy.has(peer.idx) || d.picker.complete || (d.banned.size !== 0 && d.banned.has(peer.idx))) return
    for (const index of d.picker.next(peer.id)) {
      this.send(() => { this.enqueue(peer, d, index) })
    }
  }

  queueFill (d: Node): void {
    if (this.fillQueued.has(d.idx)) return
    this.fillQueued.add(d.idx)
    this.q.runIn(() => {
      this.fillQueued.delete(d.idx)
      for (const p of d.unchokedBy) this.fill(d, this.nodes[p] as Node)
    }, 0)
  }

  enqueue (up: Node, from: Node, index: number): void {
    if (!up.unchoking.has(from.idx)) { this.send(() => { this.requestFailed(from, up, index) }); return }
    up.queue.push({ from: from.idx, index, passed: 0, live: true, holders: holdersOf(up, index) })
    if (up.idx === HUB) this.hubLiveQueued[from.idx]++
    this.serveNext(up)
  }

  serveNext (up: Node): void {
    if (up.serving !== undefined) return
    const req = takeTurn(up, this.offered, this.seen)
    if (req === undefined) return
    if (up.idx === HUB) this.hubLiveQueued[req.from]--
    up.serving = req
    const bytes = this.sizes[req.index] as number
    const prepaid = Math.min(up.prepaidBytes, bytes)
    up.prepaidBytes -= prepaid
    const wireMs = 1000 * (bytes - prepaid) / up.upBps
    const now = this.q.nowMs()
    this.q.runIn(() => { this.served(up, req, bytes) }, this.cpu === undefined ? wireMs : Math.max(wireMs, this.cpu.send(up.idx, bytes, now) - now))
  }

  served (up: Node, req: Req, bytes: number): void {
    up.serving = undefined
    if (!req.live) {
      up.prepaidBytes += bytes
    } else {
      up.upBytes += bytes
      up.recentUp.set(req.from, (up.recentUp.get(req.from) ?? 0) + bytes)
      const to = this.nodes[req.from] as Node
      up.unread[to.idx]++
      if (up.idx === HUB) this.seeder.peerSent(to.id, req.index)
      this.send(() => { this.arrive(to, up, req.index, bytes) })
    }
    this.serveNext(up)
    if (up.idx === HUB) this.sendOffersTo(this.nodes[req.from] as Node)
  }

  /** A piece reaches `d`'s socket; it is read at d's download rate, one at a time. */
  arrive (d: Node, from: Node, index: number, bytes: number): void {
    const now = this.q.nowMs()
    d.downFreeAtMs = Math.max(now, d.downFreeAtMs) + (Number.isFinite(d.downBps) ? 1000 * bytes / d.downBps : 0)
    // the receiver's CPU work began with the chunk's first byte, a wire time ago
    const readyMs = this.cpu === undefined ? d.downFreeAtMs : Math.max(d.downFreeAtMs, this.cpu.receive(d.idx, bytes, now - 1000 * bytes / from.upBps))
    if (readyMs <= now) this.received(d, from, index, bytes)
    else this.q.runAt(readyMs, () => { this.received(d, from, index, bytes) })
  }

  received (d: Node, from: Node, index: number, bytes: number): void {
    // read: the sender's loop for `d` may offer its next request (lan-swarm-turns.ts)
    from.unread[d.idx]--
    this.serveNext(from)
    // a banned peer's wire is closed: what it still had on the way never arrives
    if (d.banned.has(from.idx)) return
    d.recentDown.set(from.idx, (d.recentDown.get(from.idx) ?? 0) + bytes)
    if (d.picker.has(index)) {
      d.picker.onFailed(index, from.id)
      this.wastedBytes += bytes
      // a good copy proves its sender serves (session.ts #onPiece); a corrupt peer's is bad
      if (!from.corrupt && d.picker.unproven(from.id)) d.picker.delivered(from.id)
      return
    }
    if (from.corrupt) {
      this.badChunks++
      this.wastedBytes += bytes
      d.picker.onFailed(index, from.id, true)
      if (d.scorer.recordBadChunk(from.id, `chunk ${index}`).banned) this.ban(d, from)
      this.queueFill(d)
      return
    }
    if (from.idx !== HUB) this.seeder.peerServed(from.id)
    // the sender delivered: the picker trusts it from now on (its suspect and hoarder
    // rules judge only peers that never delivered), as session.ts #markHeld passes it
    const askers = d.picker.setHave(index, from.id)
    for (const a of askers) {
      if (a === from.id) continue
      const up = this.byId(a)
      this.send(() => { this.cancel(up, d, index) })
    }
    this.send(() => { for (const p of this.nodes) if (p !== d && !p.corrupt) this.onHave(p, d, index) })
    if (d.picker.complete) {
      d.doneMs = this.q.nowMs()
      this.remaining--
      this.queueHubChoker()
      for (const e of this.devices) if (e !== d) this.queueChoke(e)
    } else {
      this.queueFill(d)
    }
  }

  cancel (up: Node, from: Node, index: number): void {
    if (up.serving?.from === from.idx && up.serving.index === index) up.serving.live = false
    for (const r of up.queue) {
      if (r.from === from.idx && r.index === index && r.live) { r.live = false; if (up.idx === HUB) this.hubLiveQueued[r.from]-- }
    }
  }

  requestFailed (d: Node, up: Node, index: number): void {
    d.picker.onFailed(index, up.id)
    this.queueFill(d)
  }

  ban (d: Node, bad: Node): void {
    if (d.banned.has(bad.idx)) return
    d.banned.add(bad.idx)
    this.bans++
    d.unchokedBy.delete(bad.idx)
    d.picker.removePeer(bad.id)
    this.queueFill(d)
  }

  // ---- choking and offers ------------------------------------------------------

  queueChoke (d: Node): void {
    if (d.idx === HUB || d.corrupt || this.chokeQueued.has(d.idx)) return
    this.chokeQueued.add(d.idx)
    this.q.runIn(() => { this.chokeQueued.delete(d.idx); runDeviceChoker(this, d) }, CHOKER_BATCH_MS)
  }

  queueHubChoker (): void {
    if (this.hubQueued) return
    this.hubQueued = true
    this.q.runIn(() => { this.hubQueued = false; runHubChoker(this) }, CHOKER_BATCH_MS)
  }

  setUnchoke (up: Node, e: Node, on: boolean): void {
    if (up.unchoking.has(e.idx) === on) return
    if (on) {
      up.unchoking.add(e.idx)
      this.send(() => { e.unchokedBy.add(up.idx); this.fill(e, up) })
    } else {
      up.unchoking.delete(e.idx)
      // requests it had waiting here fail (a choke drops the queue, as the wire does)
      for (const r of up.queue) {
        if (r.from === e.idx && r.live) {
          r.live = false
          if (up.idx === HUB) this.hubLiveQueued[r.from]--
          const i = r.index
          this.send(() => { this.requestFailed(e, up, i) })
        }
      }
      this.send(() => { e.unchokedBy.delete(up.idx) })
    }
  }

  sendOffersTo (e: Node): void {
    if (e.idx === HUB || e.corrupt) return
    const hub = this.nodes[HUB] as Node
    if (!hub.unchoking.has(e.idx)) return
    const pending = (this.hubLiveQueued[e.idx] as number) + (hub.serving?.from === e.idx ? 1 : 0)
    for (const index of this.seeder.offers(e.id, hub.picker.held, pending)) {
      this.send(() => { this.onHave(e, hub, index) })
    }
  }

  offerAll (): void {
    for (const e of this.devices) this.sendOffersTo(e)
  }
}
