/**
 * What every LAN role shares (DESIGN.md sections 1, 2, 4): the chunk store in
 * `<data>/store`, the persisted identity, one libp2p node (fleet swarm key, mDNS that
 * dials what it finds) with the chunk, manifest and lease services, the ban list in
 * the connection gater, bundle resolution for swarms we were never told about, the
 * `<data>/status.json` snapshot, and an orderly stop. The store hub and the device
 * agent differ only in what they join and which services answer.
 */
import type { PeerId } from '@libp2p/interface'
import { isStoremeshError, StoremeshError, toStoremeshError } from '../interface/errors.js'
import { silentLog, type Log } from '../interface/log.js'
import type { BundleInfo } from '../interface/types.js'
import { LEASE_PROTOCOL, leaseProtocol, type LeaseProtocol } from '../lease/index.js'
import { manifestProtocol, type ManifestProtocol } from '../net/manifest/index.js'
import { createStoremeshNode } from '../net/node.js'
import { mergePeerGaters } from '../net/gater.js'
import { AddressBans, addressBanGater, noteAddressesOnBan } from '../net/address-bans.js'
import { startPeerIdentity } from '../identity/node-identity.js'
import type { PeerIdentities } from '../identity/index.js'
import { enrolmentFromRoot, FreshnessWatch, implicitEnrolment, RootTrust } from '../identity/root/index.js'
import { openStore, resolveQuotaBytes, storeManifestLookup, type ChunkStore } from '../store/index.js'
import { BAN_FILE_NAME, BanFile, BanList, chunkProtocol, UploadTurns, type AcquireBytes, type BundleSwarm, type ChunkProtocol } from '../swarm/index.js'
import { join } from 'node:path'
import { Limiter } from '../wan/limiter.js'
import { DEFAULT_PEER_LISTEN_ADDRS, DEFAULT_STATUS_INTERVAL_MS, PEER_STORE_DIR, STATUS_SCHEMA } from './lan-constants.js'
import { writeStatusFile, type BundleStatus, type PeerStatus } from './peer-status.js'
import { BundleResolver } from './resolve-bundle.js'
import type { PeerInit, PeerNode, PeerServices } from './peer-init.js'
import { pokeOnChanges, StatusPacer, watchSwarmChanges } from './status-pacer.js'

export class LanPeer {
  readonly role: string
  readonly dataDir: string
  readonly store: ChunkStore
  readonly node: PeerNode
  readonly bans: BanList
  /** banned peers' LAN addresses, refused before Noise (net/address-bans.ts) */
  readonly addressBans: AddressBans
  /** the root of trust in force: `trust('release')` verifies bundles, `trust('policy')` policies */
  readonly root: RootTrust
  /** `<data>/timestamp.json` against the root's timestamp role: stale once it expired */
  readonly freshness: FreshnessWatch
  /** `<data>/bans.json`: bans and offences survive a restart */
  readonly #banFile: BanFile
  readonly startedAt = new Date()
  /** role-specific parts of the status snapshot (the store hub's rollout values) */
  statusExtras: (() => Pick<PeerStatus, 'rollout' | 'waveGates'>) | undefined
  /** the role's own lines (status file, stop) */
  readonly #log: Log
  /** swarm events: bans, bad chunks, finished bundles */
  readonly #swarmLog: Log
  readonly #watched = new WeakSet<BundleSwarm>()
  readonly #abort = new AbortController()
  readonly #background = new Set<Promise<unknown>>()
  #statusPacer: StatusPacer | undefined
  #statusWriting: Promise<boolean> | undefined
  /** the last snapshot written, without its updatedAt: an unchanged one is not written again */
  #statusWritten: string | undefined
  #stopping: Promise<void> | undefined

  private constructor (init: PeerInit, store: ChunkStore, node: PeerNode, bans: BanList, banFile: BanFile, root: RootTrust, addressBans: AddressBans) {
    this.addressBans = addressBans
    this.role = init.role
    this.dataDir = init.dataDir
    this.store = store
    this.node = node
    this.bans = bans
    this.root = root
    this.freshness = new FreshnessWatch(init.dataDir, root.trust('timestamp'))
    this.#banFile = banFile
    const log = init.log ?? silentLog
    this.#log = log.child({ component: init.role })
    this.#swarmLog = log.child({ component: 'swarm' })
  }

  static async start (init: PeerInit): Promise<LanPeer> {
    const storeDir = join(init.dataDir, PEER_STORE_DIR)
    const quotaBytes = init.storeQuota !== undefined ? await resolveQuotaBytes(init.storeQuota, storeDir) : undefined
    const store = await openStore({ dataDir: storeDir, ...(quotaBytes !== undefined ? { quotaBytes } : {}) })
    try {
      const root = await RootTrust.open(init.dataDir, init.trust, implicitEnrolment(init.identity))
      // With certificates on, bans attach to the certified device, not to the peer id:
      // a stolen tablet that makes itself a new peer key does not start clean.
      let identities: PeerIdentities | undefined
      const bans = new BanList({ keyOf: peerId => banKeyOf(peerId, identities) })
      const banFile = new BanFile({
        bans,
        path: join(init.dataDir, BAN_FILE_NAME),
        onError: err => { (init.log ?? silentLog).child({ component: 'swarm' }).warn(`ban list file: ${err.toLine()}`) }
      })
      // before the node starts, so its gater refuses peers banned before a restart
      await banFile.start()
      let node: PeerNode | undefined
      const addressBans = new AddressBans(init.addressBanMs !== undefined ? { ttlMs: init.addressBanMs } : {})
      const manifest = (): ManifestProtocol => {
        if (node === undefined) throw new StoremeshError('E_NOT_CONNECTED', 'the node is not up yet')
        return node.services.manifest
      }
      let self: LanPeer | undefined
      const resolver = new BundleResolver({
        store,
        manifest,
        sources: async () => await (self?.trustedPeers() ?? Promise.resolve([])),
        ...(init.deviceClass !== undefined ? { deviceClass: init.deviceClass } : {}),
        ...(init.log !== undefined ? { log: init.log.child({ component: 'swarm' }) } : {})
      })
      const uploadLimiter = init.uploadLimiter ?? uploadLimiterOf(init.uploadRateBytesPerSec)
      const identity = init.identity !== undefined ? await startPeerIdentity(init.dataDir, enrolmentFromRoot(init.identity, root), init.log) : undefined
      identities = identity?.identities
      node = await createStoremeshNode<PeerServices>({
        swarmKey: init.swarmKey,
        dataDir: init.dataDir,
        listen: [...(init.listen ?? DEFAULT_PEER_LISTEN_ADDRS)],
        ...(init.announce !== undefined ? { announce: init.announce } : {}),
        mdns: {
          ...(init.serviceTag !== undefined ? { serviceTag: init.serviceTag } : {}),
          ...(init.mdnsIntervalMs !== undefined ? { intervalMs: init.mdnsIntervalMs } : {}),
          dialOnDiscovery: true,
          // a device stops hearing the LAN's mDNS between its backed-off queries; the hub every device must find listens
          sleepWhenConnected: init.role === 'device'
        },
        gater: identity !== undefined ? mergePeerGaters(addressBanGater(addressBans, bans.isBanned), identity.gater) : addressBanGater(addressBans, bans.isBanned),
        ...(init.metrics !== undefined ? { metrics: init.metrics } : {}),
        services: {
          chunks: chunkProtocol({
            store,
            bans,
            ...(init.swarmOptions !== undefined ? { options: init.swarmOptions } : {}),
            ...(uploadLimiter !== undefined ? { uploadLimiter } : {}),
            resolveBundle: resolver.resolve,
            spareHoarder: async id => await (self?.isStoreHub(id) ?? Promise.resolve(true)),
            ...(init.log !== undefined ? { log: init.log.child({ component: 'swarm' }) } : {}),
            ...(identity !== undefined ? { isAllowed: identity.isAllowed } : {})
          }),
          manifest: manifestProtocol({
            lookup: storeManifestLookup(store),
            trust: root.trust('release'),
            // a root installed beside the running node (`root install`) is served at once
            roots: async (after) => { await root.refresh(); return root.rootsAfter(after) }
          }),
          lease: leaseProtocol({
            ...(init.leaseAuthority !== undefined ? { authority: init.leaseAuthority } : {}),
            ...(identity !== undefined ? { deviceIdOf: (id: string) => identity.identities.boundDeviceId(id), onUnbound: identity.refuseAct('lease-unbound') } : {})
          }),
          ...(identity !== undefined ? { identity: identity.service } : {})
        }
      })
      const peer = new LanPeer(init, store, node, bans, banFile, root, addressBans)
      const started = node
      // a banned device that comes back under a new peer id is known only once its certificate is
      identities?.on('verified', who => {
        if (!bans.isBanned(who.peerId)) return
        for (const c of started.getConnections()) {
          if (c.remotePeer.toString() === who.peerId) c.close().catch((err: Error) => { c.abort(err) })
        }
      })
      self = peer
      bans.on('ban', e => { peer.#swarmLog.warn({ peer: e.peerId }, `banned ${e.peerId}: ${e.reason}`) })
      // its redials are refused before Noise from now on (a LAN address of its own only)
      noteAddressesOnBan(bans, addressBans, () => started.getConnections())
      // an idle peer's snapshot does not change: the look backs off, events bring it back (status-pacer.ts)
      peer.#statusPacer = new StatusPacer({ baseMs: init.statusIntervalMs ?? DEFAULT_STATUS_INTERVAL_MS, tick: async () => await peer.writeStatus() })
      pokeOnChanges(node, bans, () => { peer.#statusPacer?.poke() })
      peer.#statusPacer.start()
      await peer.writeStatus()
      return peer
    } catch (err) {
      await store.stop().catch(() => {})
      throw err
    }
  }

  get chunks (): ChunkProtocol { return this.node.services.chunks }
  get manifest (): ManifestProtocol { return this.node.services.manifest }
  get lease (): LeaseProtocol { return this.node.services.lease }
  /** who each connected peer is, when certificates are on */
  get identities (): PeerIdentities | undefined { return this.node.services.identity?.identities }
  get signal (): AbortSignal { return this.#abort.signal }

  /** Joins a bundle's swarm (the store must hold its record) and watches it. */
  async join (info: BundleInfo, options: { superseed?: boolean } = {}): Promise<BundleSwarm> {
    const swarm = await this.chunks.join(info, options)
    this.#watch(swarm)
    return swarm
  }

  /** Connected peers, store hubs (they answer the lease protocol) first. */
  async orderedPeers (): Promise<PeerId[]> {
    const ranked = await this.#rankedPeers()
    return ranked.sort((a, b) => Number(b.hub) - Number(a.hub)).map(r => r.id)
  }

  /**
   * Connected peers trusted to name an unknown bundle (resolve-bundle.ts): the store's
   * hubs, then peers holding a verified certificate; hubs first.
   */
  async trustedPeers (): Promise<PeerId[]> {
    const identities = this.identities
    const ranked = await this.#rankedPeers()
    return ranked
      .filter(r => r.hub || identities?.identityOf(r.id.toString()) !== undefined)
      .sort((a, b) => Number(b.hub) - Number(a.hub)).map(r => r.id)
  }

  /**
   * The store's hub: certified as a hub when identities are on, else a peer serving
   * leases. Never disconnected as a hoarder (a capped hub serving many devices may make
   * a first request wait).
   */
  async isStoreHub (peerId: string): Promise<boolean> {
    const who = this.identities?.identityOf(peerId)
    if (who !== undefined) return who.role === 'hub'
    return (await this.#rankedPeers()).some(r => r.hub && r.id.toString() === peerId)
  }

  async #rankedPeers (): Promise<Array<{ id: PeerId, hub: boolean }>> {
    const seen = new Map<string, PeerId>()
    for (const c of this.node.getConnections()) if (c.status === 'open') seen.set(c.remotePeer.toString(), c.remotePeer)
    return await Promise.all([...seen.values()].map(async id => {
      const protocols = await this.node.peerStore.get(id).then(p => p.protocols, () => [] as string[])
      return { id, hub: protocols.includes(LEASE_PROTOCOL) }
    }))
  }

  /** Runs work the stop must wait for (verifying a finished bundle). */
  track<T> (p: Promise<T>): Promise<T> {
    this.#background.add(p)
    void p.finally(() => { this.#background.delete(p) }).catch(() => {})
    return p
  }

  /** Every finished swarm's bundle is re-read end to end once and marked verified. */
  #watch (swarm: BundleSwarm): void {
    if (this.#watched.has(swarm)) return
    this.#watched.add(swarm)
    const id = swarm.bundle.id
    watchSwarmChanges(swarm, () => { this.#statusPacer?.poke() })
    swarm.on('bad-chunk', e => { this.#swarmLog.warn({ bundle: id, peer: e.peerId }, `bad chunk ${e.index} of ${id} from ${e.peerId}${e.banned ? ' (banned)' : ''}`) })
    swarm.on('violation', e => {
      this.#swarmLog.warn({ bundle: id, peer: e.peerId, violation: e.violation }, `protocol violation ${e.violation} by ${e.peerId}: ${e.message}${e.banned ? ' (banned)' : ''}`)
    })
    // a store that refuses chunks (E_DISK_FULL) must say so: the swarm only backs off
    swarm.on('warning', err => { this.#swarmLog.warn({ bundle: id }, `swarm ${id}: ${toStoremeshError(err).toLine()}`) })
    swarm.done.then(() => {
      if (this.#abort.signal.aborted || this.store.bundleState(id) !== 'complete') return
      void this.track(this.store.markVerified(id, { signal: this.#abort.signal }).then(() => {
        this.#swarmLog.info({ bundle: id }, `bundle ${id} complete and verified`)
        void this.writeStatus()
      }, (err: unknown) => {
        if (!this.#abort.signal.aborted) this.#swarmLog.error({ bundle: id }, `verifying ${id} failed: ${toStoremeshError(err).toLine()}`)
      }))
    }, () => {})
  }

  async status (running = true): Promise<PeerStatus> {
    for (const s of this.chunks.swarms()) this.#watch(s)
    const bundles: BundleStatus[] = []
    for (const rec of this.store.listBundles()) {
      const swarm = this.chunks.swarm(rec.id)
      const base = { id: rec.id, name: rec.name, version: rec.version, deviceClass: rec.deviceClass, state: rec.state, pins: [...rec.pins] }
      if (swarm !== undefined) {
        const p = swarm.progress()
        bundles.push({
          ...base,
          heldChunks: p.heldChunks,
          totalChunks: p.totalChunks,
          heldBytes: p.heldBytes,
          totalBytes: p.totalBytes,
          bytes: p.bytes,
          wastedBytes: p.wastedBytes,
          badChunks: p.badChunks,
          peers: p.peers,
          joined: true,
          superseed: p.superseed,
          ...(p.superseed ? { superseedFallbackReveals: swarm.superseedFallbackReveals, hoarders: swarm.superseedHoarders } : { suspectPeers: swarm.suspectPeers, droppedHoarders: swarm.droppedHoarders, copiesAsked: { ...swarm.copiesAsked } })
        })
        continue
      }
      let heldChunks = rec.pieceCount
      let heldBytes = rec.totalBytes
      if (rec.state === 'partial' || rec.state === 'evicted') {
        const info = await this.store.bundleInfo(rec.id)
        const held = await this.store.heldPieces(rec.id)
        heldChunks = held.filter(Boolean).length
        heldBytes = info.pieces.reduce((n, p, i) => n + (held[i] === true ? p.size : 0), 0)
      }
      bundles.push({
        ...base,
        heldChunks,
        totalChunks: rec.pieceCount,
        heldBytes,
        totalBytes: rec.totalBytes,
        bytes: { lan: { up: 0, down: 0 }, wan: { up: 0, down: 0 } },
        wastedBytes: 0,
        badChunks: 0,
        peers: 0,
        joined: false,
        superseed: false
      })
    }
    const st = this.store.stats()
    return {
      schema: STATUS_SCHEMA,
      role: this.role,
      peerId: this.node.peerId.toString(),
      pid: process.pid,
      running,
      startedAt: this.startedAt.toISOString(),
      updatedAt: new Date().toISOString(),
      addrs: this.node.getMultiaddrs().map(ma => ma.toString()),
      connections: this.node.getConnections().length,
      bans: this.bans.list().map(b => ({ peerId: b.peerId, reason: b.reason, until: new Date(b.untilMs).toISOString() })),
      banRefusals: this.addressBans.refusals(),
      bundles,
      store: {
        quotaBytes: st.quotaBytes ?? null,
        usedBytes: st.usedBytes,
        chunkCount: st.chunkCount,
        paused: st.paused !== undefined ? { reason: st.paused.reason, since: new Date(st.paused.sinceMs).toISOString(), detail: st.paused.detail } : null
      },
      ...this.statusExtras?.(),
      trust: await this.#trustStatus()
    }
  }

  async #trustStatus (): Promise<PeerStatus['trust']> {
    const f = await this.freshness.read()
    return {
      rootVersion: this.root.version,
      freshness: f.state,
      ...(f.expiresAt !== undefined ? { timestampExpiresAt: f.expiresAt } : {}),
      ...(f.error !== undefined ? { timestampError: f.error } : {})
    }
  }

  /**
   * Writes `<data>/status.json` when the snapshot differs from the last one written
   * (updatedAt aside, so it says when the figures last changed): an idle peer neither
   * spends CPU on the write nor wears the flash. One write at a time; a failure is
   * logged, never thrown, and the next call tries again.
   */
  async writeStatus (running = true): Promise<boolean> {
    if (this.#statusWriting !== undefined) await this.#statusWriting
    const p = (async () => {
      try {
        const status = await this.status(running)
        const figures = statusFigures(status)
        if (figures === this.#statusWritten) return false
        this.#statusWritten = undefined
        await writeStatusFile(this.dataDir, status)
        this.#statusWritten = figures
        return true
      } catch (err) {
        if (!isStoremeshError(err, 'E_STORE_CLOSED')) this.#log.warn(`status write failed: ${toStoremeshError(err).toLine()}`)
        return true
      }
    })()
    this.#statusWriting = p
    try {
      return await p
    } finally {
      if (this.#statusWriting === p) this.#statusWriting = undefined
    }
  }

  /** Stops the node (every swarm), writes the last status, closes the store. Idempotent. */
  async stop (): Promise<void> {
    this.#stopping ??= (async () => {
      this.#statusPacer?.stop()
      this.#abort.abort(new StoremeshError('E_ABORTED', 'peer stopping'))
      await Promise.allSettled([...this.#background])
      // the last snapshot with the byte counters, before the swarms are gone
      const last = await this.status(false).catch(() => undefined)
      await Promise.resolve(this.node.stop()).catch((err: unknown) => { this.#log.warn(`node stop: ${toStoremeshError(err).toLine()}`) })
      if (last !== undefined) await writeStatusFile(this.dataDir, { ...last, updatedAt: new Date().toISOString(), connections: 0 }).catch(() => {})
      await this.#banFile.stop()
      await this.store.stop()
    })()
    await this.#stopping
  }
}

/** A snapshot's content, compared to skip unchanged writes: everything but its time. */
function statusFigures (status: PeerStatus): string {
  return JSON.stringify({ ...status, updatedAt: '' })
}

function uploadLimiterOf (rateBytesPerSec: number | undefined): AcquireBytes | undefined {
  if (rateBytesPerSec === undefined || !Number.isFinite(rateBytesPerSec)) return undefined
  const limiter = new Limiter({ rateBytesPerSec, name: 'lan-upload' })
  return new UploadTurns(async (bytes, options) => { await limiter.acquire(bytes, options?.signal) }).acquire
}

/** The key a ban attaches to: the certified store and device when the peer presented a certificate, else its peer id. */
export function banKeyOf (peerId: string, identities: Pick<PeerIdentities, 'identityOf'> | undefined): string {
  const who = identities?.identityOf(peerId)
  return who !== undefined ? `device:${who.storeId}/${who.deviceId}` : peerId
}
