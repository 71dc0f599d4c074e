/**
 * The device agent on the LAN (DESIGN.md sections 1, 2): finds peers over mDNS, asks
 * them (store hubs first) for the newest manifest of its device class, verifies it,
 * records it in the store, fetches the bundle from hub and devices alike, marks it
 * verified once complete, and keeps seeding. A device restarted after a crash rejoins
 * the swarm of the bundle it was fetching and announces the chunks it already holds.
 *
 * With `install`, once the target bundle is verified the agent runs the one-shot
 * install path (src/roles/device-install.ts) every `installIntervalMs`. install.yaml's
 * `lease.kind` decides the lease, as for `device install --once` and `policy explain`
 * (leaseProviderFor): `hub`, the agent's LeaseKeeper against the store hub; `none` (the
 * default), standalone: the keeper is never asked.
 *
 * The wave ledger (protocols/report/SPEC.md): the agent holds the device journal
 * (`<data>/journal`, where the installer writes its decisions and transitions) and a
 * DeviceUplink sends it to the store hub over `/storemesh/report/1.1.0`, exactly once
 * (the journal keeps every entry until the hub acked it, across restarts of either
 * side). The hub is the connected peer that serves the report protocol (by identify's
 * protocol list), else one that serves leases. The hub's answers carry this device's
 * orders (an operator's rollback): a DeviceOrderRunner runs each order id once with the
 * installer's rollback and journals the outcome, which goes up on the next push.
 *
 * Each manifest round first asks the first peer (a store hub when one is connected)
 * for newer roots of trust (src/roles/root-catch-up.ts): bundles and policies are then
 * judged by the root the hub holds.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import semver from 'semver'
import type { PeerId } from '@libp2p/interface'
import { toStoremeshError } from '../interface/errors.js'
import { trustExchangeOf } from './trust-exchange.js'
import { silentLog, type Log } from '../interface/log.js'
import type { BundleInfo } from '../interface/types.js'
import { DEVICE_CONFIG_FILE, loadDeviceConfig } from '../install/facts.js'
import { isTrialState, Journal } from '../install/index.js'
import { LEASE_PROTOCOL, LeaseKeeper } from '../lease/index.js'
import {
  DeviceOrderRunner, DeviceUplink, REPORT_PROTOCOL, REPORT_PROTOCOL_V1_1, reportProtocolOn, Waker,
  type DeviceOrder, type OrderResult, type UplinkOptions
} from '../ledger/index.js'
import { MANIFEST_PROTOCOL } from '../net/manifest/index.js'
import { DeviceStoreReporter } from './device-store-report.js'
import { openDevice, installOnce, syncPins, type DeviceHandle } from './device-install.js'
import { WaveOrderBook } from './wave-order-book.js'
import {
  DEFAULT_INSTALL_INTERVAL_MS, DEFAULT_MANIFEST_ASK_PEERS, DEFAULT_MANIFEST_IDLE_POLL_MAX_MS, MANIFEST_IDLE_POLL_FACTOR, DEFAULT_MANIFEST_ASK_TIMEOUT_MS, DEFAULT_MANIFEST_POLL_MS,
  MANIFEST_ANSWER_WINDOW_MS
} from './lan-constants.js'
import { collectManifestAnswers, newestAnswer } from './manifest-round.js'
import { LanPeer } from './peer.js'
import type { PeerInit } from './peer-init.js'
import { catchUpRoots } from './root-catch-up.js'

export interface DeviceAgentInit extends Omit<PeerInit, 'role' | 'leaseAuthority' | 'deviceClass'> {
  deviceClass: string
  /** @default DEFAULT_MANIFEST_POLL_MS */
  pollIntervalMs?: number
  /** run the install decision once the bundle is verified */
  install?: boolean
  /** @default DEFAULT_INSTALL_INTERVAL_MS */
  installIntervalMs?: number
  /** the id the store hub's ledger and `device rollback --id` know this device by. @default device.yaml's deviceId, else the peer id */
  deviceId?: string
  /** the report uplink's timing (tests); @default defaultUplinkOptions with DEFAULT_DEVICE_POLL_INTERVAL_MS */
  report?: Partial<UplinkOptions>
}

/** The device id: given, else device.yaml's (when the device is set up to install), else the peer id. */
async function deviceIdOf (init: DeviceAgentInit, peerId: string, log: Log): Promise<string> {
  if (init.deviceId !== undefined) return init.deviceId
  const path = join(init.dataDir, DEVICE_CONFIG_FILE)
  if (!existsSync(path)) return peerId
  try {
    return (await loadDeviceConfig(path)).deviceId
  } catch (err) {
    log.warn(`device id: ${DEVICE_CONFIG_FILE} unusable (${toStoremeshError(err).toLine()}); reporting as ${peerId}`)
    return peerId
  }
}

export { isNewer } from './manifest-round.js'

export class DeviceAgent {
  readonly peer: LanPeer
  readonly keeper: LeaseKeeper
  /** the id this device reports under */
  readonly deviceId: string
  readonly journal: Journal
  readonly uplink: DeviceUplink
  /** runs the hub's orders to this device; there once start() returned */
  orders!: DeviceOrderRunner
  /** the hub's wave orders (halt, pause): the policy's fleet facts; there once start() returned */
  waveOrders!: WaveOrderBook
  #target: BundleInfo | undefined
  #hub: PeerId | undefined
  #reportHub: PeerId | undefined
  #device: Promise<DeviceHandle> | undefined
  #lastInstallMs = 0
  /** the target's store state at the last install round: a round runs at once when it changes */
  #lastRoundState: string | undefined
  #lastUplinkError: string | undefined
  #lastRootError: string | undefined
  /** the manifest poll's sleep, cut short when a peer that serves manifests is identified */
  readonly #pollWaker = new Waker()
  readonly #storeReport: DeviceStoreReporter
  /** the hub's wave orders at the last report answer, to wake the poll when they change */
  #ordersKey: string | undefined
  #loop: Promise<void> | undefined
  readonly #init: DeviceAgentInit
  /** the agent's own lines, and per part: fetching under `swarm`, the uplink and orders under `ledger`, installs under `install` */
  readonly #log: Log
  readonly #swarmLog: Log
  readonly #ledgerLog: Log
  readonly #installLog: Log
  readonly #onIdentify = (e: CustomEvent<{ peerId: PeerId, protocols: string[] }>): void => {
    // a store hub (re)connected: push at once, even out of a back-off wait
    if (e.detail.protocols.includes(REPORT_PROTOCOL_V1_1) || e.detail.protocols.includes(REPORT_PROTOCOL)) this.uplink.kick({ reconnected: true })
    // a peer that serves manifests may know a newer bundle: ask now, not at the next poll
    // (a seed that appears in a waiting store is used within a round trip, not a poll interval)
    if (e.detail.protocols.includes(MANIFEST_PROTOCOL)) this.#pollWaker.wake()
  }

  private constructor (init: DeviceAgentInit, peer: LanPeer, deviceId: string, journal: Journal) {
    this.#init = init
    this.peer = peer
    this.deviceId = deviceId
    this.journal = journal
    this.#storeReport = new DeviceStoreReporter(peer.store, journal)
    const log = init.log ?? silentLog
    this.#log = log.child({ component: 'device' })
    this.#swarmLog = log.child({ component: 'swarm' })
    this.#ledgerLog = log.child({ component: 'ledger' })
    this.#installLog = log.child({ component: 'install' })
    this.uplink = new DeviceUplink({
      deviceId,
      journal,
      client: reportProtocolOn(peer.node),
      hub: async () => await this.#findReportHub(),
      // roots, revocations and timestamp statements from the hub, every round (trust-exchange.ts); a newer list refuses the revoked at once
      trust: trustExchangeOf(peer.dataDir, peer.root, peer.identities, init.log, peer.node.services.identity),
      onDeviceOrders: list => { this.orders.offer(list) },
      onOrders: async list => {
        // new orders may name a bundle the hub just got: ask for manifests now
        const key = JSON.stringify(list)
        if (this.#ordersKey !== undefined && key !== this.#ordersKey) this.#pollWaker.wake()
        this.#ordersKey = key
        await this.waveOrders.replace(list)
      },
      ...(init.report !== undefined ? { options: init.report } : {}),
      onError: err => {
        const line = err.toLine()
        if (line !== this.#lastUplinkError) this.#ledgerLog.warn(`report uplink: ${line}`)
        this.#lastUplinkError = line
      }
    })
    this.keeper = new LeaseKeeper({
      deviceId: peer.node.peerId.toString(),
      client: peer.lease,
      hub: () => this.#hub,
      log: log.child({ component: 'lease' })
    })
  }

  static async start (init: DeviceAgentInit): Promise<DeviceAgent> {
    const peer = await LanPeer.start({ ...init, role: 'device' })
    let journal: Journal | undefined
    try {
      const log = init.log ?? silentLog
      const deviceId = await deviceIdOf(init, peer.node.peerId.toString(), log.child({ component: 'device' }))
      journal = await Journal.open(init.dataDir)
      const agent = new DeviceAgent(init, peer, deviceId, journal)
      agent.waveOrders = await WaveOrderBook.open(init.dataDir)
      agent.orders = await DeviceOrderRunner.open({
        dataDir: init.dataDir,
        deviceId,
        journal,
        execute: async (order, signal) => await agent.#execute(order, signal),
        onOutcome: () => { agent.uplink.kick() },
        log: agent.#ledgerLog
      })
      await agent.#resume()
      peer.node.addEventListener('peer:identify', agent.#onIdentify)
      agent.uplink.start()
      agent.#loop = agent.#run()
      agent.#ledgerLog.info({ device: deviceId }, `reporting to the store hub as device ${deviceId}`)
      return agent
    } catch (err) {
      await peer.stop().catch(() => {})
      await journal?.close().catch(() => {})
      throw err
    }
  }

  get target (): BundleInfo | undefined { return this.#target }

  /** After a restart: rejoin the newest bundle of our class the store knows, partial or not. */
  async #resume (): Promise<void> {
    const store = this.peer.store
    const rec = store.listBundles()
      .filter(r => r.deviceClass === this.#init.deviceClass && r.state !== 'evicted')
      .sort((a, b) => semver.compare(b.version, a.version) || b.addedMs - a.addedMs)[0]
    if (rec === undefined) return
    this.#target = await store.bundleInfo(rec.id)
    await this.peer.join(this.#target)
    this.#swarmLog.info({ bundle: rec.id }, `resumed ${rec.id} (${rec.name} ${rec.version}, ${rec.state})`)
  }

  async #run (): Promise<void> {
    const signal = this.peer.signal
    const pollMs = this.#init.pollIntervalMs ?? DEFAULT_MANIFEST_POLL_MS
    let idleMaxMs = Math.max(pollMs, Math.min(pollMs * MANIFEST_IDLE_POLL_FACTOR, DEFAULT_MANIFEST_IDLE_POLL_MAX_MS))
    // install rounds ride on this loop: never sleep past the next one
    if (this.#init.install === true) idleMaxMs = Math.max(pollMs, Math.min(idleMaxMs, this.#init.installIntervalMs ?? DEFAULT_INSTALL_INTERVAL_MS))
    let idleStreak = 0
    while (!signal.aborted) {
      const before = this.#target?.id
      try {
        await this.checkForNewer()
        if (this.#init.install === true) await this.#maybeInstall()
      } catch (err) {
        if (!signal.aborted) this.#log.warn(`agent round failed: ${toStoremeshError(err).toLine()}`)
      }
      // the store report goes up whatever the round did (a full disk fails rounds too)
      if (await this.#storeReport.tick().catch(() => false)) this.uplink.kick()
      const target = this.#target
      const settled = target === undefined || this.peer.store.bundleState(target.id) === 'verified'
      idleStreak = settled && target?.id === before ? Math.min(idleStreak + 1, 32) : 0
      const waitMs = Math.min(idleMaxMs, pollMs * 2 ** Math.max(0, idleStreak - 2))
      if (await this.#pollWaker.wait(waitMs, signal) === 'woken') idleStreak = 0
    }
  }

  /**
   * Asks connected peers (hubs first, at most DEFAULT_MANIFEST_ASK_PEERS) for the newest
   * manifest of our class, takes answers for MANIFEST_ANSWER_WINDOW_MS after the first,
   * and joins the newest valid one when it is newer than the target: an older bundle
   * that answered first is never fetched (manifest-round.ts).
   */
  async checkForNewer (): Promise<BundleInfo | undefined> {
    const signal = this.peer.signal
    const peers = (await this.peer.orderedPeers()).slice(0, DEFAULT_MANIFEST_ASK_PEERS)
    // the root first: a bundle is judged by the newest root the hub holds
    if (peers[0] !== undefined) await this.#catchUpRoots(peers[0])
    const deviceClass = this.#init.deviceClass
    const answers = await collectManifestAnswers(peers, async (id, s) =>
      await this.peer.manifest.fetch(id, { deviceClass }, { signal: s, timeoutMs: DEFAULT_MANIFEST_ASK_TIMEOUT_MS }),
    { windowMs: MANIFEST_ANSWER_WINDOW_MS, signal })
    if (signal.aborted) return this.#target
    // the lease hub: the first hub that answered (peers come hubs first)
    for (const id of peers) {
      if (answers.some(a => a.peer.equals(id)) && await this.#isHub(id)) { this.#hub = id; break }
    }
    const best = newestAnswer(answers, deviceClass, this.#target)
    if (best !== undefined) {
      const info = best.info
      const state = this.peer.store.bundleState(info.id)
      if (state === undefined || state === 'evicted') await this.peer.store.addBundle(info)
      this.#target = info
      await this.peer.join(info)
      this.#swarmLog.info({ bundle: info.id, peer: best.peer.toString() }, `fetching ${info.id} (${info.manifest.signed.name} ${info.manifest.signed.version}) for class ${deviceClass}`)
    }
    return this.#target
  }

  async #catchUpRoots (peer: PeerId): Promise<void> {
    try {
      const r = await catchUpRoots(this.peer.manifest, this.peer.root, peer, { signal: this.peer.signal, timeoutMs: DEFAULT_MANIFEST_ASK_TIMEOUT_MS })
      if (r.to !== r.from) this.#log.info({ peer: peer.toString() }, `root of trust ${r.from} -> ${r.to}`)
      this.#lastRootError = undefined
    } catch (err) {
      const line = toStoremeshError(err).toLine()
      if (line !== this.#lastRootError && !this.peer.signal.aborted) this.#log.warn({ peer: peer.toString() }, `root of trust not taken: ${line}`)
      this.#lastRootError = line
    }
  }

  /**
   * The store hub to report to: the connected peer that serves the report protocol
   * (identify's protocol list), else one that serves leases (a hub whose report handler
   * was mounted after this device's identify); the last one used while it stays connected.
   */
  async #findReportHub (): Promise<PeerId | undefined> {
    const open = new Map<string, PeerId>()
    for (const c of this.peer.node.getConnections()) if (c.status === 'open') open.set(c.remotePeer.toString(), c.remotePeer)
    const candidates = await Promise.all([...open.values()].map(async id => {
      const protocols = await this.peer.node.peerStore.get(id).then(p => p.protocols, () => [] as string[])
      const rank = protocols.includes(REPORT_PROTOCOL_V1_1) ? 2 : protocols.includes(LEASE_PROTOCOL) ? 1 : 0
      return { id, rank, current: this.#reportHub?.equals(id) === true }
    }))
    const best = candidates.filter(c => c.rank > 0)
      .sort((a, b) => b.rank - a.rank || Number(b.current) - Number(a.current) || a.id.toString().localeCompare(b.id.toString()))[0]
    if (best !== undefined && this.#reportHub?.equals(best.id) !== true) this.#ledgerLog.info({ peer: best.id.toString() }, `reporting to store hub ${best.id.toString()}`)
    this.#reportHub = best?.id
    return best?.id
  }

  /** Opens the device's install parts once (install.yaml, backend, installer) over the agent's store and journal. */
  async #openDevice (): Promise<DeviceHandle> {
    this.#device ??= openDevice({
      dataDir: this.#init.dataDir, store: this.peer.store, journal: this.journal, signal: this.peer.signal,
      // the clean-up after a commit takes old versions: their swarms end first
      beforeEvict: async id => { await this.peer.chunks.leave(id) }
    })
    try {
      return await this.#device
    } catch (err) {
      this.#device = undefined
      throw err
    }
  }

  /**
   * Runs one of the hub's orders: `rollback` is the installer's operator rollback of the
   * committed (or trial) install, then the store's pins follow the slots. Nothing to
   * roll back is the outcome `nothing`, not a failure.
   */
  async #execute (order: DeviceOrder, signal: AbortSignal): Promise<OrderResult> {
    const dev = await this.#openDevice()
    const rec = await dev.installer.status()
    const ids = rec !== undefined ? { waveId: rec.waveId, bundleId: rec.bundleId, version: rec.version } : {}
    if (rec === undefined || !(rec.state === 'committed' || isTrialState(rec.state))) {
      return { outcome: 'nothing', detail: `nothing to roll back (installer ${rec?.state ?? 'idle'})`, ...ids }
    }
    const o = await this.peer.track(dev.installer.requestRollback(`operator order ${order.orderId}: ${order.reason}`, { signal }))
    await syncPins(dev, o)
    if (o.outcome === 'rolled-back' || o.outcome === 'rebooting') {
      return { outcome: 'done', detail: `${o.outcome === 'rolled-back' ? 'rolled back' : 'rebooting to roll back'} ${rec.version} from slot ${rec.targetSlot} to slot ${rec.previousSlot}: ${order.reason}`, ...ids }
    }
    return { outcome: 'failed', detail: `${o.outcome}: ${o.detail}`, ...ids }
  }

  async #isHub (id: PeerId): Promise<boolean> {
    const protocols = await this.peer.node.peerStore.get(id).then(p => p.protocols, () => [] as string[])
    return protocols.includes(LEASE_PROTOCOL)
  }

  async #maybeInstall (): Promise<void> {
    const target = this.#target
    const state = target !== undefined ? this.peer.store.bundleState(target.id) : undefined
    // A round also runs while the bundle is still partial: the decision (deferred by
    // bundle.complete, or blocked by device.disk on a full disk) reaches the ledger, so a
    // device that cannot finish is listed, not missing. `complete` is skipped: the peer
    // is verifying it right now.
    if (state === undefined || state === 'complete' || state === 'evicted') return
    const every = this.#init.installIntervalMs ?? DEFAULT_INSTALL_INTERVAL_MS
    if (state === this.#lastRoundState && Date.now() - this.#lastInstallMs < every) return
    this.#lastInstallMs = Date.now()
    this.#lastRoundState = state
    const dev = await this.#openDevice()
    try {
      // the keeper is offered, not imposed: install.yaml's lease.kind decides whether it is asked
      const r = await this.peer.track(installOnce(dev, { lease: this.keeper, fleet: waveId => this.waveOrders.fleet(waveId), signal: this.peer.signal }))
      this.#installLog.info({ bundle: r.bundle?.id, wave: r.waveId }, `install: ${r.line}`)
    } finally {
      // the round journaled its decision (and any transitions): send them now
      this.uplink.kick()
    }
  }

  async stop (): Promise<void> {
    this.peer.node.removeEventListener('peer:identify', this.#onIdentify)
    await this.orders.stop()
    await this.uplink.stop()
    await this.keeper.release().catch(() => {})
    await this.peer.stop()
    await this.#loop
    const dev = await this.#device?.catch(() => undefined)
    await dev?.close().catch(() => {})
    await this.journal.close().catch(() => {})
  }
}
