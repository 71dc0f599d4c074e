/**
 * The figures of a run, as one JSON-able object: every parameter with its default and
 * source, the model's stated rules, WAN against the two baselines, makespans, install
 * outcomes, the ledger over time, deciding gates, and the seeds' claims side by side.
 * Only simulated quantities: wall time and memory vary between runs of one seed, so
 * they go to perf.json (bench/sim.ts), and the same seed gives this byte for byte.
 */
import { badClasses, DEVICE_CLASSES } from './fleet-setup.js'
import { SIM_START_MS, type FleetRaw } from './fleet.js'
import { hubOnlyMs } from './lan-sampler.js'
import { derived, PARAM_SPECS, kebab, type Spec } from './params.js'

const HOUR_MS = 3_600_000
const SERIES_BIN_MIN = 10

export interface Quantiles { p50: number, p99: number, max: number, n: number }

export function quantiles (xs: readonly number[]): Quantiles {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b)
  const at = (q: number): number => s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] as number
  return { p50: round(at(0.5)), p99: round(at(0.99)), max: round(s.length === 0 ? NaN : s[s.length - 1] as number), n: s.length }
}

/** Math.max(...xs) without the spread: 500,000 devices as arguments overflow the stack (the 10,000-store run ended so) */
function maxOf (xs: readonly number[]): number {
  let m = -Infinity
  for (const x of xs) if (x > m) m = x
  return m
}

function round (x: number, digits = 3): number {
  if (!Number.isFinite(x)) return x
  const f = 10 ** digits
  return Math.round(x * f) / f
}

/** minute bins -> Mbit/s per SERIES_BIN_MIN-minute bin */
function series (bins: readonly number[]): number[] {
  const out: number[] = []
  for (let i = 0; i < bins.length; i += SERIES_BIN_MIN) {
    let b = 0
    for (let j = i; j < i + SERIES_BIN_MIN && j < bins.length; j++) b += bins[j] as number
    out.push(round(b * 8 / 1e6 / (SERIES_BIN_MIN * 60), 2))
  }
  return out
}

export interface Centre { bytes: number, peakBps: number, doneMs: number[], bins: number[] }

export function buildReport (raw: FleetRaw, centre: Centre): Record<string, unknown> {
  const { p, stores, runs } = raw
  const F = derived.bundleBytes(p)
  const devices = runs.flatMap(r => r.devices)
  const bad = badClasses(p)
  const healthy = devices.filter(d => !bad.has(d.dev.cls.name))
  const count = (pred: (d: typeof devices[number]) => boolean, of = devices): number => of.filter(pred).length
  const committed = count(d => d.outcome === 'committed')
  const committedHealthy = count(d => d.outcome === 'committed', healthy)
  const rolledBack = count(d => d.outcome === 'rolled-back')
  const bricked = count(d => d.bricked)
  const storemeshPeak = raw.wan.peakBps()
  const lanMs = runs.map(r => r.lan?.makespanMs ?? NaN)
  const fid = [...raw.lanOutcomes.entries()].filter(([, o]) => o.fidelity).map(([i, o]) => ({ s: stores[i] as (typeof stores)[number], o }))
  const haltedClasses = new Set(raw.halts.map(h => h.cls))
  // a store is done when every device has an outcome or waits on a fleet halt of its class
  const storeDone = runs.map(r => r.devices.every(d => d.terminal || haltedClasses.has(d.dev.cls.name)) && r.devices.some(d => d.terminal)
    ? maxOf(r.devices.filter(d => d.terminal).map(d => d.doneMs)) - SIM_START_MS
    : NaN)
  const fleetDone = devices.every(d => d.terminal || bad.has(d.dev.cls.name)) ? maxOf(devices.filter(d => d.terminal).map(d => d.doneMs)) - SIM_START_MS : NaN
  const successHealthy = healthy.length === 0 ? NaN : committedHealthy / healthy.length
  const maxDevices = maxOf(stores.map(s => s.devices.length))
  const params = Object.fromEntries(Object.entries(PARAM_SPECS).map(([k, s]) => {
    const spec = s as Spec
    return [k, { flag: `--${kebab(k)}`, value: (p as Record<string, unknown>)[k], default: spec.def, unit: spec.unit, source: spec.source, doc: spec.doc }]
  }))
  const peakReduction = 1 - storemeshPeak / centre.peakBps
  return {
    tool: 'storemesh fleet simulator (src/sim/)',
    seed: p.seed,
    params,
    model: {
      start: new Date(SIM_START_MS).toISOString(),
      classes: DEVICE_CLASSES.map(c => ({ ...c, badBundle: bad.has(c.name) })),
      waveRule: `the fleet plane's wave logic (src/control/waves/: planWave, selection, schedule, transition): one wave per device class from its policy; stores in batches of ${p.hubBudget} (hubBudget) by the stable store-order hash; each store pre-stages ${p.prestageHours} h (prestageHours) before its window; batch 1 installs once its stores are pre-staged, batch k+1 ${p.batchDelayMinutes} min (batchDelayMinutes) after batch k is healthy (every selected device updated or rolled back); the control plane runs the machine every ${p.reportIntervalMinutes} min on what the hubs reported`,
      haltRule: `a wave (a class) halts when its rollback ratio in the super hub's ledger passes ${p.haltOnRollbackRatio} after at least ${p.minOutcomesForHalt} outcomes (control/waves/halt.ts); hubs learn it at their next report`,
      lanMethod: `${fid.length} stores at full fidelity (every chunk through the product's picker, choker, super-seeder, upload turns and peer scorer) with the bundle cut into ${Math.min(derived.chunks(p), p.fidelityMaxChunks)} chunks` +
        `${derived.chunks(p) > p.fidelityMaxChunks ? ` (the bundle has ${derived.chunks(p)} chunks of ${p.chunkKiB} KiB; full fidelity used ${(F / p.fidelityMaxChunks / 1024 / 1024).toFixed(2)} MiB chunks, same bytes)` : ''}; ` +
        'the other stores draw makespan/bound and completion shares from the full-fidelity stores nearest in device count, scaled by their own P2P bound',
      wanModel: 'fluid flows at the store link rate while the product schedule (store time zone) is open and no outage or crash stops them; super hub egress shared max-min fairly; resumes from bytes held',
      baselines: 'centre: every device pulls the bundle from the centre over its store link in the same windows and outages, no egress cap (the demand the centre would see); hub-only: the hub pulls once over the WAN (same WAN as storemesh), then serves every device alone on the LAN',
      bricked: 'devices whose installer ends outside a terminal state; the active slot is never a write target in the transition table, so a non-zero count means a table bug'
    },
    fleet: {
      stores: stores.length,
      devices: devices.length,
      largestStore: maxDevices,
      devicesByClass: Object.fromEntries(DEVICE_CLASSES.map(c => [c.name, count(d => d.dev.cls.name === c.name)])),
      batchesPerWave: raw.waves.map(w => ({ cls: w.cls, batches: w.batches })),
      outages: stores.reduce((a, s) => a + s.outages.length, 0),
      hubCrashes: stores.filter(s => s.hubCrashMs !== undefined).length,
      corruptPeerStores: stores.filter(s => s.hasCorruptPeer).length
    },
    wan: {
      storemesh: { bytes: Math.round(raw.wan.totalBytes), peakMbps: round(storemeshPeak * 8 / 1e6, 1), hubDoneHours: quantiles(runs.map(r => (r.hubDoneMs - SIM_START_MS) / HOUR_MS)) },
      hubOnly: { bytes: Math.round(raw.wan.totalBytes), peakMbps: round(storemeshPeak * 8 / 1e6, 1), note: 'the hub pulls once either way: same WAN as storemesh' },
      centre: { bytes: Math.round(centre.bytes), peakMbps: round(centre.peakBps * 8 / 1e6, 1), storeDoneHours: quantiles(centre.doneMs.map(t => t / HOUR_MS)), storesNotDone: stores.length - centre.doneMs.length },
      bytesReductionVsCentre: round(1 - raw.wan.totalBytes / centre.bytes, 4),
      peakReductionVsCentre: round(peakReduction, 4)
    },
    lan: {
      storemeshMakespanSec: quantiles(lanMs.map(x => x / 1000)),
      hubOnlyMakespanSec: quantiles(stores.map(s => hubOnlyMs(s, p) / 1000)),
      fullFidelity: {
        stores: fid.length,
        ratioToBound: quantiles(fid.map(({ s, o }) => o.makespanMs / (1000 * Math.max(F / (p.hubLanMiBps * 1048576), s.devices.length * F / (p.hubLanMiBps * 1048576 + s.devices.reduce((a, d) => a + d.cls.upBps, 0)))))),
        hubCopies: quantiles(fid.map(({ o }) => o.hubUpBytes / F)),
        duplicateShare: quantiles(fid.map(({ s, o }) => o.wastedBytes / (s.devices.length * F))),
        badChunks: fid.reduce((a, { o }) => a + o.badChunks, 0),
        bans: fid.reduce((a, { o }) => a + o.bans, 0),
        events: fid.reduce((a, { o }) => a + o.events, 0)
      }
    },
    rollout: {
      simulatedHours: round((raw.endMs - SIM_START_MS) / HOUR_MS, 2),
      waves: raw.waves.map(w => ({
        cls: w.cls,
        phase: w.phase,
        batches: w.batches,
        batchStartHours: w.batchStartMs.map(t => round((t - SIM_START_MS) / HOUR_MS, 2)),
        batchHealthyHours: w.batchHealthyAtMs.map(t => round((t - SIM_START_MS) / HOUR_MS, 2)),
        devices: w.devices
      })),
      storeMakespanHours: quantiles(storeDone.map(x => x / HOUR_MS)),
      storesNotDone: storeDone.filter(x => !Number.isFinite(x)).length,
      fleetMakespanHours: round(fleetDone / HOUR_MS, 2)
    },
    install: {
      devices: devices.length,
      healthyClassDevices: healthy.length,
      committed,
      rolledBack,
      refused: count(d => d.outcome === 'refused'),
      pending: count(d => !d.terminal),
      pendingHealthy: count(d => !d.terminal, healthy),
      bricked,
      powerLosses: devices.reduce((a, d) => a + d.powerLosses, 0),
      successRate: round(successHealthy, 5),
      halts: raw.halts.map(h => ({ ...h, atHours: round((h.atMs - SIM_START_MS) / HOUR_MS, 2) }))
    },
    ledgerCompleteness: raw.ledger.map(([h, k, t]) => ({ hour: h, inLedger: round(k, 4), withOutcome: round(t, 4) })),
    gates: {
      finalDeciding: sortedObject(raw.finalGates),
      deferralsByDecidingGate: sortedObject(raw.deferGates),
      evaluations: raw.evaluations
    },
    events: raw.events,
    series: {
      binMinutes: SERIES_BIN_MIN,
      storemeshWanMbps: series(raw.wan.bins),
      centreWanMbps: series(centre.bins)
    },
    claims: [
      { claim: 'WAN peak vs every device pulling from the centre', seeds: '-92%', simulated: `${round(-100 * peakReduction, 1)}%`, holds: peakReduction >= 0.92 },
      { claim: 'install success', seeds: '68% -> >99%', simulated: `${round(100 * successHealthy, 2)}% of devices in classes with a good bundle`, holds: successHealthy > 0.99 },
      { claim: 'stores x devices per store, no bricking', seeds: '1,200-10,000 x 20-300, 0 bricked', simulated: `${stores.length} x ${p.devicesMin}-${p.devicesMax}, ${bricked} bricked`, holds: bricked === 0 }
    ]
  }
}

function sortedObject (m: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])))
}
