/**
 * The fleet model's parameters: one table with each default, its unit, its range and
 * where the figure comes from, so the report can print all of them and a bad value is
 * refused naming the parameter and the range (E_SIM_PARAM). A run whose memory
 * estimate passes the limit is refused before it starts (E_SIM_MEMORY).
 *
 * Sources: "seeds" are the retail rollout write-ups the project's claims come from
 * (1,200–10,000 stores of 20–300 devices, nightly maintenance windows, a 5% rollback
 * halt); "design" is DESIGN.md and the product defaults it names; "assumed" marks a
 * figure nobody measured for us, chosen to be ordinary for a store and stated here.
 */
import { StoremeshError } from '../interface/errors.js'
import { isValidTimezone, parseWindow, windowEdges } from '../time/index.js'

const MiB = 1024 * 1024
const MBIT = 1e6 / 8

export interface NumSpec { kind: 'num', def: number, min: number, max: number, unit: string, source: string, doc: string, int?: boolean }
export interface StrSpec { kind: 'str', def: string, unit: string, source: string, doc: string, check: (v: string) => string | undefined }
export type Spec = NumSpec | StrSpec

const num = (def: number, min: number, max: number, unit: string, source: string, doc: string, int = false): NumSpec =>
  ({ kind: 'num', def, min, max, unit, source, doc, int })

/** Every parameter, in the order the report prints them. */
export const PARAM_SPECS = {
  stores: num(1200, 1, 100_000, 'stores', 'seeds: 1,200–10,000', 'stores in the fleet', true),
  devicesMin: num(20, 1, 10_000, 'devices', 'seeds: 20–300 per store', 'smallest store', true),
  devicesMax: num(300, 1, 10_000, 'devices', 'seeds: 20–300 per store', 'largest store (sizes uniform between)', true),
  bundleMiB: num(1024, 1, 65_536, 'MiB', 'issue #18', 'bundle size'),
  chunkKiB: num(256, 16, 1024, 'KiB', 'design: FastCDC average 256 KiB', 'chunk size (fixed in the model)'),
  seed: num(7, 0, 2 ** 32 - 1, '', 'issue #18', 'PRNG seed: same seed, same report', true),
  fidelityStores: num(200, 0, 100_000, 'stores', 'issue #18: at least 200', 'stores whose LAN runs through the real picker, choker and super-seeder'),
  fidelityMaxChunks: num(256, 8, 1_000_000, 'chunks', 'measured: a 50-device store costs ~4 CPU-s at 256, far more at 4,096 (README)', 'full-fidelity stores run the bundle cut into at most this many chunks (same bytes, larger chunks); the report says when it applied', true),
  superHubEgressGbit: num(10, 0.001, 10_000, 'Gbit/s', 'assumed: one 10 GbE uplink', 'super hub egress cap (global WAN limit)'),
  wanMedianMbit: num(50, 0.1, 10_000, 'Mbit/s', 'assumed: retail broadband', 'store WAN rate, median of a log-normal'),
  wanSigma: num(0.6, 0, 3, 'ln', 'assumed', 'store WAN rate, sigma of its logarithm'),
  wanWindow: { kind: 'str', def: '00:30-03:30', unit: 'local time', source: 'design section 5', doc: 'store hub WAN window in the store time zone', check: checkWindow } as StrSpec,
  maintenanceWindow: { kind: 'str', def: '02:00-04:00', unit: 'local time', source: 'design section 7 (daily here)', doc: 'install window in the store time zone (policy schedule.maintenanceWindow)', check: checkWindow } as StrSpec,
  timezones: { kind: 'str', def: 'America/New_York:47,America/Chicago:29,America/Denver:7,America/Los_Angeles:17', unit: 'zone:weight', source: 'assumed: US population shares', doc: 'store time zones and their shares', check: checkZones } as StrSpec,
  outageMtbfHours: num(168, 0.1, 1e6, 'h', 'assumed: one a week', 'WAN outages: mean time between (exponential)'),
  outageMeanMinutes: num(60, 0, 1e5, 'min', 'assumed', 'WAN outages: mean length (exponential)'),
  hubLanMiBps: num(10, 0.01, 10_000, 'MiB/s', 'assumed: 100 Mbit/s LAN port', 'store hub LAN upload cap'),
  lanLatencyMs: num(1, 0, 10_000, 'ms', 'assumed: switched LAN', 'one-way LAN message latency'),
  lanConnectMs: num(500, 0, 600_000, 'ms', 'bench:lan: discovery and dials', 'from hub ready until it is connected to every device'),
  batteryShare: num(0.3, 0, 1, 'share', 'assumed: handhelds', 'devices on battery (the scanner class)'),
  minBattery: num(40, 0, 100, '%', 'design section 7 policy example', 'policy guardrails.minBattery'),
  chargePctPerHour: num(15, 0, 100, '%/h', 'assumed: overnight cradle', 'battery charge rate while deferred'),
  maxConcurrentPerHub: num(5, 1, 10_000, 'devices', 'design section 7 policy example', 'policy rollout.maxConcurrentPerHub (the lease cap)', true),
  haltOnRollbackRatio: num(0.05, 0, 1, 'ratio', 'design section 7 policy example', 'policy rollout.haltOnRollbackRatio'),
  diskWriteMiBps: num(40, 0.1, 100_000, 'MiB/s', 'assumed: eMMC', 'slot write rate'),
  bootSeconds: num(90, 1, 3600, 's', 'assumed', 'one reboot'),
  healthSeconds: num(120, 1, 86_400, 's', 'design: healthCheck.timeoutSeconds 120', 'trial health check'),
  powerLossPerInstall: num(0.02, 0, 1, 'probability', 'assumed: store power cuts', 'power lost once during an install'),
  badBundleClassShare: num(0.34, 0, 1, 'share of classes', 'issue #18', 'device classes whose bundle fails its health check'),
  corruptPeerStoreShare: num(0.05, 0, 1, 'share of stores', 'assumed', 'stores with one peer serving bad chunks (full-fidelity stores)'),
  hubCrashStoreShare: num(0.05, 0, 1, 'share of stores', 'assumed', 'store hubs that crash once during the rollout'),
  hubDownMinutes: num(20, 0, 10_000, 'min', 'assumed', 'store hub and super hub restart time'),
  superHubCrashHour: num(6, -1, 10_000, 'h', 'assumed', 'super hub crash this long after start (-1: none)'),
  hubBudget: num(2500, 1, 100_000, 'stores', 'assumed: a 10,000-store fleet in 4 batches', 'policy targets.hubBudget: stores per batch of a wave (src/control/waves/)', true),
  batchDelayMinutes: num(15, 0, 7 * 24 * 60, 'min', 'design section 7 policy example', 'policy rollout.batchDelayMinutes: after a batch is healthy, before the next'),
  prestageHours: num(48, 0, 24 * 90, 'h', 'design section 7 policy example', 'policy schedule.prestageHours: WAN pre-staging before the install window'),
  minOutcomesForHalt: num(10, 1, 10_000_000, 'devices', 'assumed (the policy schema\'s default is 1)', 'policy rollout.minOutcomesForHalt: outcomes before the rollback ratio may halt a wave', true),
  reportIntervalMinutes: num(15, 0.1, 10_000, 'min', 'design: orders recheck 15 min', 'hub report to the super hub'),
  horizonDays: num(21, 1, 365, 'days', 'assumed', 'simulated time limit'),
  memoryLimitMiB: num(4096, 64, 1_048_576, 'MiB', 'issue #18: 4 GiB', 'refuse runs whose estimate is above this')
} satisfies Record<string, Spec>

export type ParamName = keyof typeof PARAM_SPECS
type ValueOf<S> = S extends NumSpec ? number : string
export type SimParams = { [K in ParamName]: ValueOf<(typeof PARAM_SPECS)[K]> }

export function defaultParams (): SimParams {
  return Object.fromEntries(Object.entries(PARAM_SPECS).map(([k, s]) => [k, s.def])) as SimParams
}

function checkWindow (v: string): string | undefined {
  try {
    const w = parseWindow(v)
    // a window that never opens (zero length) is refused: nothing would ever install
    const day = 24 * 3600_000
    if (windowEdges(w, 'UTC', Date.UTC(2026, 0, 5), Date.UTC(2026, 0, 5) + 8 * day).length === 0) return 'never opens'
  } catch (err) {
    return (err as Error).message
  }
  return undefined
}

export function parseZones (v: string): Array<{ weight: number, value: string }> {
  return v.split(',').map(part => {
    const [zone = '', w = ''] = part.trim().split(':')
    return { value: zone, weight: Number(w) }
  })
}

function checkZones (v: string): string | undefined {
  const zones = parseZones(v)
  for (const z of zones) {
    if (!isValidTimezone(z.value)) return `${z.value} is not an IANA time zone`
    if (!(Number.isFinite(z.weight) && z.weight > 0)) return `weight of ${z.value} must be a positive number`
  }
  return zones.length > 0 ? undefined : 'no zone'
}

function bad (name: string, msg: string): StoremeshError {
  return new StoremeshError('E_SIM_PARAM', `--${kebab(name)}: ${msg}`, { param: name })
}

export function kebab (name: string): string {
  return name.replace(/([MK])iB/g, '$1ib').replace(/[A-Z]/g, c => '-' + c.toLowerCase())
}

/** Defaults overlaid with `given`; every value checked against its range. */
export function resolveParams (given: Partial<Record<ParamName, number | string>>): SimParams {
  const out = defaultParams() as Record<string, number | string>
  for (const [k, v] of Object.entries(given)) {
    const spec = (PARAM_SPECS as Record<string, Spec>)[k]
    if (spec === undefined) throw bad(k, 'unknown parameter')
    if (v === undefined) continue
    if (spec.kind === 'num') {
      const x = typeof v === 'number' ? v : Number(v)
      if (!Number.isFinite(x) || x < spec.min || x > spec.max || (spec.int === true && !Number.isInteger(x))) {
        throw bad(k, `must be ${spec.int === true ? 'an integer' : 'a number'} in [${spec.min}, ${spec.max}] ${spec.unit}, got ${String(v)}`)
      }
      out[k] = x
    } else {
      const why = spec.check(String(v))
      if (why !== undefined) throw bad(k, `${why} (got "${String(v)}")`)
      out[k] = String(v)
    }
  }
  const p = out as SimParams
  if (p.devicesMin > p.devicesMax) throw bad('devicesMin', `must be at most devicesMax (${p.devicesMax}), got ${p.devicesMin}`)
  return p
}

/** `20..300` or `50`: the devices range of the command line. */
export function parseDevicesRange (v: string): { devicesMin: number, devicesMax: number } {
  const m = /^\s*(\d+)\s*(?:\.\.\s*(\d+)\s*)?$/.exec(v)
  if (m === null) throw bad('devices', `must be N or MIN..MAX with whole numbers, got "${v}"`)
  const lo = Number(m[1])
  return { devicesMin: lo, devicesMax: m[2] === undefined ? lo : Number(m[2]) }
}

// ---- derived figures -------------------------------------------------------------

export const derived = {
  bundleBytes: (p: SimParams): number => Math.round(p.bundleMiB * MiB),
  chunkBytes: (p: SimParams): number => p.chunkKiB * 1024,
  chunks: (p: SimParams): number => Math.ceil(p.bundleMiB * MiB / (p.chunkKiB * 1024)),
  egressBps: (p: SimParams): number => p.superHubEgressGbit * 1000 * MBIT,
  wanMedianBps: (p: SimParams): number => p.wanMedianMbit * MBIT
}

/**
 * Bytes the run will hold at its peak: per device and per store state, plus the
 * largest full-fidelity swarm (each node's picker keeps a bitfield per peer, so it
 * grows with devices squared times chunks). Rounded-up allowances, not measurements:
 * a device's record, its timers and decisions (5 KiB: a 1,000-store x 50-device run
 * peaked at 372 MiB, 4.5 KiB a device over the process), a store with its lease table,
 * schedule and outage list (8 KiB), the process itself (150 MiB). bench/sim.ts prints
 * the estimate beside the measured peak RSS of each run.
 */
export function memoryEstimateBytes (p: SimParams): number {
  const meanDevices = (p.devicesMin + p.devicesMax) / 2
  const devices = p.stores * meanDevices
  const chunks = Math.min(derived.chunks(p), p.fidelityMaxChunks)
  const n = p.devicesMax
  const swarm = p.fidelityStores > 0 ? (n + 2) * (n + 2) * (chunks / 8 + 64) * 2 + (n + 2) * chunks * 64 : 0
  return 150 * MiB + p.stores * 8 * 1024 + devices * 5 * 1024 + swarm
}

export function checkMemory (p: SimParams): number {
  const est = memoryEstimateBytes(p)
  if (est > p.memoryLimitMiB * MiB) {
    throw new StoremeshError('E_SIM_MEMORY',
      `refused before start: the run needs about ${(est / MiB).toFixed(0)} MiB, over --memory-limit-mib ${p.memoryLimitMiB} ` +
      `(${p.stores} stores x ${p.devicesMin}..${p.devicesMax} devices); use fewer stores or devices`,
      { estimateMiB: Math.round(est / MiB), limitMiB: p.memoryLimitMiB })
  }
  return est
}
