/**
 * The simulator's side of `npm run sim:validate`: one store as bench:lan runs it (a hub
 * and N devices, every node's upload capped at the same rate, downloads uncapped, the
 * bundle's own chunk sizes), through the full-fidelity LAN model, over several seeds.
 */
import { simulateLanSwarm } from './lan-swarm.js'
import { Rng } from './rng.js'

export interface BenchStore {
  n: number
  pieceSizes: readonly number[]
  rateBytesPerSec: number
  /** from the hub's ready line until it is connected to every device */
  connectMs: number
  latencyMs: number
  seeds: number
}

export interface BenchStoreResult {
  makespanMs: number
  hubCopies: number
  perSeedMs: number[]
  /** bytes received twice or refused, share of the N copies delivered (bench:lan's duplicates line) */
  duplicateShare: number
}

export function simulateBenchStore (s: BenchStore): BenchStoreResult {
  const F = s.pieceSizes.reduce((a, b) => a + b, 0)
  const runs = Array.from({ length: s.seeds }, (_, seed) => simulateLanSwarm({
    pieceSizes: s.pieceSizes,
    hubUpBytesPerSec: s.rateBytesPerSec,
    deviceUpBytesPerSec: Array(s.n).fill(s.rateBytesPerSec),
    deviceDownBytesPerSec: Array(s.n).fill(Infinity),
    latencyMs: s.latencyMs,
    connectMs: s.connectMs,
    corruptPeers: 0,
    rng: new Rng(seed + 1)
  }))
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length
  return {
    makespanMs: mean(runs.map(r => r.makespanMs)),
    hubCopies: mean(runs.map(r => r.hubUpBytes / F)),
    duplicateShare: mean(runs.map(r => r.wastedBytes / (s.n * F))),
    perSeedMs: runs.map(r => r.makespanMs)
  }
}

export interface BenchLanRun {
  makespanMs: number
  hubCopies: number
  /** hub ready -> its status counted all N devices (undefined when the line lacks it) */
  connectMs?: number
  /** duplicates, share of the N copies delivered */
  duplicateShare?: number
}

/**
 * bench:lan's output per N: the `N=4  P2P makespan 34.5 s ... hub upload 1.02 copies`
 * line, then, on its continuation lines, `hub connected to all 4 at 1.2 s` and
 * `duplicates: ... (3.1% of 32 MiB)`.
 */
export function parseBenchLan (out: string): Map<number, BenchLanRun> {
  const m = new Map<number, BenchLanRun>()
  let cur: BenchLanRun | undefined
  for (const line of out.split('\n')) {
    const x = /^N=(\d+)\s+P2P makespan ([\d.]+) s.*hub upload ([\d.]+) copies/.exec(line)
    if (x !== null) {
      cur = { makespanMs: 1000 * Number(x[2]), hubCopies: Number(x[3]) }
      m.set(Number(x[1]), cur)
      continue
    }
    if (cur === undefined) continue
    const c = /hub connected to all \d+ at ([\d.]+) s/.exec(line)
    if (c !== null) cur.connectMs = 1000 * Number(c[1])
    const d = /^\s+duplicates: .*\(([\d.]+)% of /.exec(line)
    if (d !== null) cur.duplicateShare = Number(d[1]) / 100
  }
  return m
}
