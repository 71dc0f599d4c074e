/**
 * The fleet run: draws the fleet, runs the full-fidelity LAN stores, then every store
 * and device on one simulated clock with the super hub (egress cap, crash, waves,
 * halts, ledger), and returns the figures (report.ts shapes them). Deterministic: no
 * wall clock, no I/O; wall time and memory are measured by the caller.
 *
 * The super hub's wave rule (stated; the fleet plane's wave logic is not on this
 * branch): wave 1 opens at the start; wave k+1 opens once wave k has been open
 * waveDelayHours and 95% of its devices' outcomes (or its halted classes) are in the
 * super hub's ledger. A class whose rollback ratio in the ledger passes
 * haltOnRollbackRatio (over at least HALT_MIN_OUTCOMES outcomes) is halted fleet-wide;
 * hubs learn orders at their next report.
 */
import type { Decision } from '../interface/types.js'
import { isOpen, windowEdges } from '../time/index.js'
import type { DeviceRun } from './device-run.js'
import { EventQueue } from './event-queue.js'
import { badClasses, makeFleet, type SimStore } from './fleet-setup.js'
import { LanSampler, runFidelity, sampleOf, type LanOutcome } from './lan-sampler.js'
import { checkMemory, derived, type SimParams } from './params.js'
import { Rollouts } from './sim-policy.js'
import { StoreRun, type Orders } from './store-run.js'
import { WanFluid } from './wan-fluid.js'

const HOUR_MS = 3_600_000
const MINUTE_MS = 60_000
/** a class is judged on at least this many outcomes */
export const HALT_MIN_OUTCOMES = 10
/** share of a wave's devices whose outcome must be in the ledger before the next opens */
export const WAVE_NEXT_SHARE = 0.95
/** the simulated start: a fixed instant, so a run never reads the wall clock */
export const SIM_START_MS = Date.UTC(2026, 11, 1, 0, 0, 0)

export interface Halt { cls: string, atMs: number, committed: number, rolledBack: number }

export interface FleetRaw {
  p: SimParams
  stores: SimStore[]
  runs: StoreRun[]
  lanOutcomes: Map<number, LanOutcome>
  wan: WanFluid
  halts: Halt[]
  waveOpenMs: number[]
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

  // ---- super hub: ledger, waves, halts -----------------------------------------------
  let superUp = true
  let openWave = 1
  const waveOpenMs = [startMs]
  const halted = new Set<string>()
  const halts: Halt[] = []
  const byClass = new Map<string, { committed: number, rolledBack: number }>()
  const waveDevices = [0, 0, 0, 0]
  const waveKnown = [0, 0, 0, 0]
  const classTotal = new Map<string, number>()
  const classTerminal = new Map<string, number>()
  const waveClass = new Map<string, number>()
  let known = 0
  let terminal = 0
  let total = 0
  for (const s of stores) {
    for (const d of s.devices) {
      total++
      waveDevices[s.wave] = (waveDevices[s.wave] ?? 0) + 1
      classTotal.set(d.cls.name, (classTotal.get(d.cls.name) ?? 0) + 1)
      waveClass.set(`${s.wave}|${d.cls.name}`, (waveClass.get(`${s.wave}|${d.cls.name}`) ?? 0) + 1)
    }
  }
  let orders: Orders = { openWave, halted: new Set(halted) }
  const finalGates = new Map<string, number>()
  const deferGates = new Map<string, number>()
  let evaluations = 0

  const haltedOutstanding = (): number => [...halted].reduce((a, c) => a + (classTotal.get(c) ?? 0) - (classTerminal.get(c) ?? 0), 0)
  const waveSettled = (w: number): number => {
    let settledHalted = 0
    for (const c of halted) settledHalted += waveClass.get(`${w}|${c}`) ?? 0
    return (waveKnown[w] ?? 0) + settledHalted
  }
  const maybeOpenWave = (): void => {
    const now = q.nowMs()
    while (openWave < 3) {
      const w = openWave
      if (now < (waveOpenMs[w - 1] as number) + p.waveDelayHours * HOUR_MS) return
      if (waveSettled(w) < WAVE_NEXT_SHARE * (waveDevices[w] ?? 0)) return
      openWave++
      waveOpenMs.push(now)
      orders = { openWave, halted: new Set(halted) }
    }
  }

  const report = (_store: StoreRun, outcomes: DeviceRun[]): Orders => {
    for (const d of outcomes) {
      known++
      waveKnown[d.dev.store >= 0 ? (stores[d.dev.store] as SimStore).wave : 0]++
      const c = byClass.get(d.dev.cls.name) ?? { committed: 0, rolledBack: 0 }
      if (d.outcome === 'committed') c.committed++
      if (d.outcome === 'rolled-back') c.rolledBack++
      byClass.set(d.dev.cls.name, c)
      const n = c.committed + c.rolledBack
      if (!halted.has(d.dev.cls.name) && n >= HALT_MIN_OUTCOMES && c.rolledBack / n > p.haltOnRollbackRatio) {
        halted.add(d.dev.cls.name)
        halts.push({ cls: d.dev.cls.name, atMs: q.nowMs(), committed: c.committed, rolledBack: c.rolledBack })
        orders = { openWave, halted: new Set(halted) }
      }
    }
    maybeOpenWave()
    return orders
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
  for (const r of runs) r.start()

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
  q.run(startMs + horizonMs, () => known === terminal && terminal + haltedOutstanding() >= total)
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
    halts,
    waveOpenMs,
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
