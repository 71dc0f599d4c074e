/**
 * The store lifecycle on hubs and devices (README "Store lifecycle"): applies the plans
 * of store/retention.ts. Composition only: the rules live in the store layer, the
 * wave outcomes in the hub ledger.
 *
 *   device  after every commit, cleanupDevice() evicts versions older than the
 *           last-known-good (`storemesh device cache gc` runs the same).
 *   hub     HubLifecycle.tick() keeps `active` on the newest bundle per class and
 *           `device` on what the store's devices run, install or would roll back to,
 *           and, once the ledger shows every device of a bundle's waves done or
 *           blocked, evicts the superseded versions beyond the last-known-good.
 */
import { isStoremeshError, StoremeshError, toStoremeshError } from '../interface/errors.js'
import { silentLog, type Log } from '../interface/log.js'
import type { HubLedger } from '../ledger/index.js'
import { storeFigures } from '../ledger/device-store.js'
import { deviceGcPlan, hubEvictionPlan, hubPinPlan, hubStalePins, type BundleEviction, type BundleRecord, type ChunkStore, type RetentionPlan } from '../store/index.js'

/** How often a hub re-checks its pins and the ledger. @default 5_000 */
export const DEFAULT_LIFECYCLE_INTERVAL_MS = 5_000

export interface LifecycleRun {
  evicted: BundleEviction[]
  /** bundles the rules would evict but a pin keeps */
  kept: Array<{ id: string, name: string, version: string, pins: string[] }>
  dryRun: boolean
}

/** Called before a bundle is evicted: a joined swarm is left first. */
export type BeforeEvict = (bundleId: string) => Promise<void>

async function applyPlan (store: ChunkStore, plan: RetentionPlan, dryRun: boolean, beforeEvict?: BeforeEvict): Promise<LifecycleRun> {
  const run: LifecycleRun = { evicted: [], kept: plan.pinned.map(keptOf), dryRun }
  for (const rec of plan.evict) {
    if (!dryRun) await beforeEvict?.(rec.id)
    try {
      run.evicted.push(await store.evictBundle(rec.id, { dryRun }))
    } catch (err) {
      // pinned meanwhile (an install began): the store refused, which is the point
      if (!isStoremeshError(err, 'E_BUNDLE_PINNED') && !isStoremeshError(err, 'E_BUNDLE_NOT_FOUND')) throw err
      const now = store.getBundle(rec.id)
      if (now !== undefined) run.kept.push(keptOf(now))
    }
  }
  return run
}

function keptOf (r: BundleRecord): LifecycleRun['kept'][number] {
  return { id: r.id, name: r.name, version: r.version, pins: [...r.pins] }
}

/** A device's clean-up after a commit: versions older than its last-known-good go. */
export async function cleanupDevice (store: ChunkStore, options: { dryRun?: boolean, beforeEvict?: BeforeEvict } = {}): Promise<LifecycleRun> {
  return await applyPlan(store, deviceGcPlan(store.listBundles()), options.dryRun === true, options.beforeEvict)
}

export interface HubLifecycleInit {
  store: ChunkStore
  ledger: Pick<HubLedger, 'waveBundles' | 'waveCounts' | 'deviceStores'>
  beforeEvict?: BeforeEvict
  /** @default DEFAULT_LIFECYCLE_INTERVAL_MS */
  intervalMs?: number
  log?: Log
}

export class HubLifecycle {
  readonly #init: HubLifecycleInit
  readonly #log: Log
  #timer: NodeJS.Timeout | undefined
  #running: Promise<unknown> = Promise.resolve()
  #stopped = false

  constructor (init: HubLifecycleInit) {
    this.#init = init
    this.#log = (init.log ?? silentLog).child({ component: 'store' })
  }

  start (): void {
    const every = this.#init.intervalMs ?? DEFAULT_LIFECYCLE_INTERVAL_MS
    this.#timer = setInterval(() => { void this.#serial(async () => await this.tick()).catch(() => {}) }, every)
    this.#timer.unref()
    void this.#serial(async () => await this.tick()).catch(() => {})
  }

  async stop (): Promise<void> {
    this.#stopped = true
    clearInterval(this.#timer)
    await this.#running.catch(() => {})
  }

  /** One at a time: a tick and an operator's evict never interleave. */
  async #serial<T> (fn: () => Promise<T>): Promise<T> {
    const p = this.#running.catch(() => {}).then(fn)
    this.#running = p
    return await p
  }

  /** Keeps the pins and evicts after settled waves; failures are logged, never thrown. */
  async tick (): Promise<LifecycleRun | undefined> {
    if (this.#stopped) return undefined
    try {
      await this.syncPins()
      const run = await applyPlan(this.#init.store, hubEvictionPlan(this.#init.store.listBundles(), await this.settled()), false, this.#init.beforeEvict)
      for (const e of run.evicted) {
        this.#log.info({ bundle: e.bundle.id }, `evicted ${e.bundle.name} ${e.bundle.version} (${e.bundle.id}) after its wave: ${e.chunks} chunks, ${e.bytes} bytes freed`)
      }
      return run
    } catch (err) {
      if (!isStoremeshError(err, 'E_STORE_CLOSED')) this.#log.warn(`store lifecycle: ${toStoremeshError(err).toLine()}`)
      return undefined
    }
  }

  /**
   * `active` on the newest bundle of each class, `device` on every bundle a device of
   * the store runs, installs or would roll back to (their store reports in the ledger);
   * automatic pins nobody needs any more are taken off.
   */
  async syncPins (): Promise<void> {
    const { store } = this.#init
    const held = storeFigures((await this.#init.ledger.deviceStores()).map(d => d.store)).heldByDevices
    const plan = hubPinPlan(store.listBundles(), held)
    for (const { record, reason } of plan) {
      if (!record.pins.includes(reason)) await store.pin(record.id, reason)
    }
    for (const { record, reason } of hubStalePins(store.listBundles(), plan)) await store.unpin(record.id, reason)
  }

  /** Bundles whose waves have at least one device and none pending. */
  async settled (): Promise<Set<string>> {
    const out = new Set<string>()
    for (const [bundleId, waves] of await this.#init.ledger.waveBundles()) {
      let settled = waves.length > 0
      for (const w of waves) {
        const c = await this.#init.ledger.waveCounts(w)
        if (c.total === 0 || c.pending > 0) settled = false
      }
      if (settled) out.add(bundleId)
    }
    return out
  }

  /**
   * `hub cache evict`: one bundle (refused when pinned), or what the rules evict now.
   * A dry run says what would go and changes nothing.
   */
  async evict (options: { bundle?: string, dryRun?: boolean } = {}): Promise<LifecycleRun> {
    return await this.#serial(async () => {
      const { store } = this.#init
      const dryRun = options.dryRun === true
      if (options.bundle !== undefined) {
        const rec = store.getBundle(options.bundle)
        if (rec === undefined) throw new StoremeshError('E_BUNDLE_NOT_FOUND', `bundle ${options.bundle} is not in the store`, { bundle: options.bundle })
        if (!dryRun) await this.#init.beforeEvict?.(rec.id)
        return { evicted: [await store.evictBundle(rec.id, { dryRun })], kept: [], dryRun }
      }
      await this.syncPins()
      return await applyPlan(store, hubEvictionPlan(store.listBundles(), await this.settled()), dryRun, this.#init.beforeEvict)
    })
  }
}
