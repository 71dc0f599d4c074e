/**
 * The device agent on the LAN (DESIGN.md sections 1, 2): finds peers over mDNS, asks
 * them (store hubs first) for the newest manifest of its device class, verifies it,
 * records it in the store, fetches the bundle from hub and devices alike, marks it
 * verified once complete, and keeps seeding. A device restarted after a crash rejoins
 * the swarm of the bundle it was fetching and announces the chunks it already holds.
 *
 * With `install`, once the target bundle is verified the agent runs the one-shot
 * install path (src/roles/device-install.ts) every `installIntervalMs`, with a
 * LeaseKeeper against the store hub as its LeaseProvider.
 */
import semver from 'semver'
import type { PeerId } from '@libp2p/interface'
import { toStoremeshError } from '../interface/errors.js'
import type { BundleInfo } from '../interface/types.js'
import { LEASE_PROTOCOL, LeaseKeeper } from '../lease/index.js'
import { openDevice, installOnce, type DeviceHandle } from './device-install.js'
import { DEFAULT_INSTALL_INTERVAL_MS, DEFAULT_MANIFEST_ASK_PEERS, DEFAULT_MANIFEST_ASK_TIMEOUT_MS, DEFAULT_MANIFEST_POLL_MS } from './lan-constants.js'
import { LanPeer, type PeerInit } from './peer.js'

export interface DeviceAgentInit extends Omit<PeerInit, 'role' | 'leaseAuthority' | 'deviceClass'> {
  deviceClass: string
  /** @default DEFAULT_MANIFEST_POLL_MS */
  pollIntervalMs?: number
  /** run the install decision once the bundle is verified */
  install?: boolean
  /** @default DEFAULT_INSTALL_INTERVAL_MS */
  installIntervalMs?: number
}

function sleep (ms: number, signal: AbortSignal): Promise<void> {
  return new Promise(resolve => {
    if (signal.aborted) { resolve(); return }
    const done = (): void => { clearTimeout(timer); signal.removeEventListener('abort', done); resolve() }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
  })
}

/** Whether `a` should replace `b` as the device's target: a higher version, or the same one signed later. */
export function isNewer (a: BundleInfo, b: BundleInfo | undefined): boolean {
  if (b === undefined) return true
  if (a.id === b.id) return false
  const c = semver.compare(a.manifest.signed.version, b.manifest.signed.version)
  return c > 0 || (c === 0 && a.manifest.signed.created > b.manifest.signed.created)
}

export class DeviceAgent {
  readonly peer: LanPeer
  readonly keeper: LeaseKeeper
  #target: BundleInfo | undefined
  #hub: PeerId | undefined
  #device: DeviceHandle | undefined
  #lastInstallMs = 0
  #loop: Promise<void> | undefined
  readonly #init: DeviceAgentInit
  readonly #log: (line: string) => void

  private constructor (init: DeviceAgentInit, peer: LanPeer) {
    this.#init = init
    this.peer = peer
    this.#log = init.log ?? (() => {})
    this.keeper = new LeaseKeeper({
      deviceId: peer.node.peerId.toString(),
      client: peer.lease,
      hub: () => this.#hub,
      log: this.#log
    })
  }

  static async start (init: DeviceAgentInit): Promise<DeviceAgent> {
    const peer = await LanPeer.start({ ...init, role: 'device' })
    const agent = new DeviceAgent(init, peer)
    try {
      await agent.#resume()
    } catch (err) {
      await peer.stop().catch(() => {})
      throw err
    }
    agent.#loop = agent.#run()
    return agent
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
    this.#log(`resumed ${rec.id} (${rec.name} ${rec.version}, ${rec.state})`)
  }

  async #run (): Promise<void> {
    const signal = this.peer.signal
    const pollMs = this.#init.pollIntervalMs ?? DEFAULT_MANIFEST_POLL_MS
    while (!signal.aborted) {
      try {
        await this.checkForNewer()
        if (this.#init.install === true) await this.#maybeInstall()
      } catch (err) {
        if (!signal.aborted) this.#log(`agent round failed: ${toStoremeshError(err).toLine()}`)
      }
      await sleep(pollMs, signal)
    }
  }

  /** Asks connected peers, hubs first, for the newest manifest of our class; joins it when newer. */
  async checkForNewer (): Promise<BundleInfo | undefined> {
    const signal = this.peer.signal
    const peers = (await this.peer.orderedPeers()).slice(0, DEFAULT_MANIFEST_ASK_PEERS)
    for (const id of peers) {
      let info: BundleInfo
      try {
        info = await this.peer.manifest.fetch(id, { deviceClass: this.#init.deviceClass }, { signal, timeoutMs: DEFAULT_MANIFEST_ASK_TIMEOUT_MS })
      } catch {
        continue
      }
      const hub = await this.#isHub(id)
      if (hub) this.#hub = id
      if (isNewer(info, this.#target)) {
        const state = this.peer.store.bundleState(info.id)
        if (state === undefined || state === 'evicted') await this.peer.store.addBundle(info)
        this.#target = info
        await this.peer.join(info)
        this.#log(`fetching ${info.id} (${info.manifest.signed.name} ${info.manifest.signed.version}) for class ${this.#init.deviceClass}`)
      }
      // the first answer settles it: peers come hubs first
      return this.#target
    }
    return this.#target
  }

  async #isHub (id: PeerId): Promise<boolean> {
    const protocols = await this.peer.node.peerStore.get(id).then(p => p.protocols, () => [] as string[])
    return protocols.includes(LEASE_PROTOCOL)
  }

  async #maybeInstall (): Promise<void> {
    const target = this.#target
    if (target === undefined || this.peer.store.bundleState(target.id) !== 'verified') return
    const every = this.#init.installIntervalMs ?? DEFAULT_INSTALL_INTERVAL_MS
    if (Date.now() - this.#lastInstallMs < every) return
    this.#lastInstallMs = Date.now()
    this.#device ??= await openDevice({ dataDir: this.#init.dataDir, store: this.peer.store, signal: this.peer.signal })
    const r = await this.peer.track(installOnce(this.#device, { lease: this.keeper, signal: this.peer.signal }))
    this.#log(`install: ${r.line}`)
  }

  async stop (): Promise<void> {
    await this.keeper.release().catch(() => {})
    await this.peer.stop()
    await this.#loop
    await this.#device?.close().catch(() => {})
  }
}
