/**
 * Store LAN makespans two ways.
 *
 * Full fidelity (the first `fidelityStores` stores, a random sample since stores are
 * drawn at random): the store's own hub, devices and rates through lan-swarm.ts,
 * every chunk through the real picker.
 *
 * Drawn (every other store): the method. A full-fidelity store gives its makespan as
 * a ratio r = makespan / bound, with bound = max(F/u_hub, N·F/(u_hub + Σu_dev)) the
 * P2P lower bound from its own rates, and each device's completion as a share of the
 * makespan. A drawn store with N devices takes r and the shares from a full-fidelity
 * store picked at random among those whose N is nearest to its own (the 20% nearest
 * in log N, at least 5), and scales them by its own bound. The error of the method is
 * measured by running the same stores both ways (bench/sim.ts --method-check).
 */
import type { SimStore } from './fleet-setup.js'
import { lanJobOf, runLanJob, type LanOutcome } from './lan-pool.js'
import { derived, type SimParams } from './params.js'
import type { Rng } from './rng.js'

export type { LanOutcome } from './lan-pool.js'

export interface LanSample { n: number, ratio: number, shares: number[], hubCopies: number }

export function lanBoundMs (store: SimStore, p: SimParams): number {
  const F = derived.bundleBytes(p)
  const uHub = p.hubLanMiBps * 1024 * 1024
  const sumDev = store.devices.reduce((a, d) => a + d.cls.upBps, 0)
  const n = store.devices.length
  return 1000 * Math.max(F / uHub, n * F / (uHub + sumDev))
}

/** The hub alone serving every device (hub-only caching, no LAN swarm). */
export function hubOnlyMs (store: SimStore, p: SimParams): number {
  return 1000 * store.devices.length * derived.bundleBytes(p) / (p.hubLanMiBps * 1024 * 1024) + p.lanConnectMs
}

/** One store at full fidelity, in this thread (lan-pool.ts runs many on every core). */
export function runFidelity (store: SimStore, p: SimParams): LanOutcome {
  return runLanJob(lanJobOf(store), p)
}

export function sampleOf (store: SimStore, p: SimParams, lan: LanOutcome): LanSample {
  const bound = lanBoundMs(store, p)
  const span = Math.max(1, lan.makespanMs)
  return { n: store.devices.length, ratio: lan.makespanMs / bound, shares: lan.doneMs.map(t => t / span), hubCopies: lan.hubUpBytes / derived.bundleBytes(p) }
}

export class LanSampler {
  readonly #byN: LanSample[]

  constructor (samples: LanSample[]) {
    if (samples.length === 0) throw new Error('lan sampler: no full-fidelity store to draw from')
    this.#byN = [...samples].sort((a, b) => a.n - b.n || a.ratio - b.ratio)
  }

  get size (): number {
    return this.#byN.length
  }

  draw (store: SimStore, p: SimParams, rng: Rng): LanOutcome {
    const n = store.devices.length
    const k = Math.max(Math.min(5, this.#byN.length), Math.ceil(this.#byN.length * 0.2))
    // every sample as near as the k-th nearest, ties included: cutting a tie at k kept
    // the lowest ratios (#byN is sorted by ratio within one N), so at one store size the
    // draw came from the fastest fifth (the 100-store method check: p50 -27%)
    const dist = (a: LanSample): number => Math.abs(Math.log(a.n / n))
    const kth = dist([...this.#byN].sort((a, b) => dist(a) - dist(b))[k - 1] as LanSample)
    const near = this.#byN.filter(a => dist(a) <= kth)
    const s = near[Math.floor(rng.next() * near.length)] as LanSample
    const makespanMs = s.ratio * lanBoundMs(store, p)
    // the sample's completion shares, resampled to this store's N by rank
    const sorted = [...s.shares].sort((a, b) => a - b)
    const order = store.devices.map((_, i) => ({ i, k: rng.next() })).sort((a, b) => a.k - b.k)
    const doneMs = new Array<number>(n)
    order.forEach(({ i }, rank) => {
      const q = n === 1 ? 1 : rank / (n - 1)
      doneMs[i] = makespanMs * (sorted[Math.round(q * (sorted.length - 1))] ?? 1)
    })
    const F = derived.bundleBytes(p)
    return { makespanMs, doneMs, hubUpBytes: s.hubCopies * F, lanBytes: n * F, wastedBytes: 0, badChunks: 0, bans: 0, events: 0, fidelity: false }
  }
}
