/**
 * Rate limiters on payload bytes, alone or in a hierarchy (store hubs' limits under
 * the super hub's global limit, like tc's HTB classes), built on TokenBucket
 * (token-bucket.ts explains why a bucket and not GCRA).
 *
 * Slicing: acquire(bytes) cuts a request into slices of a quarter of the smallest
 * burst on its path (25 ms at its rate by default) and waits for each slice in turn,
 * so a 1 MiB chunk at 1 Mbit/s goes out as ~3 KiB every 25 ms, not at once followed
 * by eight silent seconds.
 *
 * Hierarchy without double waiting: a slice that must pass [hub, global] first waits
 * in the hub's queue until the hub's bucket holds enough, then joins the global
 * queue while it keeps the hub's turn (the hub's later slices wait behind it, which
 * is their order anyway). Nothing is taken until the global bucket has enough too;
 * then the slice takes from every bucket on its path in one synchronous step. So
 * waits overlap instead of adding up, no bucket pays for bytes that have not gone
 * out, and a paused or slow hub never holds up the others at the global level: it
 * only joins the global queue once its own bucket is ready. If a lower bucket stops
 * being ready while the slice waits higher up (its rate was cut or paused), the
 * slice steps back down.
 *
 * Sharing: each limiter orders its queue with the FairScheduler of priority.ts, the
 * flows being the child limiters the slices come from (all direct callers of a
 * limiter form one flow, served first come, first served). So critical hubs go
 * first, the rest share by weight per byte, and a hub held below its fair share by
 * its own limit gets all of its own limit: with FIFO order a hub cut to small slices
 * by a low limit would queue behind the big slices of fast hubs and get far less.
 *
 * Every path must order shared limiters the same way (innermost first): mixing
 * [a, b] and [b, a] (or a longer cycle) could deadlock, so LimiterChain refuses it.
 */
import { StoremeshError } from '../interface/errors.js'
import { abortError, throwIfAborted } from '../interface/abort.js'
import { systemClock } from './clock.js'
import type { CancelTimer, Clock } from './clock.js'
import { DEFAULT_STORE_WEIGHT } from './constants.js'
import { checkClass, checkWeight, FairScheduler } from './priority.js'
import type { StoreClass } from './priority.js'
import { TokenBucket } from './token-bucket.js'
import type { BurstOptions } from './token-bucket.js'

/** Anything a byte stream can be paced by: one limiter or a chain of them. */
export interface Acquirer {
  /** Resolves when `bytes` may be sent; rejects with E_ABORTED when `signal` aborts. */
  acquire(bytes: number, signal?: AbortSignal): Promise<void>
  /** The largest slice that passes at once; callers that slice themselves use it. */
  readonly sliceBytes: number
  /**
   * Declares a flow that wants bytes even between its acquire() calls (a download with
   * answers outstanding): while held, time its slices lose to a stall upstream or
   * downstream counts toward catch-up (token-bucket.ts). Returns the release.
   */
  holdDemand?(): () => void
}

export interface LimiterInit extends BurstOptions {
  /** Bytes per second: 0 pauses, Infinity lifts the limit. */
  rateBytesPerSec: number
  /** @default systemClock */
  clock?: Clock
  /** For error messages and logs, e.g. `global` or `hub:store-0042`. */
  name?: string
  /** This limiter's share, per byte, in the limiters above it. @default DEFAULT_STORE_WEIGHT */
  weight?: number
  /** 'critical' slices pass the limiters above before any 'normal' one. @default 'normal' */
  class?: StoreClass
}

interface Waiter {
  readonly bytes: number
  readonly path: readonly Core[]
  /** Index in `path` of the limiter the slice is waiting for now. */
  stage: number
  done: boolean
  resolve: () => void
  reject: (err: Error) => void
  detach: () => void
}

/** Flow id of the callers that acquire at a limiter directly. */
const DIRECT_FLOW = 'direct'
let nextCoreId = 0

/** The state of one limiter; module-private so only this file moves waiters around. */
class Core {
  readonly id = `limiter-${nextCoreId++}`
  /** Slices waiting for this limiter's tokens, in fair order. */
  readonly queue = new FairScheduler<Waiter>({ forgetIdleFlows: true })
  /** The slice that passed this limiter and now waits further up (holds our turn). */
  holder: Waiter | undefined
  /** Limiters that come after this one on some path (for the order check). */
  readonly outer = new Set<Core>()
  cancelTimer: CancelTimer | undefined
  grantedBytes = 0
  /** flows that declared demand (holdDemand) */
  demandHolds = 0
  weight: number
  cls: StoreClass

  constructor (readonly bucket: TokenBucket, readonly clock: Clock, readonly name: string, weight: number, cls: StoreClass) {
    this.weight = weight
    this.cls = cls
  }
}

const kCore = Symbol('limiter core')

// Pumping is a work list, not recursion: granting one slice can let thousands of
// queued slices through at once (e.g. when a limit is lifted).
const dirty = new Set<Core>()
let draining = false

function schedulePump (core: Core): void {
  dirty.add(core)
  if (draining) return
  draining = true
  try {
    for (let next = first(dirty); next !== undefined; next = first(dirty)) {
      dirty.delete(next)
      pumpOnce(next)
    }
  } finally {
    draining = false
  }
}

function first (set: Set<Core>): Core | undefined {
  for (const c of set) return c
  return undefined
}

function flowAt (w: Waiter, stage: number): string {
  return stage === 0 ? DIRECT_FLOW : (w.path[stage - 1] as Core).id
}

/** Queues `w` at its current stage, as a slice of the child it comes from. */
function enqueueAt (w: Waiter): void {
  const core = w.path[w.stage] as Core
  const flowId = flowAt(w, w.stage)
  if (w.stage > 0) {
    const child = w.path[w.stage - 1] as Core
    const known = core.queue.flowOptions(flowId)
    if (known === undefined || known.weight !== child.weight || known.class !== child.cls) {
      core.queue.setFlow(flowId, { weight: child.weight, class: child.cls })
    }
  }
  core.queue.enqueue(flowId, w.bytes, w)
  schedulePump(core)
}

function dequeueAt (w: Waiter, stage: number): void {
  const core = w.path[stage] as Core
  core.queue.cancel(flowAt(w, stage), x => x === w)
}

function pumpOnce (core: Core): void {
  core.cancelTimer?.()
  core.cancelTimer = undefined
  const now = core.clock.nowMs()
  // a slice waiting here or above: time that passes counts toward catch-up (token-bucket.ts)
  core.bucket.setDemand(core.holder !== undefined || core.queue.pending() > 0 || core.demandHolds > 0, now)
  // One slice at a time past each limiter: while one waits higher up, we wait too.
  if (core.holder !== undefined) return
  const head = core.queue.peek()?.item
  if (head === undefined) return
  const waitMs = core.bucket.waitMs(head.bytes, now)
  if (waitMs > 0) {
    if (waitMs !== Number.POSITIVE_INFINITY) {
      core.cancelTimer = core.clock.setTimer(() => {
        core.cancelTimer = undefined
        schedulePump(core)
      }, Math.max(1, Math.ceil(waitMs)))
    }
    return
  }
  const last = head.path.length - 1
  if (head.stage < last) {
    core.queue.next()
    core.holder = head
    head.stage++
    enqueueAt(head)
    return
  }
  for (let i = 0; i < last; i++) {
    const lower = head.path[i] as Core
    if (lower.bucket.waitMs(head.bytes, now) > 0) {
      // A lower limit was cut while the slice waited up here: step back down to it.
      dequeueAt(head, last)
      for (let j = i; j < last; j++) (head.path[j] as Core).holder = undefined
      head.stage = i
      enqueueAt(head)
      for (let j = i + 1; j <= last; j++) schedulePump(head.path[j] as Core)
      return
    }
  }
  core.queue.next()
  for (const c of head.path) {
    c.bucket.take(head.bytes, now)
    c.grantedBytes += head.bytes
    if (c.holder === head) c.holder = undefined
    schedulePump(c)
  }
  head.done = true
  head.detach()
  head.resolve()
}

function canGrantNow (path: readonly Core[], bytes: number): boolean {
  for (const c of path) {
    if (c.holder !== undefined || c.queue.pending() > 0 || c.bucket.waitMs(bytes, c.clock.nowMs()) > 0) return false
  }
  return true
}

async function acquireSlice (path: readonly Core[], bytes: number, signal?: AbortSignal): Promise<void> {
  throwIfAborted(signal)
  if (canGrantNow(path, bytes)) {
    for (const c of path) {
      c.bucket.take(bytes, c.clock.nowMs())
      c.grantedBytes += bytes
    }
    return
  }
  await new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      if (w.done) return
      w.done = true
      dequeueAt(w, w.stage)
      for (let i = 0; i < w.stage; i++) (path[i] as Core).holder = undefined
      for (let i = 0; i <= w.stage; i++) schedulePump(path[i] as Core)
      reject(abortError(signal))
    }
    const w: Waiter = {
      bytes,
      path,
      stage: 0,
      done: false,
      resolve,
      reject,
      detach: () => signal?.removeEventListener('abort', onAbort)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    enqueueAt(w)
  })
}

/** True when some chain already puts `to` after `from`, directly or through others. */
function reaches (from: Core, to: Core): boolean {
  const seen = new Set<Core>()
  const stack = [from]
  for (let c = stack.pop(); c !== undefined; c = stack.pop()) {
    if (c === to) return true
    if (seen.has(c)) continue
    seen.add(c)
    for (const o of c.outer) stack.push(o)
  }
  return false
}

function holdDemandOn (path: readonly Core[]): () => void {
  for (const c of path) { c.demandHolds++; schedulePump(c) }
  let held = true
  return () => {
    if (!held) return
    held = false
    for (const c of path) { c.demandHolds--; schedulePump(c) }
  }
}

function sliceOf (path: readonly Core[]): number {
  let slice = Number.POSITIVE_INFINITY
  for (const c of path) slice = Math.min(slice, c.bucket.sliceBytes)
  return slice
}

async function acquireThrough (path: readonly Core[], bytes: number, signal?: AbortSignal): Promise<void> {
  if (!Number.isFinite(bytes) || bytes < 0) {
    throw new StoremeshError('E_INVALID_ARGUMENT', 'acquire() needs a finite number of bytes >= 0', { bytes: String(bytes) })
  }
  throwIfAborted(signal)
  let left = bytes
  while (left > 0) {
    // Read the slice size each time: a rate change mid-request changes the burst.
    const slice = Math.min(left, sliceOf(path))
    await acquireSlice(path, slice, signal)
    left -= slice
  }
}

/** One token-bucket limit with a FIFO of waiting slices. */
export class Limiter implements Acquirer {
  readonly [kCore]: Core
  readonly name: string

  constructor (init: LimiterInit) {
    const clock = init.clock ?? systemClock
    this.name = init.name ?? 'limiter'
    const weight = checkWeight(init.weight ?? DEFAULT_STORE_WEIGHT)
    const cls = checkClass(init.class ?? 'normal')
    this[kCore] = new Core(new TokenBucket(init.rateBytesPerSec, clock.nowMs(), init), clock, this.name, weight, cls)
  }

  get rateBytesPerSec (): number {
    return this[kCore].bucket.rateBytesPerSec
  }

  get burstBytes (): number {
    return this[kCore].bucket.burstBytes
  }

  get sliceBytes (): number {
    return this[kCore].bucket.sliceBytes
  }

  /** Slices queued at this limiter, counting one that passed it and waits higher up. */
  get waiting (): number {
    const core = this[kCore]
    return core.queue.pending() + (core.holder !== undefined ? 1 : 0)
  }

  /** Changes this limiter's share in the limiters above it (applies to its next slices). */
  setShare (options: { weight?: number, class?: StoreClass }): void {
    const core = this[kCore]
    const weight = checkWeight(options.weight ?? core.weight)
    const cls = checkClass(options.class ?? core.cls)
    core.weight = weight
    core.cls = cls
  }

  /** Bytes let through since creation (for the achieved-rate metric). */
  get grantedBytes (): number {
    return this[kCore].grantedBytes
  }

  /** Changes the limit live; 0 pauses everything on this limiter until a rate > 0. */
  setRate (rateBytesPerSec: number): void {
    const core = this[kCore]
    core.bucket.setRate(rateBytesPerSec, core.clock.nowMs())
    schedulePump(core)
  }

  async acquire (bytes: number, signal?: AbortSignal): Promise<void> {
    await acquireThrough([this[kCore]], bytes, signal)
  }

  holdDemand (): () => void {
    return holdDemandOn([this[kCore]])
  }
}

/**
 * A request that must pass several limiters, innermost first: `[hub, global]`.
 * Cheap to build (one per stream is fine); the limiters hold all the state.
 */
export class LimiterChain implements Acquirer {
  private readonly path: readonly Core[]

  constructor (limiters: readonly Limiter[]) {
    if (limiters.length === 0) throw new StoremeshError('E_INVALID_ARGUMENT', 'a limiter chain needs at least one limiter')
    const path = limiters.map(l => l[kCore])
    if (new Set(path).size !== path.length) {
      throw new StoremeshError('E_INVALID_ARGUMENT', 'a limiter appears twice in one chain', { chain: path.map(c => c.name).join('>') })
    }
    const clock = (path[0] as Core).clock
    if (path.some(c => c.clock !== clock)) throw new StoremeshError('E_INVALID_ARGUMENT', 'limiters in one chain must share a clock')
    for (let i = 0; i < path.length; i++) {
      for (let j = i + 1; j < path.length; j++) {
        const inner = path[i] as Core
        const outer = path[j] as Core
        if (reaches(outer, inner)) {
          throw new StoremeshError('E_INVALID_ARGUMENT', `limiter ${outer.name} is already inside ${inner.name} in another chain`, { chain: path.map(c => c.name).join('>') })
        }
      }
    }
    for (let i = 0; i < path.length; i++) {
      for (let j = i + 1; j < path.length; j++) (path[i] as Core).outer.add(path[j] as Core)
    }
    this.path = path
  }

  get sliceBytes (): number {
    return sliceOf(this.path)
  }

  async acquire (bytes: number, signal?: AbortSignal): Promise<void> {
    await acquireThrough(this.path, bytes, signal)
  }

  holdDemand (): () => void {
    return holdDemandOn(this.path)
  }
}
