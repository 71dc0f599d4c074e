/**
 * The libp2p side of the chunk exchange: one handler for `/storemesh/chunks/1.0.0`
 * that routes inbound streams to the bundle swarm named by the handshake's
 * info-hash, and the client side that opens one stream per joined bundle to every
 * connected peer (and to each peer that connects later, through a registrar topology).
 *
 * Both sides may open a stream for the same bundle at once; BundleSwarm.addPeer keeps
 * the one opened by the smaller peer id on both ends. A wire lost while its connection
 * stays up is re-opened by a sweep with back-off (reopen.ts).
 */
import { serviceDependencies, type Connection, type Stream } from '@libp2p/interface'
import { toByteDuplex } from '../net/byte-stream.js'
import { isStoremeshError, StoremeshError } from '../interface/errors.js'
import type { BundleInfo, Link } from '../interface/types.js'
import { lifetimeAbortController } from '../interface/startable.js'
import {
  CHUNK_PROTOCOL, DEFAULT_MAX_PENDING_STREAMS, DEFAULT_MAX_PENDING_STREAMS_PER_PEER, DEFAULT_MAX_STREAMS_PER_CONNECTION, DEFAULT_REOPEN_MAX_MS, DEFAULT_REOPEN_MIN_MS, DEFAULT_REOPEN_TICK_MS, DEFAULT_REOPEN_IDLE_MS,
  defaultSwarmOptions, type SwarmOptions
} from './constants.js'
import { readHandshake } from './handshake.js'
import type { ChunkProtocol, ChunkProtocolComponents, ChunkProtocolInit, JoinOptions } from './index.js'
import { linkOfMultiaddr } from './link.js'
import { UnknownBundleBudgets } from './unknown-bundles.js'
import { ReopenBackoff } from './reopen.js'
import { BanList, PeerScorer } from './scoring.js'
import { BundleSwarm } from './session.js'
import type { ByteDuplex } from './transport.js'
import { EarliestTimer } from './earliest-timer.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

export class ChunkProtocolService implements ChunkProtocol {
  readonly protocol: string
  readonly bans: BanList
  readonly scorer: PeerScorer
  /** identify tells the registrar which peers speak our protocol (topology onConnect) */
  readonly [serviceDependencies]: string[] = ['@libp2p/identify']
  readonly #components: ChunkProtocolComponents
  readonly #init: ChunkProtocolInit
  readonly #options: SwarmOptions
  readonly #byId = new Map<string, BundleSwarm>()
  readonly #byInfoHash = new Map<string, BundleSwarm>()
  readonly #joining = new Map<string, Promise<BundleSwarm>>()
  /** `${bundleId} ${peerId}` of streams being opened: identify may report a peer many times */
  readonly #opening = new Set<string>()
  readonly #reopen = new ReopenBackoff({ minMs: DEFAULT_REOPEN_MIN_MS, maxMs: DEFAULT_REOPEN_MAX_MS })
  readonly #reopenTimer = new EarliestTimer(() => { this.#sweep() })
  /** sweeps run (tests: an idle, fully wired node sweeps once per DEFAULT_REOPEN_IDLE_MS) */
  sweeps = 0
  #abort = lifetimeAbortController()
  #topologyId: string | undefined
  #started = false
  /** inbound streams in their handshake or being resolved, per peer and in all */
  readonly #pending = new Map<string, number>()
  #pendingTotal = 0
  /** inbound streams refused for being over those caps (for tests and status) */
  refusedStreams = 0
  /** handshakes naming a bundle we have not joined, per peer: each may cost a manifest fetch */
  readonly #unknownBundles = new UnknownBundleBudgets({}, DEFAULT_MAX_PENDING_STREAMS)
  /** inbound handshakes naming a bundle we had not joined (for tests and status) */
  unknownHandshakes = 0

  constructor (components: ChunkProtocolComponents, init: ChunkProtocolInit) {
    this.#components = components
    this.#init = init
    this.protocol = init.protocol ?? CHUNK_PROTOCOL
    this.#options = { ...defaultSwarmOptions, ...init.options }
    this.bans = init.bans ?? new BanList()
    this.bans.on('ban', e => {
      // every peer id of the banned identity (one certified device may have dialled with several)
      const banned = new Set([e.peerId])
      for (const c of this.#components.connectionManager.getConnections()) {
        const id = c.remotePeer.toString()
        if (this.bans.keyOf(id) === e.key) banned.add(id)
      }
      for (const s of this.#byId.values()) for (const id of banned) s.dropBanned(id)
      // also a connection with no wire left (its last one closed for the violation that banned it)
      for (const c of this.#components.connectionManager.getConnections()) {
        if (banned.has(c.remotePeer.toString())) c.close().catch((err: Error) => { c.abort(err) })
      }
    })
    this.scorer = new PeerScorer({ bans: this.bans, badChunkThreshold: init.badChunkThreshold })
  }

  readonly [Symbol.toStringTag] = '@storemesh/chunks'

  async start (): Promise<void> {
    if (this.#started) return
    this.#abort = lifetimeAbortController()
    await this.#components.registrar.handle(this.protocol, (stream, connection) => { void this.#onStream(stream, connection) }, {
      maxInboundStreams: DEFAULT_MAX_STREAMS_PER_CONNECTION,
      maxOutboundStreams: DEFAULT_MAX_STREAMS_PER_CONNECTION
    })
    this.#topologyId = await this.#components.registrar.register(this.protocol, {
      onConnect: (_peerId, connection) => {
        for (const s of this.#byId.values()) this.#openUnlessHeld(connection, s)
        this.#sweepIn(DEFAULT_REOPEN_TICK_MS)
      }
    })
    this.#started = true
    this.#sweepIn(DEFAULT_REOPEN_TICK_MS)
  }

  async stop (): Promise<void> {
    if (!this.#started) return
    this.#started = false
    this.#reopenTimer.clear()
    this.#abort.abort()
    if (this.#topologyId !== undefined) this.#components.registrar.unregister(this.#topologyId)
    await this.#components.registrar.unhandle(this.protocol)
    await Promise.all([...this.#byId.values()].map(async s => { await s.stop() }))
    this.#byId.clear()
    this.#byInfoHash.clear()
  }

  readonly isBanned = (peerId: string): boolean => this.bans.isBanned(peerId)

  swarm (bundleId: string): BundleSwarm | undefined {
    return this.#byId.get(bundleId)
  }

  swarms (): BundleSwarm[] {
    return [...this.#byId.values()]
  }

  async join (bundle: BundleInfo, options: JoinOptions = {}): Promise<BundleSwarm> {
    const existing = this.#byId.get(bundle.id) ?? this.#joining.get(bundle.id)
    if (existing !== undefined) return await existing
    const joining = this.#join(bundle, options)
    this.#joining.set(bundle.id, joining)
    try {
      return await joining
    } finally {
      this.#joining.delete(bundle.id)
    }
  }

  async leave (bundleId: string): Promise<void> {
    const s = this.#byId.get(bundleId)
    if (s === undefined) return
    this.#byId.delete(bundleId)
    this.#byInfoHash.delete(hex(s.bundle.infoHash))
    this.#reopen.forget(`${bundleId} `)
    await s.stop()
  }

  noteChunkStored (hash: string): void {
    for (const s of this.#byId.values()) s.noteChunkStored(hash)
  }

  async #join (bundle: BundleInfo, options: JoinOptions): Promise<BundleSwarm> {
    if (!this.#started) throw new StoremeshError('E_NOT_CONNECTED', 'the chunk protocol is not started')
    const swarm = new BundleSwarm({
      bundle,
      store: this.#init.store,
      localPeerId: this.#components.peerId.toString(),
      superseed: options.superseed,
      options: { ...this.#options, ...options.options },
      scorer: this.scorer,
      uploadLimiter: this.#init.uploadLimiter,
      isAllowed: this.#init.isAllowed,
      spareHoarder: this.#init.spareHoarder,
      log: this.#init.log
    })
    await swarm.start()
    this.#byId.set(bundle.id, swarm)
    this.#byInfoHash.set(hex(bundle.infoHash), swarm)
    // a chunk stored for one bundle is announced in every other bundle that lists it
    swarm.on('chunk', e => { for (const s of this.#byId.values()) if (s !== swarm) s.noteChunkStored(e.hash) })
    swarm.on('peer:add', peerId => { this.#reopen.succeeded(`${bundle.id} ${peerId}`, Date.now()) })
    swarm.on('peer:remove', () => { this.#sweepIn(DEFAULT_REOPEN_TICK_MS) })
    // a violating peer's re-opens climb one back-off until it has been quiet (reopen.ts)
    swarm.on('violation', e => { this.#reopen.violated(`${bundle.id} ${e.peerId}`, Date.now()) })
    for (const c of this.#components.connectionManager.getConnections()) this.#openUnlessHeld(c, swarm)
    this.#sweepIn(DEFAULT_REOPEN_TICK_MS)
    return swarm
  }

  #linkOf (connection: Connection): Link {
    return this.#init.linkOf?.(connection) ?? linkOfMultiaddr(connection.remoteAddr.toString())
  }

  #toDuplex (stream: Stream): ByteDuplex {
    return this.#init.toDuplex?.(stream) ?? toByteDuplex(stream)
  }

  #peerConnection (connection: Connection, duplex: ByteDuplex): { link: Link, uploadLimiter: ReturnType<NonNullable<ChunkProtocolInit['peerUploadLimiter']>>, disconnect: () => void } {
    const peerId = connection.remotePeer.toString()
    const link = this.#linkOf(connection)
    return {
      link,
      uploadLimiter: this.#init.peerUploadLimiter?.({ peerId, link }),
      // a violation's disconnection: every connection to the peer (two nodes that found each
      // other over mDNS may both have dialled; closing one left the hoarder connected over
      // the other), aborted, not closed: a graceful close waits for the peer's streams to end,
      // which under load held hoarders 1-3 s past their violation (bench:hostile)
      disconnect: () => {
        duplex.destroy()
        const err = new StoremeshError('E_PEER_ERROR', `peer ${peerId} disconnected for a protocol violation`, { peer: peerId })
        for (const c of this.#components.connectionManager.getConnections(connection.remotePeer)) c.abort(err)
        if (connection.status === 'open') connection.abort(err)
      }
    }
  }

  /** The join and reconnect paths: a peer that violated lately waits for its back-off (the sweep opens then). */
  #openUnlessHeld (connection: Connection, swarm: BundleSwarm): void {
    if (this.#reopen.held(`${swarm.bundle.id} ${connection.remotePeer.toString()}`, Date.now())) return
    void this.#open(connection, swarm)
  }

  /** The next sweep in `delayMs` at the latest (an earlier one armed stays). */
  #sweepIn (delayMs: number): void {
    if (!this.#started) return
    this.#reopenTimer.arm(Date.now() + delayMs, delayMs)
  }

  /**
   * Re-opens the wires that died while their connection stayed up (reopen.ts), then
   * sleeps until the first peer still without a wire may be tried again, or
   * DEFAULT_REOPEN_IDLE_MS when every peer has one.
   */
  #sweep (): void {
    if (!this.#started) return
    this.sweeps++
    const now = Date.now()
    let nextMs = now + DEFAULT_REOPEN_IDLE_MS
    const connections = this.#components.connectionManager.getConnections()
    for (const swarm of this.#byId.values()) {
      if (swarm.stopped) continue
      const joined = new Set(swarm.peerIds())
      for (const c of connections) {
        const peerId = c.remotePeer.toString()
        const key = `${swarm.bundle.id} ${peerId}`
        if (c.status !== 'open' || joined.has(peerId)) continue
        // a young connection's first stream is join()'s and onConnect()'s to open
        const dueMs = Math.max(c.timeline.open + DEFAULT_REOPEN_MIN_MS, this.#reopen.nextMs(key, now))
        if (this.#opening.has(key) || dueMs > now) { nextMs = Math.min(nextMs, Math.max(dueMs, now + DEFAULT_REOPEN_TICK_MS)); continue }
        this.#reopen.attempted(key, now)
        nextMs = Math.min(nextMs, this.#reopen.nextMs(key, now))
        joined.add(peerId)
        void this.#open(c, swarm)
      }
    }
    this.#sweepIn(Math.max(DEFAULT_REOPEN_TICK_MS, nextMs - now))
  }

  /**
   * Client side: one stream per bundle per peer, never two at once from our side (the
   * remote could not tell which of two of ours is newer); failures are normal (peer
   * left, protocol not spoken).
   */
  async #open (connection: Connection, swarm: BundleSwarm): Promise<void> {
    const peerId = connection.remotePeer.toString()
    const key = `${swarm.bundle.id} ${peerId}`
    if (swarm.stopped || this.isBanned(peerId) || swarm.peerIds().includes(peerId) || connection.status !== 'open') return
    if (this.#opening.has(key)) return
    this.#opening.add(key)
    let stream: Stream
    try {
      stream = await connection.newStream(this.protocol, {
        signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#options.handshakeTimeoutMs)])
      })
    } catch {
      return
    } finally {
      this.#opening.delete(key)
    }
    const duplex = this.#toDuplex(stream)
    duplex.on('error', () => {})
    if (swarm.stopped) { duplex.destroy(); return }
    try {
      swarm.addPeer({ remotePeerId: peerId, duplex, initiator: true, ...this.#peerConnection(connection, duplex) })
    } catch {
      duplex.destroy()
    }
  }

  /** Handler side: route by the info-hash of the remote's handshake. */
  async #onStream (stream: Stream, connection: Connection): Promise<void> {
    const peerId = connection.remotePeer.toString()
    if (this.isBanned(peerId)) {
      stream.abort(new StoremeshError('E_PEER_BANNED', `peer ${peerId} is banned`, { peer: peerId }))
      return
    }
    const pending = this.#pending.get(peerId) ?? 0
    if (pending >= DEFAULT_MAX_PENDING_STREAMS_PER_PEER || this.#pendingTotal >= DEFAULT_MAX_PENDING_STREAMS) {
      // the opener's reopen back-off (reopen.ts) tries again later
      this.refusedStreams++
      stream.abort(new StoremeshError('E_ABORTED', `peer ${peerId} has ${pending} chunk streams in their handshake already`, { peer: peerId }))
      return
    }
    this.#pending.set(peerId, pending + 1)
    this.#pendingTotal++
    let settled = false
    const settle = (): void => {
      if (settled) return
      settled = true
      this.#pendingTotal--
      const n = (this.#pending.get(peerId) ?? 1) - 1
      if (n <= 0) this.#pending.delete(peerId)
      else this.#pending.set(peerId, n)
    }
    const duplex = this.#toDuplex(stream)
    duplex.on('error', () => {})
    const signal = this.#abort.signal
    try {
      const hs = await readHandshake(duplex, { timeoutMs: this.#options.handshakeTimeoutMs, signal })
      const key = hex(hs.infoHash)
      let swarm = this.#byInfoHash.get(key)
      if (swarm === undefined) this.unknownHandshakes++
      const refused = swarm === undefined ? this.#unknownBundles.take(peerId, key, Date.now()) : undefined
      if (refused !== undefined) {
        duplex.destroy()
        // over the budget: scored like any flood, and a ban closes the connection (constructor)
        this.scorer.recordViolation(peerId, 'unknown-bundle-flood', `${refused.detail} (last: ${key})`)
        return
      }
      if (swarm === undefined && this.#init.resolveBundle !== undefined) {
        const info = await this.#init.resolveBundle(hs.infoHash, peerId, { signal })
        if (info !== undefined && hex(info.infoHash) === key) swarm = await this.join(info)
      }
      if (swarm === undefined || swarm.stopped) {
        // unknown bundle: nothing to say on this stream
        duplex.destroy()
        return
      }
      settle()
      swarm.addPeer({ remotePeerId: peerId, duplex, initiator: false, prefix: hs.prefix, ...this.#peerConnection(connection, duplex) })
    } catch (err) {
      if (!isStoremeshError(err, 'E_PEER_BANNED')) duplex.destroy()
    } finally {
      settle()
    }
  }
}
