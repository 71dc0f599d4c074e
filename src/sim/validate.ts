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

export interface BenchStoreResult { makespanMs: number, hubCopies: number, perSeedMs: number[] }

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
    perSeedMs: runs.map(r => r.makespanMs)
  }
}

/** `N=4  P2P makespan 34.5 s ... hub upload 1.02 copies` lines of bench:lan's output. */
export function parseBenchLan (out: string): Map<number, { makespanMs: number, hubCopies: number }> {
  const m = new Map<number, { makespanMs: number, hubCopies: number }>()
  for (const line of out.split('\n')) {
    const x = /^N=(\d+)\s+P2P makespan ([\d.]+) s.*hub upload ([\d.]+) copies/.exec(line)
    if (x !== null) m.set(Number(x[1]), { makespanMs: 1000 * Number(x[2]), hubCopies: Number(x[3]) })
  }
  return m
}
