/**
 * `node --import tsx bench/sim-store.ts [--stores 1] [--devices 50] [--chunks 4096] [--seed 7] [--corrupt 0..1] [--first 0]
 *   [--swarm '{"suspectAfterMs":1e9}'] [--down-uncapped]`
 *
 * The cost of the fleet simulator's full-fidelity LAN model alone (lan-swarm.ts through
 * lan-pool.ts runLanJob, in this thread): CPU seconds per store and events per CPU
 * second, with the load average beside the wall figure, and a SHA-256 of every store's
 * result so a change meant to keep behaviour can show the same digest before and after.
 * Stores are the fleet's own (makeFleet at the seed); it prints their makespan against
 * the P2P bound, duplicate share and hub copies too (the report's fullFidelity figures).
 * --swarm overrides swarm options (constants.ts) and --down-uncapped lifts every
 * device's download cap: experiments on where a figure comes from.
 */
import { createHash } from 'node:crypto'
import { loadavg } from 'node:os'
import { makeFleet } from '../src/sim/fleet-setup.js'
import { SIM_START_MS } from '../src/sim/fleet.js'
import { lanJobOf, runLanJob } from '../src/sim/lan-pool.js'
import { lanBoundMs } from '../src/sim/lan-sampler.js'
import { derived, resolveParams } from '../src/sim/params.js'
import { quantiles } from '../src/sim/report.js'
import type { SwarmOptions } from '../src/swarm/constants.js'

const args = process.argv.slice(2)
const opt = (name: string, def: string): string => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? (args[i + 1] ?? def) : def
}
const stores = Number(opt('stores', '1'))
const first = Number(opt('first', '0'))
const devices = opt('devices', '50')
const [dMin = '50', dMax = dMin] = devices.split('..')
const p = resolveParams({
  stores: first + stores,
  devicesMin: dMin,
  devicesMax: dMax,
  fidelityMaxChunks: opt('chunks', '4096'),
  seed: opt('seed', '7'),
  corruptPeerStoreShare: opt('corrupt', '0')
})
const fleet = makeFleet(p, SIM_START_MS).slice(first)
const swarm = JSON.parse(opt('swarm', '{}')) as Partial<SwarmOptions>
const downUncapped = args.includes('--down-uncapped')
const hash = createHash('sha256')
let events = 0
let bans = 0
const ratios: number[] = []
/** against a bound that also counts each device's download cap (F/d: a 3 MiB/s scanner needs 341 s for 1 GiB) */
const ratiosDown: number[] = []
const duplicates: number[] = []
const hubCopies: number[] = []
const F = derived.bundleBytes(p)
const c0 = process.cpuUsage()
const t0 = Date.now()
for (const s of fleet) {
  const job = lanJobOf(s)
  if (downUncapped) job.downBps = job.downBps.map(() => Infinity)
  const o = runLanJob(job, p, swarm)
  events += o.events
  bans += o.bans
  ratios.push(o.makespanMs / lanBoundMs(s, p))
  ratiosDown.push(o.makespanMs / Math.max(lanBoundMs(s, p), ...s.devices.map(d => 1000 * F / d.cls.downBps)))
  duplicates.push(o.wastedBytes / (s.devices.length * F))
  hubCopies.push(o.hubUpBytes / F)
  hash.update(JSON.stringify(o))
}
const cpu = process.cpuUsage(c0)
const cpuSec = (cpu.user + cpu.system) / 1e6
const wallSec = (Date.now() - t0) / 1000
console.log(`sim-store: ${fleet.length} store(s) from ${first} x ${devices} devices, ${p.fidelityMaxChunks} chunks, seed ${p.seed}, corrupt share ${p.corruptPeerStoreShare}` +
  `${downUncapped ? ', downloads uncapped' : ''}${Object.keys(swarm).length > 0 ? `, swarm ${JSON.stringify(swarm)}` : ''}: ` +
  `${(cpuSec / fleet.length).toFixed(2)} CPU-s per store, ${events} events (${Math.round(events / cpuSec)} per CPU-s), ${bans} bans; ` +
  `${wallSec.toFixed(1)} s wall at load ${loadavg().map(x => x.toFixed(1)).join(' ')}; digest ${hash.digest('hex').slice(0, 16)}`)
const q = (xs: number[]): string => { const x = quantiles(xs); return `p50 ${x.p50} max ${x.max}` }
console.log(`  makespan / P2P bound ${q(ratios)} (/ the bound with download caps ${q(ratiosDown)}); duplicate share of the bytes delivered ${q(duplicates)}; hub copies ${q(hubCopies)}`)
