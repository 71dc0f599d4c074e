/**
 * The store hub on the LAN (DESIGN.md section 1): imports bundle folders it is given
 * (each verified end to end), seeds every complete bundle to the store with
 * super-seeding, answers manifest questions from its store, and grants install leases
 * (persisted in `<data>/leases.json`): at most the signed policy's `maxConcurrentPerHub`
 * at once, which `maxConcurrentInstalls` (the flag) may only tighten (hub-rollout.ts).
 *
 * The WAN side plugs in through `WanPuller` (src/roles/wan-*.ts, super-hub.ts): it is
 * handed the hub's store and tells the hub when a chunk or a whole bundle arrived, so
 * the LAN swarm announces WAN chunks at once and seeds a bundle the moment it is complete.
 */
import { join } from 'node:path'
import { toStoremeshError } from '../interface/errors.js'
import { silentLog, type Log } from '../interface/log.js'
import type { TrustOptions } from '../interface/types.js'
import { defaultLeaseTableOptions, LEASE_STATE_FILE, LeaseTable } from '../lease/index.js'
import { holdingLeaseAuthority, type HoldLookup } from '../lease/held-bundles.js'
import { waveGatedLeaseAuthority, type WaveHoldLookup } from '../lease/wave-gated.js'
import { assertQuotaHolds, distinctBytes, readBundleDirManifest, type ChunkStore, type ImportResult } from '../store/index.js'
import type { BundleSwarm } from '../swarm/index.js'
import { HubRollout } from './hub-rollout.js'
import type { RootTrust } from '../identity/root/index.js'
import { LanPeer } from './peer.js'
import type { PeerInit } from './peer-init.js'
import type { WaveGateStatus } from './peer-status.js'
import { catchUpRoots } from './root-catch-up.js'
import { createWanPuller, type PullerNode, type WanPuller as WanPullerEngine, type WanPullerInit } from '../wan/puller.js'

/** What the hub offers a WAN puller. */
export interface WanPullerContext {
  /** the hub's libp2p node (dials the super hubs) */
  node: PullerNode
  /** the hub's data dir (`<data>/prefetch.json`) */
  dataDir: string
  store: ChunkStore
  trust: TrustOptions
  /** the hub's root of trust: the WAN side brings newer roots from the super hubs */
  root?: RootTrust
  /** a chunk arrived over WAN (already verified and stored): announce it on the LAN */
  noteChunkStored: (hash: string) => void
  /** a bundle became complete in the store: verify it and seed it on the LAN */
  onBundleComplete: (bundleId: string) => Promise<void>
  /** aborts when the hub stops */
  signal: AbortSignal
}

/** The WAN engineer's component (interface only here): pulls bundles from super hubs into the store. */
export interface WanPuller {
  start: (ctx: WanPullerContext) => Promise<void>
  stop: () => Promise<void>
}

/** What `--super`, `--wan-window`, `--wan-rate`, `--wan-timezone` say; the hub supplies the rest. */
export type WanHookOptions = Omit<WanPullerInit, 'node' | 'store' | 'dataDir' | 'trust' | 'swarm' | 'onRound'> & {
  /** how often the hub asks its super hubs for newer roots of trust. @default DEFAULT_ROOT_CHECK_MS */
  rootCheckMs?: number
}

/** Roots are tiny, but each check dials the WAN: once a minute is soon enough for a rotation. @default 60 s */
export const DEFAULT_ROOT_CHECK_MS = 60_000

/**
 * Adapts wan/puller.ts (a self-contained engine built from its init) to the hub's
 * start/stop hook: built at start from the hub's node and store, its chunks announced
 * on the LAN, each pre-staged bundle seeded. `engine` is there once started (metrics, poke).
 */
export class WanHook implements WanPuller {
  engine: WanPullerEngine | undefined
  readonly #options: WanHookOptions

  constructor (options: WanHookOptions) {
    this.#options = options
  }

  async start (ctx: WanPullerContext): Promise<void> {
    const log = this.#options.log ?? silentLog
    const root = ctx.root
    let lastRootCheckMs = Number.NEGATIVE_INFINITY
    const every = this.#options.rootCheckMs ?? DEFAULT_ROOT_CHECK_MS
    const engine = createWanPuller({
      ...this.#options,
      ...(root !== undefined
        ? {
            onRound: async ({ manifests, supers, signal }) => {
              if (Date.now() - lastRootCheckMs < every) return
              lastRootCheckMs = Date.now()
              for (const addr of supers) {
                const r = await catchUpRoots(manifests, root, addr, { signal })
                if (r.to !== r.from) log.info(`root of trust ${r.from} -> ${r.to} from super hub ${addr.toString()}`)
              }
            }
          }
        : {}),
      node: ctx.node,
      store: ctx.store,
      dataDir: ctx.dataDir,
      trust: ctx.trust,
      swarm: { noteChunkStored: ctx.noteChunkStored }
    })
    engine.on('prestaged', (e: { bundleId: string }) => {
      ctx.onBundleComplete(e.bundleId).catch((err: unknown) => { log.warn({ bundle: e.bundleId }, `cannot seed pre-staged ${e.bundleId}: ${toStoremeshError(err).toLine()}`) })
    })
    this.engine = engine
    await engine.start()
  }

  async stop (): Promise<void> {
    await this.engine?.stop()
  }
}

export interface StoreHubInit extends Omit<PeerInit, 'role' | 'leaseAuthority'> {
  /** bundle folders (`bundle build` output) to import at start */
  bundleDirs?: string[]
  /**
   * `--max-concurrent-installs`: tightens the signed policy's maxConcurrentPerHub, never
   * loosens it (E_POLICY_CONFLICT). With no policy it is the limit.
   * @default the policy's, else defaultLeaseTableOptions.maxConcurrentPerHub (5)
   */
  maxConcurrentInstalls?: number
  /** signed rollout policies (`--policy`, unverified envelopes): their maxConcurrentPerHub sets the lease limit */
  rolloutPolicies?: unknown[]
  wan?: WanPuller
}

export class StoreHub {
  readonly peer: LanPeer
  readonly leases: LeaseTable
  /** the signed policies' share of the hub: the lease limit and where it came from */
  readonly rollout: HubRollout
  /** the fleet's bundle holds (set by the hub operator's fleet orders, roles/hub-fleet.ts): a held bundle gets no lease */
  holdOf: HoldLookup | undefined
  /** the store's wave gate (set by the hub operator when it has a super hub uplink, ledger/store-wave-gate.ts): a held wave gets no lease */
  waveHoldOf: WaveHoldLookup | undefined
  /** the waves the gate has judged, for the status */
  waveGates: (() => WaveGateStatus[]) | undefined
  readonly imported: ImportResult[] = []
  /** called before a swarm is dropped to restart it super-seeding (the metrics keep its bytes) */
  onRetireSwarm: ((swarm: BundleSwarm) => void) | undefined
  readonly #init: StoreHubInit
  /** the hub's own lines; imports under `store`, seeding under `swarm` */
  readonly #log: Log
  readonly #storeLog: Log
  readonly #swarmLog: Log

  private constructor (init: StoreHubInit, peer: LanPeer, leases: LeaseTable, rollout: HubRollout) {
    this.#init = init
    this.peer = peer
    this.leases = leases
    this.rollout = rollout
    peer.statusExtras = () => {
      const gates = this.waveGates?.()
      return { rollout: rollout.view(), ...(gates !== undefined && gates.length > 0 ? { waveGates: gates } : {}) }
    }
    const log = init.log ?? silentLog
    this.#log = log.child({ component: 'hub' })
    this.#storeLog = log.child({ component: 'store' })
    this.#swarmLog = log.child({ component: 'swarm' })
  }

  static async start (init: StoreHubInit): Promise<StoreHub> {
    const leases = await LeaseTable.open({
      maxConcurrentPerHub: init.maxConcurrentInstalls ?? defaultLeaseTableOptions.maxConcurrentPerHub,
      statePath: join(init.dataDir, LEASE_STATE_FILE)
    })
    let peer: LanPeer
    let rollout: HubRollout
    // bound late: the holds come from the hub operator, started after the hub
    let hub: StoreHub | undefined
    try {
      // before the LAN: no lease is granted under a limit the signed policy does not allow
      rollout = await HubRollout.open({
        dataDir: init.dataDir,
        trust: init.trust,
        leases,
        maxConcurrentFlag: init.maxConcurrentInstalls,
        log: (init.log ?? silentLog).child({ component: 'lease' })
      }, init.rolloutPolicies ?? [])
      peer = await LanPeer.start({ ...init, role: 'hub', leaseAuthority: waveGatedLeaseAuthority(holdingLeaseAuthority(leases, id => hub?.holdOf?.(id)), (w, b) => hub?.waveHoldOf?.(w, b)) })
    } catch (err) {
      await leases.close().catch(() => {})
      throw err
    }
    hub = new StoreHub(init, peer, leases, rollout)
    try {
      await assertBundleDirsFit(peer.store, init.bundleDirs ?? [], init.trust)
      for (const dir of init.bundleDirs ?? []) {
        const r = await peer.store.importBundleDir(dir, peer.root.trust('release'), { signal: peer.signal })
        hub.imported.push(r)
        hub.#storeLog.info({ bundle: r.bundle.id }, `imported ${r.bundle.id} (${r.bundle.name} ${r.bundle.version}) from ${dir}: ${r.chunksWritten} chunks written, ${r.chunksAlreadyHeld} held`)
      }
      await hub.seedAll()
      if (init.wan !== undefined) {
        await init.wan.start({
          node: peer.node,
          dataDir: init.dataDir,
          store: peer.store,
          trust: peer.root.trust('release'),
          root: peer.root,
          noteChunkStored: hash => { peer.chunks.noteChunkStored(hash) },
          onBundleComplete: async id => { await hub.seed(id) },
          signal: peer.signal
        })
      }
      await peer.writeStatus()
    } catch (err) {
      await hub.stop().catch(() => {})
      throw err
    }
    return hub
  }

  /** Seeds one complete bundle with super-seeding (verifying it first if only complete). */
  async seed (bundleId: string): Promise<void> {
    const store = this.peer.store
    const state = store.bundleState(bundleId)
    if (state === 'complete') await store.markVerified(bundleId, { signal: this.peer.signal })
    else if (state !== 'verified') return
    const existing = this.peer.chunks.swarm(bundleId)
    if (existing?.superseed === true) return
    // a swarm joined earlier (a peer asked for the bundle while it was being imported)
    // holds a stale bitfield and does not super-seed: start it afresh
    if (existing !== undefined) {
      this.onRetireSwarm?.(existing)
      await this.peer.chunks.leave(bundleId)
    }
    await this.peer.join(await store.bundleInfo(bundleId), { superseed: true })
    this.#swarmLog.info({ bundle: bundleId }, `seeding ${bundleId}`)
  }

  /** Seeds every complete bundle of the store; one that fails verification is logged and skipped. */
  async seedAll (): Promise<void> {
    for (const rec of this.peer.store.listBundles()) {
      try {
        await this.seed(rec.id)
      } catch (err) {
        this.#swarmLog.warn({ bundle: rec.id }, `cannot seed ${rec.id}: ${toStoremeshError(err).toLine()}`)
      }
    }
  }

  async stop (): Promise<void> {
    await this.#init.wan?.stop().catch((err: unknown) => { this.#log.warn(`wan stop: ${toStoremeshError(err).toLine()}`) })
    await this.peer.stop()
    await this.leases.close()
  }
}

/** A quota that cannot hold a bundle the hub is told to import is refused at start (E_QUOTA_TOO_SMALL). */
async function assertBundleDirsFit (store: ChunkStore, dirs: readonly string[], trust: TrustOptions): Promise<void> {
  const quotaBytes = store.stats().quotaBytes
  if (quotaBytes === undefined || dirs.length === 0) return
  const sized = []
  for (const dir of dirs) {
    const info = await readBundleDirManifest(dir, trust)
    const s = info.manifest.signed
    sized.push({ id: info.id, name: s.name, version: s.version, bytes: distinctBytes(info.pieces) })
  }
  assertQuotaHolds(quotaBytes, sized)
}
