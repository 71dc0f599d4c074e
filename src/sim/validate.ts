/**
 * The simulator's side of `npm run sim:validate`: one store as bench:lan runs it (a hub
 * and N devices, every node's upload capped at the same rate, downloads uncapped, the
 * bundle's own chunk sizes), through the full-fidelity LAN model, over several seeds.
 */
import type { HostCpuModel } from './host-cpu.js'
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
  /** bench:lan's processes sharing one host (measured in the run; host-cpu.ts); none: each node has a CPU of its own */
  hostCpu?: HostCpuModel
  /** when the hub's connection to each device opened (measured in the run); none: all at connectMs */
  hubConnectMs?: readonly number[]
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
    rng: new Rng(seed + 1),
    ...(s.hostCpu !== undefined ? { hostCpu: s.hostCpu } : {}),
    ...(s.hubConnectMs !== undefined ? { hubConnectMs: s.hubConnectMs } : {})
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
  /** CPU seconds of all N + 1 processes from every node ready to every device complete */
  cpuTransferSec?: number
  /** the host CPU model's inputs, measured in the run (bench/support/lan-host-cpu.ts) */
  hostCpu?: HostCpuModel
  /** hub ready -> its status first counted 1, 2, ... peers (status written every second) */
  hubPeersAtMs?: number[]
}

/**
 * The hub's connection time to each of `n` devices, from when its status first counted
 * 1, 2, ... peers; devices it was never seen to count take the last time seen (or
 * `fallbackMs` when none was).
 */
export function hubConnectSchedule (run: BenchLanRun, n: number, fallbackMs: number): number[] {
  const seen = run.hubPeersAtMs ?? []
  return Array.from({ length: n }, (_, i) => seen[Math.min(i, seen.length - 1)] ?? fallbackMs)
}

/**
 * bench:lan's output per N: the `N=4  P2P makespan 34.5 s ... hub upload 1.02 copies`
 * line, then, on its continuation lines, `hub connected to all 4 at 1.2 s`, `CPU of 5
 * processes 13.2 s total, 5.4 s after all were ready`, `duplicates: ... (3.1% of 32 MiB)`
 * and the host CPU model's inputs (`model inputs send 0.12 CPU-s/MiB, receive ...`).
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
    const cpu = /CPU of \d+ processes [\d.]+ s total, ([\d.]+) s after all were ready/.exec(line)
    if (cpu !== null) cur.cpuTransferSec = Number(cpu[1])
    const h = /model inputs send ([\d.]+) CPU-s\/MiB, receive ([\d.]+) CPU-s\/MiB, core share while runnable ([\d.]+)/.exec(line)
    if (h !== null) cur.hostCpu = { sendSecPerMiB: Number(h[1]), receiveSecPerMiB: Number(h[2]), coreShare: Number(h[3]) }
    const peers = /hub's status counted 1\.\.\d+ peers at ([\d. ]*) s/.exec(line)
    if (peers !== null) cur.hubPeersAtMs = (peers[1] ?? '').trim().split(/\s+/).filter(x => x !== '').map(x => 1000 * Number(x))
  }
  return m
}
