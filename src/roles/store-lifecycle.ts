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

/** How often a hub re-checks its pins and the ledger while things change. @default 5_000 */
export const DEFAULT_LIFECYCLE_INTERVAL_MS = 5_000
/**
 * A check that changed nothing doubles the wait up to this; a poke (a device's report,
 * a wave order or outcome) or a change in the store's bundles brings the base interval
 * back. An idle hub checked every 5 s for ever (issue #19); a change the hub is not
 * poked about (a bundle arriving over the WAN) is picked up within this.
 * @default 30_000
 */
export const DEFAULT_LIFECYCLE_MAX_INTERVAL_MS = 30_000

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
  /** @default DEFAULT_LIFECYCLE_MAX_INTERVAL_MS (never below intervalMs) */
  maxIntervalMs?: number
  log?: Log
}

export class HubLifecycle {
  readonly #init: HubLifecycleInit
  readonly #log: Log
  #timer: NodeJS.Timeout | undefined
  #running: Promise<unknown> = Promise.resolve()
  #stopped = false
  #started = false
  #waitMs = 0
  /** what the last check saw of the store's bundles: a change resets the back-off */
  #seen = ''
  /** the last syncPins() pinned or unpinned something */
  #pinsMoved = false

  constructor (init: HubLifecycleInit) {
    this.#init = init
    this.#log = (init.log ?? silentLog).child({ component: 'store' })
  }

  get #baseMs (): number { return this.#init.intervalMs ?? DEFAULT_LIFECYCLE_INTERVAL_MS }
  get #maxMs (): number { return Math.max(this.#baseMs, this.#init.maxIntervalMs ?? DEFAULT_LIFECYCLE_MAX_INTERVAL_MS) }

  /** The wait before the next check (tests, status). */
  get nextWaitMs (): number { return this.#waitMs }

  start (): void {
    this.#started = true
    this.#waitMs = this.#baseMs
    this.#check()
  }

  /** Something the pins or evictions depend on may have changed: check at the base pace. */
  poke (): void {
    if (!this.#started || this.#stopped || this.#waitMs <= this.#baseMs) return
    this.#waitMs = this.#baseMs
    this.#arm()
  }

  async stop (): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    await this.#running.catch(() => {})
  }

  #arm (): void {
    clearTimeout(this.#timer)
    if (this.#stopped) return
    this.#timer = setTimeout(() => { this.#check() }, this.#waitMs)
    this.#timer.unref()
  }

  #check (): void {
    clearTimeout(this.#timer)
    void this.#serial(async () => await this.tick()).then(run => {
      const seen = this.#bundlesSeen()
      const idle = run !== undefined && run.evicted.length === 0 && seen === this.#seen && !this.#pinsMoved
      this.#seen = seen
      this.#pinsMoved = false
      this.#waitMs = idle ? Math.min(this.#maxMs, this.#waitMs * 2) : this.#baseMs
      this.#arm()
    }, () => { this.#arm() })
  }

  #bundlesSeen (): string {
    return this.#init.store.listBundles().map(r => `${r.id}:${r.state}:${r.pins.join(',')}`).join(';')
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
      if (!record.pins.includes(reason)) { await store.pin(record.id, reason); this.#pinsMoved = true }
    }
    for (const { record, reason } of hubStalePins(store.listBundles(), plan)) { await store.unpin(record.id, reason); this.#pinsMoved = true }
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
