/**
 * `npm run sim -- [--stores 10000] [--devices 20..300] [--bundle-mib 1024] [--seed 7] [--faults none|k=v,...] [--out report/]
 *   [--<any parameter> value] [--method-check <stores>] [--params]`
 *
 * Runs the fleet simulator (src/sim/) and prints the claims table, the headline
 * figures, and its own speed: simulated events per wall second, simulated seconds per
 * wall second, wall time, CPU time and peak RSS. With --out it writes report.json and
 * report.html (the same numbers; byte for byte the same for one seed) and perf.json
 * (wall and memory figures, which differ between runs).
 *
 * --faults none turns every fault off; --faults power-loss=0.05,bad-bundle=0.34,corrupt=0.05,
 * hub-crash=0.05,outages=168 sets them (outages: mean hours between, 0 = none).
 * --method-check N runs N stores' LAN both ways (full fidelity and drawn from the
 * first --fidelity-stores of them) and prints the method's error.
 * --params prints every parameter with its default, range and source.
 * --workers N runs the full-fidelity stores on N worker threads (default: one per
 * core, os.availableParallelism(); 0: in the main thread). The report does not change.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { isStoremeshError } from '../src/interface/errors.js'
import { makeFleet } from '../src/sim/fleet-setup.js'
import { SIM_START_MS } from '../src/sim/fleet.js'
import { kebab, PARAM_SPECS, parseDevicesRange, resolveParams, simulateParallel, type ParamName } from '../src/sim/index.js'
import { lanJobOf, runLanJobs, type LanOutcome } from '../src/sim/lan-pool.js'
import { LanSampler, sampleOf } from '../src/sim/lan-sampler.js'
import { checkMemory, derived, memoryEstimateBytes, type Spec, type SimParams } from '../src/sim/params.js'
import { quantiles } from '../src/sim/report.js'
import { Rng } from '../src/sim/rng.js'

const FAULT_KEYS: Record<string, ParamName> = {
  'power-loss': 'powerLossPerInstall',
  'bad-bundle': 'badBundleClassShare',
  corrupt: 'corruptPeerStoreShare',
  'hub-crash': 'hubCrashStoreShare',
  outages: 'outageMtbfHours'
}

interface Args { given: Partial<Record<ParamName, number | string>>, out?: string, methodCheck?: number, workers?: number, listParams: boolean }

function parseArgs (argv: string[]): Args {
  const given: Partial<Record<ParamName, number | string>> = {}
  const byFlag = new Map(Object.keys(PARAM_SPECS).map(k => [kebab(k), k as ParamName]))
  let out: string | undefined
  let methodCheck: number | undefined
  let workers: number | undefined
  let listParams = false
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string
    const v = (): string => {
      const x = argv[++i]
      if (x === undefined) throw new Error(`${a} needs a value`)
      return x
    }
    if (a === '--out') out = v()
    else if (a === '--params') listParams = true
    else if (a === '--method-check') methodCheck = Number(v())
    else if (a === '--workers') workers = workersOf(v())
    else if (a === '--devices') Object.assign(given, parseDevicesRange(v()))
    else if (a === '--faults') Object.assign(given, parseFaults(v()))
    else if (a.startsWith('--') && byFlag.has(a.slice(2))) given[byFlag.get(a.slice(2)) as ParamName] = v()
    else throw new Error(`unknown option ${a} (--params lists them)`)
  }
  return { given, ...(out !== undefined ? { out } : {}), ...(methodCheck !== undefined ? { methodCheck } : {}), ...(workers !== undefined ? { workers } : {}), listParams }
}

function workersOf (v: string): number {
  const n = Number(v)
  if (!Number.isInteger(n) || n < 0 || n > 256) throw new Error(`--workers must be a whole number in [0, 256], got "${v}"`)
  return n
}

function parseFaults (v: string): Partial<Record<ParamName, number | string>> {
  if (v === 'none') return { powerLossPerInstall: 0, badBundleClassShare: 0, corruptPeerStoreShare: 0, hubCrashStoreShare: 0, outageMeanMinutes: 0, superHubCrashHour: -1 }
  const out: Partial<Record<ParamName, number | string>> = {}
  for (const part of v.split(',')) {
    const [k = '', x = ''] = part.split('=')
    const name = FAULT_KEYS[k]
    if (name === undefined) throw new Error(`--faults: unknown fault "${k}" (${Object.keys(FAULT_KEYS).join(', ')}, or none)`)
    if (name === 'outageMtbfHours' && Number(x) === 0) out.outageMeanMinutes = 0
    else out[name] = x
  }
  return out
}

let peakRss = 0
const rssTimer = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss) }, 200)
rssTimer.unref()

async function methodCheck (p: SimParams, n: number, workers: number | undefined): Promise<void> {
  const q = { ...p, stores: n }
  const stores = makeFleet(q, SIM_START_MS)
  const t0 = Date.now()
  const c0 = process.cpuUsage()
  // every store at full fidelity, on the worker pool (the same results as in-thread)
  const outcomes = await runLanJobs(stores.map(lanJobOf), q, {
    ...(workers !== undefined ? { workers } : {}),
    onDone: (d, total) => { if (d % Math.max(1, Math.round(total / 10)) === 0) console.log(`  [${((Date.now() - t0) / 1000).toFixed(0)} s] ${d} of ${total} stores at full fidelity`) }
  })
  const full = stores.map(s => ({ s, o: outcomes.get(s.index) as LanOutcome }))
  const k = Math.min(q.fidelityStores, n)
  const sampler = new LanSampler(full.slice(0, k).map(({ s, o }) => sampleOf(s, q, o)))
  const rng = new Rng(q.seed).fork(0xbeef)
  const drawn = full.map(({ s, o }, i) => i < k ? o.makespanMs : sampler.draw(s, q, rng.fork(i)).makespanMs)
  const a = quantiles(full.map(x => x.o.makespanMs / 1000))
  const b = quantiles(drawn.map(x => x / 1000))
  const perStore = full.slice(k).map(({ o }, i) => Math.abs((drawn[k + i] as number) - o.makespanMs) / o.makespanMs)
  const err = (x: number, y: number): string => `${(100 * (y - x) / x).toFixed(1)}%`
  const cpu = process.cpuUsage(c0)
  console.log(`method check: ${n} stores x ${q.devicesMin}..${q.devicesMax} devices, ${Math.min(derived.chunks(q), q.fidelityMaxChunks)} chunks; LAN makespan (s) full fidelity p50 ${a.p50} p99 ${a.p99} max ${a.max}; ` +
    `drawn from the first ${k}: p50 ${b.p50} (${err(a.p50, b.p50)}) p99 ${b.p99} (${err(a.p99, b.p99)}) max ${b.max} (${err(a.max, b.max)}); ` +
    `per-store error of the ${perStore.length} drawn stores: median ${(100 * quantiles(perStore).p50).toFixed(1)}%, p99 ${(100 * quantiles(perStore).p99).toFixed(1)}%; ` +
    `${((Date.now() - t0) / 1000).toFixed(0)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(0)} s CPU`)
}

async function main (): Promise<void> {
  const args = parseArgs(process.argv.slice(2))
  if (args.listParams) {
    for (const [k, s] of Object.entries(PARAM_SPECS) as Array<[string, Spec]>) {
      const range = s.kind === 'num' ? `[${s.min}, ${s.max}]` : ''
      console.log(`--${kebab(k)}  ${String(s.def)} ${s.unit} ${range}  ${s.doc} (${s.source})`)
    }
    return
  }
  const p = resolveParams(args.given)
  checkMemory(p)
  if (args.methodCheck !== undefined) { await methodCheck(p, args.methodCheck, args.workers); return }
  console.log(`sim: ${p.stores} stores x ${p.devicesMin}..${p.devicesMax} devices, ${p.bundleMiB} MiB bundle, seed ${p.seed}; memory estimate ${(memoryEstimateBytes(p) / 2 ** 20).toFixed(0)} MiB (limit ${p.memoryLimitMiB} MiB)`)
  const t0 = Date.now()
  const c0 = process.cpuUsage()
  const sim = await simulateParallel(p, { onPhase: w => { console.log(`  [${((Date.now() - t0) / 1000).toFixed(1)} s] ${w}`) } }, args.workers !== undefined ? { workers: args.workers } : {})
  const wallMs = Date.now() - t0
  const cpu = process.cpuUsage(c0)
  peakRss = Math.max(peakRss, process.memoryUsage().rss)
  const r = sim.report as Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any
  const simSec = r.rollout.simulatedHours * 3600
  const perf = {
    wallSec: wallMs / 1000,
    cpuSec: (cpu.user + cpu.system) / 1e6,
    events: sim.events,
    eventsPerSec: Math.round(sim.events / (wallMs / 1000)),
    simulatedSec: simSec,
    simulatedSecPerWallSec: Math.round(simSec / (wallMs / 1000)),
    peakRssMiB: Math.round(peakRss / 2 ** 20),
    memoryEstimateMiB: Math.round(memoryEstimateBytes(p) / 2 ** 20)
  }
  for (const c of r.claims) console.log(`claim: ${c.claim}: seeds ${c.seeds}, simulated ${c.simulated} -> ${c.holds === true ? 'holds' : 'DOES NOT HOLD'}`)
  console.log(`WAN: storemesh ${(r.wan.storemesh.bytes / 2 ** 30).toFixed(1)} GiB peak ${r.wan.storemesh.peakMbps} Mbit/s; every device from the centre ${(r.wan.centre.bytes / 2 ** 30).toFixed(1)} GiB peak ${r.wan.centre.peakMbps} Mbit/s; hub-only = storemesh on the WAN`)
  console.log(`LAN makespan per store (s): swarm p50 ${r.lan.storemeshMakespanSec.p50} p99 ${r.lan.storemeshMakespanSec.p99} max ${r.lan.storemeshMakespanSec.max}; hub-only p50 ${r.lan.hubOnlyMakespanSec.p50} p99 ${r.lan.hubOnlyMakespanSec.p99} max ${r.lan.hubOnlyMakespanSec.max}`)
  console.log(`rollout: store makespan (h) p50 ${r.rollout.storeMakespanHours.p50} p99 ${r.rollout.storeMakespanHours.p99} max ${r.rollout.storeMakespanHours.max}; fleet ${r.rollout.fleetMakespanHours} h`)
  console.log(`installs: ${r.install.committed} committed, ${r.install.rolledBack} rolled back, ${r.install.pending} pending, ${r.install.bricked} bricked, ${r.install.powerLosses} power losses; halts ${r.install.halts.map((h: { cls: string, atHours: number }) => `${h.cls} at ${h.atHours} h`).join(', ') || 'none'}`)
  console.log(`speed: ${perf.events} events in ${perf.wallSec.toFixed(1)} s wall (${perf.cpuSec.toFixed(1)} s CPU): ${perf.eventsPerSec} events/s, ${perf.simulatedSecPerWallSec} simulated s per wall s; peak RSS ${perf.peakRssMiB} MiB (estimate ${perf.memoryEstimateMiB} MiB)`)
  if (args.out !== undefined) {
    await mkdir(args.out, { recursive: true })
    await writeFile(join(args.out, 'report.json'), sim.json)
    await writeFile(join(args.out, 'report.html'), sim.html)
    await writeFile(join(args.out, 'perf.json'), JSON.stringify(perf, null, 1) + '\n')
    console.log(`wrote ${join(args.out, 'report.json')}, report.html, perf.json`)
  }
}

try {
  await main()
} catch (err) {
  const msg = isStoremeshError(err) ? `${err.code} ${err.message}` : (err as Error).message
  process.stderr.write(`sim: ${msg}\n`)
  process.exitCode = isStoremeshError(err) ? 64 : 1
}
