/**
 * The super hub's waves in the simulator: the fleet plane's own wave logic
 * (src/control/waves/: planWave, selection, schedule, the transition table, the halt
 * rule), imported, not re-implemented. One wave per device class, planned from that
 * class's signed policy (sim-policy.ts: percentage, hubBudget, prestageHours,
 * batchDelayMinutes, haltOnRollbackRatio, minOutcomesForHalt) over the stores' own
 * windows and zones.
 *
 * Where the control plane reads its database, the simulator keeps the same figures in
 * memory: the outcomes each store hub reported (absolute counts per store, as the
 * ledger holds them) and which stores reported the bundle pre-staged. Every
 * `reportIntervalMinutes` while the super hub is up, a cycle feeds the machine what
 * arrived since the last one (one `outcomes` and one `prestaged-stores` event per
 * class, then a `tick`), and applies its actions to the per-store orders that hubs
 * take back with their next report: prestage (pull the bundle), start-store (the
 * class's devices are admitted), halt (the class waits on fleet.halt).
 */
import type { WaveAction, WaveRules, WaveState } from '../control/waves/index.js'
import { effectiveRollout, planWave, summarizeWave, transition, waveRulesOf, waveTotals } from '../control/waves/index.js'
import { DEVICE_CLASSES, type SimStore } from './fleet-setup.js'
import type { SimParams } from './params.js'
import type { Rollouts } from './sim-policy.js'

/** What a store hub takes back from the super hub with a report. Replaced, never edited, when it changes. */
export interface StoreOrders {
  /** pull the bundle over the WAN (some class's wave ordered pre-staging) */
  prestage: boolean
  /** classes whose wave started this store */
  admitted: ReadonlySet<string>
  /** classes whose wave is halted */
  halted: ReadonlySet<string>
}

const NONE: ReadonlySet<string> = new Set()

export interface Halt { cls: string, atMs: number, committed: number, rolledBack: number, reason: string }

interface ClassWave {
  cls: string
  policyName: string
  rules: WaveRules
  state: WaveState
  /** store id -> [updated, rolledBack] reported since the last cycle (absolute) */
  dirty: Map<string, [number, number]>
  /** store id -> counts as reported so far */
  counts: Map<string, [number, number]>
  /** when each batch started (ms) */
  batchStartMs: number[]
}

export class FleetWaves {
  readonly waves: ClassWave[] = []
  readonly halts: Halt[] = []
  readonly #orders: StoreOrders[]
  readonly #indexOf = new Map<string, number>()
  readonly #prestagedNew: string[] = []
  readonly #halted = new Set<string>()

  constructor (readonly p: SimParams, readonly stores: readonly SimStore[], rollouts: Rollouts) {
    this.#orders = stores.map(() => ({ prestage: false, admitted: NONE, halted: NONE }))
    stores.forEach(s => this.#indexOf.set(s.id, s.index))
    for (const c of DEVICE_CLASSES) {
      const members = stores.map(s => ({ storeId: s.id, deviceIds: s.devices.filter(d => d.cls.name === c.name).map(d => d.id), timezone: s.timezone, maintenanceWindow: p.maintenanceWindow }))
        .filter(s => s.deviceIds.length > 0)
      if (members.length === 0) continue
      // the class's policy: the same in every zone but for the zone (stores name their own)
      const policy = rollouts.get(c.name, stores[0]?.timezone ?? 'UTC').policy
      const rollout = effectiveRollout(policy)
      const state = planWave({ waveId: policy.metadata.name, policyName: policy.metadata.name, schedule: policy.spec.schedule, rollout, stores: members })
      this.waves.push({ cls: c.name, policyName: policy.metadata.name, rules: waveRulesOf(rollout), state, dirty: new Map(), counts: new Map(), batchStartMs: [] })
    }
  }

  ordersOf (store: number): StoreOrders {
    return this.#orders[store] as StoreOrders
  }

  /** Every wave starts (the operator's `wave start`). */
  start (nowMs: number): void {
    for (const w of this.waves) this.#step(w, { type: 'start' }, nowMs)
  }

  /** A store hub's report: its selected devices' outcome counts for a class (absolute), or its bundle pre-staged. */
  reportOutcomes (storeId: string, cls: string, updated: number, rolledBack: number): void {
    const w = this.waves.find(x => x.cls === cls)
    if (w === undefined) return
    w.dirty.set(storeId, [updated, rolledBack])
    w.counts.set(storeId, [updated, rolledBack])
  }

  counted (storeId: string, cls: string): [number, number] {
    return this.waves.find(x => x.cls === cls)?.counts.get(storeId) ?? [0, 0]
  }

  reportPrestaged (storeId: string): void {
    this.#prestagedNew.push(storeId)
  }

  /** One control-plane cycle: what arrived since the last goes into the machine. */
  cycle (nowMs: number): void {
    const prestaged = this.#prestagedNew.splice(0)
    for (const w of this.waves) {
      if (w.dirty.size > 0) {
        const stores = [...w.dirty].map(([storeId, [updated, rolledBack]]) => ({ storeId, updated, rolledBack }))
        w.dirty.clear()
        this.#step(w, { type: 'outcomes', stores }, nowMs)
      }
      const mine = prestaged.filter(id => Object.hasOwn(w.state.stores, id))
      if (mine.length > 0) this.#step(w, { type: 'prestaged-stores', storeIds: mine }, nowMs)
      this.#step(w, { type: 'tick' }, nowMs)
    }
  }

  /** Every wave is done or halted: nothing more will be ordered. */
  get settled (): boolean {
    return this.waves.every(w => w.state.phase === 'done' || w.state.phase === 'halted')
  }

  summaries (): Array<ReturnType<typeof summarizeWave> & { cls: string, batchStartMs: number[], batchHealthyAtMs: number[] }> {
    return this.waves.map(w => ({ cls: w.cls, ...summarizeWave(w.state), batchStartMs: w.batchStartMs, batchHealthyAtMs: w.state.batchHealthyAtMs }))
  }

  #step (w: ClassWave, event: Parameters<typeof transition>[1], nowMs: number): void {
    const t = transition(w.state, event, nowMs, w.rules)
    w.state = t.state
    for (const a of t.actions) this.#apply(w, a, nowMs)
  }

  #apply (w: ClassWave, a: WaveAction, nowMs: number): void {
    switch (a.type) {
      case 'prestage':
        this.#set(a.storeId, o => o.prestage ? o : { ...o, prestage: true })
        return
      case 'start-store':
        if (w.batchStartMs[a.batch] === undefined) w.batchStartMs[a.batch] = nowMs
        this.#set(a.storeId, o => o.admitted.has(w.cls) ? o : { ...o, admitted: new Set([...o.admitted, w.cls]) })
        return
      case 'halt': {
        const t = waveTotals(w.state)
        this.halts.push({ cls: w.cls, atMs: nowMs, committed: t.updated, rolledBack: t.rolledBack, reason: a.reason })
        this.#halted.add(w.cls)
        // every store's orders change: the halted set is shared, the object is new
        for (let i = 0; i < this.#orders.length; i++) this.#orders[i] = { ...(this.#orders[i] as StoreOrders), halted: new Set(this.#halted) }
        return
      }
      case 'pause':
      case 'resume':
        // no operator in the simulated fleet pauses or resumes
    }
  }

  #set (storeId: string, f: (o: StoreOrders) => StoreOrders): void {
    const i = this.#indexOf.get(storeId)
    if (i !== undefined) this.#orders[i] = f(this.#orders[i] as StoreOrders)
  }
}
