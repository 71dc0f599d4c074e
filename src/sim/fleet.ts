/**
 * The fleet run: draws the fleet, runs the full-fidelity LAN stores, then every store
 * and device on one simulated clock with the super hub (egress cap, crash, the fleet
 * plane's waves and halts, ledger), and returns the figures (report.ts shapes them).
 * Deterministic: no wall clock, no I/O; wall time and memory are measured by the caller.
 *
 * Waves are the fleet plane's own (src/control/waves/ through fleet-waves.ts): one per
 * device class from its policy, batches of hubBudget stores, pre-staging prestageHours
 * before each store's window, the next batch batchDelayMinutes after one is healthy,
 * an auto-halt when the rollback ratio passes haltOnRollbackRatio after
 * minOutcomesForHalt outcomes. Hubs learn orders at their next report.
 */
import type { Decision } from '../interface/types.js'
import { isOpen, windowEdges } from '../time/index.js'
import type { DeviceRun } from './device-run.js'
import { EventQueue } from './event-queue.js'
import { badClasses, makeFleet, type SimStore } from './fleet-setup.js'
import { LanSampler, runFidelity, sampleOf, type LanOutcome } from './lan-sampler.js'
import { checkMemory, derived, type SimParams } from './params.js'
import { Rollouts } from './sim-policy.js'
import { FleetWaves, type Halt, type StoreOrders } from './fleet-waves.js'
import { StoreRun } from './store-run.js'
import { WanFluid } from './wan-fluid.js'

const HOUR_MS = 3_600_000
const MINUTE_MS = 60_000
/** the simulated start: a fixed instant, so a run never reads the wall clock */
export const SIM_START_MS = Date.UTC(2026, 11, 1, 0, 0, 0)


export interface FleetRaw {
  p: SimParams
  stores: SimStore[]
  runs: StoreRun[]
  lanOutcomes: Map<number, LanOutcome>
  wan: WanFluid
  halts: Halt[]
  waves: ReturnType<FleetWaves['summaries']>
  /** hourly: [hour, share of devices whose outcome the super hub holds, share with an outcome] */
  ledger: Array<[number, number, number]>
  finalGates: Map<string, number>
  deferGates: Map<string, number>
  evaluations: number
  events: number
  endMs: number
  fidelityMs: number
}

export interface FleetHooks { onPhase?: (what: string) => void }

/** The fleet drawn and its full-fidelity stores already run (lan-pool.ts, on worker threads). */
export interface FleetPre { stores: SimStore[], lanOutcomes: Map<number, LanOutcome> }

/** The stores whose LAN runs at full fidelity: the first fidelityStores (stores are drawn at random). */
export function fidelityStoresOf (p: SimParams, stores: readonly SimStore[]): SimStore[] {
  return stores.slice(0, Math.min(p.fidelityStores, stores.length))
}

export function runFleet (p: SimParams, hooks: FleetHooks = {}, pre?: FleetPre): FleetRaw {
  checkMemory(p)
  const startMs = SIM_START_MS
  const horizonMs = p.horizonDays * 24 * HOUR_MS
  const stores = pre?.stores ?? makeFleet(p, startMs)

  // full-fidelity LAN stores first: the drawn stores need their distribution
  const fidelityStores = fidelityStoresOf(p, stores)
  const lanOutcomes = new Map<number, LanOutcome>(pre?.lanOutcomes)
  if (pre === undefined) {
    hooks.onPhase?.(`full-fidelity LAN: ${fidelityStores.length} stores in this thread`)
    for (const s of fidelityStores) {
      if (s.index > 0 && s.index % 10 === 0) hooks.onPhase?.(`  full fidelity: ${s.index} of ${fidelityStores.length} stores done`)
      lanOutcomes.set(s.index, runFidelity(s, p))
    }
  }
  let fidelityEvents = 0
  for (const s of fidelityStores) fidelityEvents += (lanOutcomes.get(s.index) as LanOutcome).events
  const sampler = fidelityStores.length > 0 ? new LanSampler(fidelityStores.map(s => sampleOf(s, p, lanOutcomes.get(s.index) as LanOutcome))) : undefined
  hooks.onPhase?.(`fleet: ${stores.length} stores, ${stores.reduce((a, s) => a + s.devices.length, 0)} devices`)

  const q = new EventQueue(startMs)
  const wan = new WanFluid(q, derived.egressBps(p))
  const bad = badClasses(p)
  const rollouts = new Rollouts(p, startMs)
  const edgeCache = new Map<string, number[]>()
  const edges = (tz: string): number[] => {
    let e = edgeCache.get(tz)
    if (e === undefined) edgeCache.set(tz, e = windowEdges(p.wanWindow, tz, startMs, startMs + horizonMs))
    return e
  }

  // ---- super hub: ledger, the fleet plane's waves (fleet-waves.ts), halts ------------
  let superUp = true
  const waves = new FleetWaves(p, stores, rollouts)
  const halted = (): ReadonlySet<string> => new Set(waves.halts.map(h => h.cls))
  const classTotal = new Map<string, number>()
  const classTerminal = new Map<string, number>()
  let known = 0
  let terminal = 0
  let total = 0
  for (const s of stores) {
    for (const d of s.devices) {
      total++
      classTotal.set(d.cls.name, (classTotal.get(d.cls.name) ?? 0) + 1)
    }
  }
  const finalGates = new Map<string, number>()
  const deferGates = new Map<string, number>()
  let evaluations = 0

  const haltedOutstanding = (): number => [...halted()].reduce((a, c) => a + (classTotal.get(c) ?? 0) - (classTerminal.get(c) ?? 0), 0)

  /** the store hub's report: outcomes into the ledger (absolute counts per class, as condensed), pre-staging; the orders in force come back */
  const report = (store: StoreRun, outcomes: DeviceRun[], prestaged: boolean): StoreOrders => {
    const touched = new Set<string>()
    for (const d of outcomes) {
      known++
      touched.add(d.dev.cls.name)
    }
    for (const cls of touched) {
      const [u, r] = waves.counted(store.store.id, cls)
      let du = 0
      let dr = 0
      for (const d of outcomes) {
        if (d.dev.cls.name !== cls) continue
        if (d.outcome === 'committed') du++
        else if (d.outcome === 'rolled-back') dr++
      }
      waves.reportOutcomes(store.store.id, cls, u + du, r + dr)
    }
    if (prestaged) waves.reportPrestaged(store.store.id)
    return waves.ordersOf(store.store.index)
  }

  let runs: StoreRun[] = []
  const host = {
    q,
    p,
    rollouts,
    wan,
    badClasses: bad,
    superHubUp: () => superUp,
    report,
    lan: (s: SimStore): LanOutcome => {
      let o = lanOutcomes.get(s.index)
      if (o === undefined) {
        o = sampler !== undefined ? sampler.draw(s, p, s.rng.fork(0x1a3)) : runFidelity(s, p)
        lanOutcomes.set(s.index, o)
      }
      return o
    },
    onEvaluated: (_d: DeviceRun, dec: Decision) => {
      evaluations++
      if (dec.verdict !== 'install') {
        const g = dec.gates.find(x => !x.ok && x.effect === dec.verdict)?.gate ?? dec.verdict
        deferGates.set(g, (deferGates.get(g) ?? 0) + 1)
      }
    },
    onOutcome: (d: DeviceRun) => {
      terminal++
      classTerminal.set(d.dev.cls.name, (classTerminal.get(d.dev.cls.name) ?? 0) + 1)
    },
    startMs,
    edges
  }
  runs = stores.map(s => new StoreRun(s, host))
  waves.start(startMs)
  for (const r of runs) r.start()
  // the control plane's cycle: what the hubs reported goes into the wave machine
  const cycle = (): void => {
    if (superUp) waves.cycle(q.nowMs())
    if (!waves.settled) q.at(q.nowMs() + p.reportIntervalMinutes * MINUTE_MS, cycle)
  }
  cycle()

  if (p.superHubCrashHour >= 0) {
    q.at(startMs + p.superHubCrashHour * HOUR_MS, () => { superUp = false; wan.setEgressUp(false) })
    q.at(startMs + p.superHubCrashHour * HOUR_MS + p.hubDownMinutes * MINUTE_MS, () => {
      superUp = true
      wan.setEgressUp(true)
    })
  }
  const ledger: Array<[number, number, number]> = []
  const sample = (): void => {
    ledger.push([Math.round((q.nowMs() - startMs) / HOUR_MS), known / total, terminal / total])
    q.at(q.nowMs() + HOUR_MS, sample)
  }
  sample()
  // until every outcome is in the ledger and the waves have taken them in (done or halted)
  q.run(startMs + horizonMs, () => known === terminal && terminal + haltedOutstanding() >= total && waves.settled)
  const endMs = q.nowMs()
  ledger.push([Math.round((endMs - startMs) / HOUR_MS * 10) / 10, known / total, terminal / total])

  for (const r of runs) {
    for (const d of r.devices) {
      const g = d.outcome === undefined ? `pending: ${d.decidingGate}` : d.outcome === 'committed' ? 'install' : d.decidingGate === 'install' ? `installed: ${d.outcome}` : d.decidingGate
      finalGates.set(g, (finalGates.get(g) ?? 0) + 1)
    }
  }
  return {
    p,
    stores,
    runs,
    lanOutcomes,
    wan,
    halts: waves.halts,
    waves: waves.summaries(),
    ledger,
    finalGates,
    deferGates,
    evaluations,
    events: q.processed + fidelityEvents,
    endMs,
    fidelityMs: 0
  }
}

/** Every device pulls the bundle from the centre over its store's link, in the same windows and outages, no egress cap. */
export function runCentreBaseline (p: SimParams, stores: SimStore[]): { bytes: number, peakBps: number, doneMs: number[], bins: number[] } {
  const startMs = SIM_START_MS
  const horizonMs = p.horizonDays * 24 * HOUR_MS
  const q = new EventQueue(startMs)
  const wan = new WanFluid(q, Infinity)
  const F = derived.bundleBytes(p)
  const doneMs: number[] = []
  const edgeCache = new Map<string, number[]>()
  for (const s of stores) {
    const flow = wan.add(F * s.devices.length, s.wanBps, () => { doneMs.push(q.nowMs() - startMs) })
    let open = false
    let out = false
    const upd = (): void => { wan.set(flow, open && !out) }
    let e = edgeCache.get(s.timezone)
    if (e === undefined) edgeCache.set(s.timezone, e = windowEdges(p.wanWindow, s.timezone, startMs, startMs + horizonMs))
    open = isOpen(p.wanWindow, s.timezone, startMs)
    for (const t of e) q.at(t, () => { open = isOpen(p.wanWindow, s.timezone, q.nowMs()); upd() })
    for (const [a, b] of s.outages) { q.at(a, () => { out = true; upd() }); q.at(b, () => { out = false; upd() }) }
    upd()
  }
  q.run(startMs + horizonMs)
  return { bytes: wan.totalBytes, peakBps: wan.peakBps(), doneMs, bins: wan.bins }
}
