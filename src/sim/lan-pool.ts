/**
 * Full-fidelity LAN stores on every core: one pool of worker threads
 * (os.availableParallelism() by default), each running whole stores through
 * lan-swarm.ts. A store is a job of plain data (its rates, its corrupt peer, its PRNG
 * seed), so a worker needs neither the fleet nor the parameters beyond the LAN's.
 *
 * Deterministic whatever the workers' timing: a store's result depends only on its
 * job, jobs go to whichever worker is free, and the results are merged in store-index
 * order once all are in. The report of a seed is the same byte for byte with one
 * worker, with eight, or in-thread (test/unit/sim/lan-pool.test.ts).
 */
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { StoremeshError } from '../interface/errors.js'
import type { SwarmOptions } from '../swarm/constants.js'
import type { SimStore } from './fleet-setup.js'
import { simulateLanSwarm } from './lan-swarm.js'
import type { LanSwarmResult } from './lan-swarm-types.js'
import { derived, type SimParams } from './params.js'
import { Rng } from './rng.js'

/** a store's LAN round: the swarm's result (full fidelity) or one drawn from a sample, which says which */
export type LanOutcome = LanSwarmResult & { fidelity: boolean }

/** One store's LAN swarm as plain data (what crosses to a worker). */
export interface LanJob {
  index: number
  upBps: number[]
  downBps: number[]
  corrupt: boolean
  /** the store's PRNG seed: the swarm draws from its fork 0x1a2, as in-thread */
  seed: number
}

/** The parameters a LAN job reads (the rest of SimParams stays on the main thread). */
export type LanParams = Pick<SimParams, 'bundleMiB' | 'chunkKiB' | 'fidelityMaxChunks' | 'hubLanMiBps' | 'lanLatencyMs' | 'lanConnectMs'>

export function lanParamsOf (p: LanParams): LanParams {
  const { bundleMiB, chunkKiB, fidelityMaxChunks, hubLanMiBps, lanLatencyMs, lanConnectMs } = p
  return { bundleMiB, chunkKiB, fidelityMaxChunks, hubLanMiBps, lanLatencyMs, lanConnectMs }
}

export function lanJobOf (store: SimStore): LanJob {
  return {
    index: store.index,
    upBps: store.devices.map(d => d.cls.upBps),
    downBps: store.devices.map(d => d.cls.downBps),
    corrupt: store.hasCorruptPeer,
    seed: store.rng.seed
  }
}

/** One store at full fidelity, in this thread (`options`: swarm options other than the product's defaults, for experiments: bench/sim-store.ts). */
export function runLanJob (job: LanJob, p: LanParams, options?: Partial<SwarmOptions>): LanOutcome {
  const rates = [...job.upBps, ...job.downBps]
  // a rate of zero or NaN would never finish: refused, not run to the horizon
  if (job.upBps.length !== job.downBps.length || rates.some(r => !(r > 0))) {
    throw new StoremeshError('E_SIM_PARAM', `store ${job.index}: every device needs an upload and a download rate above 0 bytes/s`, { store: job.index })
  }
  const F = derived.bundleBytes(p as SimParams)
  const chunks = Math.min(derived.chunks(p as SimParams), p.fidelityMaxChunks)
  const size = Math.ceil(F / chunks)
  const sizes = Array.from({ length: chunks }, (_, i) => i < chunks - 1 ? size : F - size * (chunks - 1))
  const r = simulateLanSwarm({
    pieceSizes: sizes,
    hubUpBytesPerSec: p.hubLanMiBps * 1024 * 1024,
    deviceUpBytesPerSec: job.upBps,
    deviceDownBytesPerSec: job.downBps,
    latencyMs: p.lanLatencyMs,
    connectMs: p.lanConnectMs,
    corruptPeers: job.corrupt ? 1 : 0,
    rng: new Rng(job.seed).fork(0x1a2),
    ...(options !== undefined ? { options } : {})
  })
  return { ...r, fidelity: true }
}

export interface PoolOptions {
  /** worker threads; 0 runs every job in this thread @default os.availableParallelism() */
  workers?: number
  /** called as each job finishes (in finishing order: progress only) */
  onDone?: (done: number, total: number) => void
}

/** Message from a worker: one job's result, or its failure. */
export type WorkerReply = { index: number, outcome: LanOutcome } | { index: number, error: string }

/** Runs every job, on a pool of workers; the map's order is the jobs' index order. */
export async function runLanJobs (jobs: readonly LanJob[], p: LanParams, opts: PoolOptions = {}): Promise<Map<number, LanOutcome>> {
  const want = opts.workers ?? availableParallelism()
  const byIndex = new Map<number, LanOutcome>()
  if (want <= 0 || jobs.length === 0) {
    jobs.forEach((j, k) => { byIndex.set(j.index, runLanJob(j, p)); opts.onDone?.(k + 1, jobs.length) })
    return byIndex
  }
  const lp = lanParamsOf(p)
  // the worker's source: .ts under tsx (bench, tests), .js once built
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js'
  const url = new URL(`./lan-worker${ext}`, import.meta.url)
  // Under tsx the worker registers tsx's loader itself, then imports its source: the
  // parent's --import modules (the test runner's, the libp2p polyfill, tsx) run in a
  // worker before tsx's hooks are active there and fail on .ts ("Unknown file extension").
  const start = (): Worker => ext === '.ts'
    ? new Worker(`import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then(m => { m.register(); return import(${JSON.stringify(url.href)}) })`, { eval: true, execArgv: [] })
    : new Worker(url, { execArgv: [] })
  let next = 0
  let done = 0
  const workers: Worker[] = []
  try {
    await new Promise<void>((resolve, reject) => {
      const feed = (w: Worker): void => {
        const job = jobs[next++]
        if (job === undefined) return
        w.postMessage({ job, p: lp })
      }
      const n = Math.min(want, jobs.length)
      for (let k = 0; k < n; k++) {
        const w = start()
        workers.push(w)
        w.on('message', (m: WorkerReply) => {
          if ('error' in m) { reject(new Error(`lan worker: store ${m.index}: ${m.error}`)); return }
          byIndex.set(m.index, m.outcome)
          opts.onDone?.(++done, jobs.length)
          if (done === jobs.length) resolve()
          else feed(w)
        })
        w.on('error', reject)
        w.on('exit', code => { if (done < jobs.length && code !== 0) reject(new Error(`lan worker exited with code ${code}`)) })
        feed(w)
      }
    })
  } finally {
    await Promise.all(workers.map(async w => await w.terminate()))
  }
  // merged in store order: nothing downstream sees which worker finished first
  const ordered = new Map<number, LanOutcome>()
  for (const j of jobs) ordered.set(j.index, byIndex.get(j.index) as LanOutcome)
  return ordered
}
