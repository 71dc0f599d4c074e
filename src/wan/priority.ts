/**
 * Which store hub's pending request the super hub serves next (DESIGN.md section 5:
 * critical stores first, weighted fair share among the rest). Pure bookkeeping: it
 * holds no bytes and no timers; the caller pops a request, then pays for it at the
 * global limiter.
 *
 * Classes are strict: while any critical store has a request pending, no normal
 * store is served (a store whose tills are broken waits for nobody). That can starve
 * normal stores for as long as critical ones keep asking; it is the intent.
 *
 * Within a class the share is weighted by bytes with start-time fair queuing (SFQ,
 * Goyal et al. 1996) rather than deficit round robin: requests are whole chunks of
 * 64 KiB to 1 MiB, and DRR needs a quantum of at least the largest request per round
 * (so per-round bursts of 1 MiB per store and weights rounded to quanta), while SFQ
 * handles any size and weight exactly and is simple. Each request gets a start tag
 * `S = max(V, F_prev)` and a finish tag `F = S + bytes / weight`, where `F_prev` is
 * the finish tag of the store's previous request and V the start tag of the request
 * served last; the smallest start tag is served first. So a store that was idle
 * rejoins at V and gets no credit for its idle time, and for two stores with
 * requests pending throughout, served bytes divided by weight differ by at most
 * `maxRequest_i / w_i + maxRequest_j / w_j`.
 *
 * Cost: next() scans the stores of one class, O(stores). A super hub serves a few
 * hundred stores and pops a request per chunk (some hundreds a second at most).
 */
import { StoremeshError } from '../interface/errors.js'
import { DEFAULT_STORE_WEIGHT, MAX_STORE_WEIGHT, STORE_CLASSES } from './constants.js'

export type StoreClass = typeof STORE_CLASSES[number]

export interface FlowOptions {
  /** Relative share among stores of the same class. @default DEFAULT_STORE_WEIGHT */
  weight?: number
  /** @default 'normal' */
  class?: StoreClass
}

export interface ScheduledRequest<T> {
  flowId: string
  class: StoreClass
  bytes: number
  item: T
}

interface Tagged<T> {
  item: T
  bytes: number
  start: number
  finish: number
  seq: number
}

/** An array queue with O(1) shift (Array.prototype.shift copies: 20k waiters took seconds). */
class Fifo<T> {
  private items: T[] = []
  private head = 0

  get length (): number {
    return this.items.length - this.head
  }

  push (x: T): void {
    this.items.push(x)
  }

  peek (): T | undefined {
    return this.items[this.head]
  }

  shift (): T | undefined {
    const x = this.items[this.head]
    if (x === undefined) return undefined
    this.items[this.head++] = undefined as T
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return x
  }

  toArray (): T[] {
    return this.items.slice(this.head)
  }

  replace (items: T[]): void {
    this.items = items
    this.head = 0
  }
}

interface Flow<T> {
  readonly id: string
  weight: number
  cls: StoreClass
  queue: Fifo<Tagged<T>>
  lastFinish: number
  servedBytes: number
}

/** Smallest weight accepted, so one request cannot push virtual time out of range. */
export const MIN_STORE_WEIGHT = 1 / 1000

// Virtual time is rebased below this so tags stay exact integers' worth of doubles.
const REBASE_VIRTUAL_TIME = 2 ** 40

/** Throws E_INVALID_ARGUMENT unless MIN_STORE_WEIGHT <= weight <= MAX_STORE_WEIGHT. */
export function checkWeight (weight: number): number {
  if (!Number.isFinite(weight) || weight < MIN_STORE_WEIGHT || weight > MAX_STORE_WEIGHT) {
    throw new StoremeshError('E_INVALID_ARGUMENT', `store weight must be between ${MIN_STORE_WEIGHT} and ${MAX_STORE_WEIGHT}`, { weight: String(weight) })
  }
  return weight
}

/** Throws E_INVALID_ARGUMENT for a class not in STORE_CLASSES. */
export function checkClass (cls: string): StoreClass {
  if (!(STORE_CLASSES as readonly string[]).includes(cls)) {
    throw new StoremeshError('E_INVALID_ARGUMENT', `store class must be one of ${STORE_CLASSES.join(', ')}`, { class: cls })
  }
  return cls as StoreClass
}

export interface FairSchedulerInit {
  /**
   * Drop a store's state once it has nothing pending and no credit left to settle, so
   * that flows keyed by short-lived ids (the limiters' children) do not pile up.
   * Forgetting such a flow changes no decision: it would rejoin at V anyway.
   * Its servedBytes() count is lost. @default false
   */
  forgetIdleFlows?: boolean
}

export class FairScheduler<T> {
  private readonly flows = new Map<string, Flow<T>>()
  private readonly virtualTime: Record<StoreClass, number> = { critical: 0, normal: 0 }
  private readonly forgetIdle: boolean
  private seq = 0
  private pendingCount = 0

  constructor (init: FairSchedulerInit = {}) {
    this.forgetIdle = init.forgetIdleFlows ?? false
  }

  /** Stores known (with or without pending requests). */
  get flowCount (): number {
    return this.flows.size
  }

  /** A store's weight and class, or undefined when unknown. */
  flowOptions (flowId: string): Required<FlowOptions> | undefined {
    const flow = this.flows.get(flowId)
    return flow === undefined ? undefined : { weight: flow.weight, class: flow.cls }
  }

  /**
   * Adds a store or changes its weight or class. A new weight applies to requests
   * queued from now on; on a class change the queued requests move with the store.
   */
  setFlow (flowId: string, options: FlowOptions = {}): void {
    const weight = checkWeight(options.weight ?? DEFAULT_STORE_WEIGHT)
    const cls = checkClass(options.class ?? 'normal')
    const flow = this.flows.get(flowId)
    if (flow === undefined) {
      this.flows.set(flowId, { id: flowId, weight, cls, queue: new Fifo(), lastFinish: 0, servedBytes: 0 })
      return
    }
    const moved = flow.cls !== cls
    flow.weight = weight
    flow.cls = cls
    // Tags are only comparable within one class: re-tag queued requests in the new one.
    if (moved) this.retag(flow)
  }

  hasFlow (flowId: string): boolean {
    return this.flows.has(flowId)
  }

  /** Forgets a store; returns its requests still pending. */
  removeFlow (flowId: string): T[] {
    const flow = this.flows.get(flowId)
    if (flow === undefined) return []
    this.flows.delete(flowId)
    this.pendingCount -= flow.queue.length
    return flow.queue.toArray().map(r => r.item)
  }

  /** Queues a request of `bytes` for a store (added with defaults if unknown). */
  enqueue (flowId: string, bytes: number, item: T): void {
    if (!Number.isFinite(bytes) || bytes < 0) {
      throw new StoremeshError('E_INVALID_ARGUMENT', 'request size must be a finite number of bytes >= 0', { bytes: String(bytes) })
    }
    if (!this.flows.has(flowId)) this.setFlow(flowId)
    const flow = this.flows.get(flowId) as Flow<T>
    flow.queue.push(this.tag(flow, bytes, item))
    this.pendingCount++
  }

  /** The request to serve next, removed from the queue; undefined when none is pending. */
  next (): ScheduledRequest<T> | undefined {
    const flow = this.pick()
    if (flow === undefined) return undefined
    const r = flow.queue.shift() as Tagged<T>
    this.pendingCount--
    flow.servedBytes += r.bytes
    this.virtualTime[flow.cls] = Math.max(this.virtualTime[flow.cls], r.start)
    if (this.virtualTime[flow.cls] > REBASE_VIRTUAL_TIME) this.rebase(flow.cls)
    return { flowId: flow.id, class: flow.cls, bytes: r.bytes, item: r.item }
  }

  /** What next() would return, without removing it. */
  peek (): ScheduledRequest<T> | undefined {
    const flow = this.pick()
    const r = flow?.queue.peek()
    if (flow === undefined || r === undefined) return undefined
    return { flowId: flow.id, class: flow.cls, bytes: r.bytes, item: r.item }
  }

  /**
   * Drops a store's pending requests that match (e.g. chunks it got from another
   * super hub); returns them. Later requests keep their tags: the store loses no place.
   */
  cancel (flowId: string, match: (item: T) => boolean): T[] {
    const flow = this.flows.get(flowId)
    if (flow === undefined) return []
    const all = flow.queue.toArray()
    const dropped = all.filter(r => match(r.item))
    if (dropped.length === 0) return []
    flow.queue.replace(all.filter(r => !match(r.item)))
    this.pendingCount -= dropped.length
    return dropped.map(r => r.item)
  }

  /** Requests pending for one store, or for all. */
  pending (flowId?: string): number {
    if (flowId === undefined) return this.pendingCount
    return this.flows.get(flowId)?.queue.length ?? 0
  }

  /** Bytes handed out by next() for a store so far. */
  servedBytes (flowId: string): number {
    return this.flows.get(flowId)?.servedBytes ?? 0
  }

  private tag (flow: Flow<T>, bytes: number, item: T): Tagged<T> {
    const start = Math.max(this.virtualTime[flow.cls], flow.lastFinish)
    const finish = start + bytes / flow.weight
    flow.lastFinish = finish
    return { item, bytes, start, finish, seq: this.seq++ }
  }

  private retag (flow: Flow<T>): void {
    const queued = flow.queue.toArray()
    flow.lastFinish = 0
    flow.queue.replace(queued.map(r => this.tag(flow, r.bytes, r.item)))
  }

  private pick (): Flow<T> | undefined {
    for (const cls of STORE_CLASSES) {
      let best: Flow<T> | undefined
      let bestHead: Tagged<T> | undefined
      for (const flow of this.flows.values()) {
        const head = flow.queue.peek()
        if (head === undefined && this.forgetIdle && flow.lastFinish <= this.virtualTime[flow.cls]) {
          this.flows.delete(flow.id)
          continue
        }
        if (flow.cls !== cls || head === undefined) continue
        if (bestHead === undefined || head.start < bestHead.start || (head.start === bestHead.start && head.seq < bestHead.seq)) {
          best = flow
          bestHead = head
        }
      }
      if (best !== undefined) return best
    }
    return undefined
  }

  /** Shifts a class's virtual time and tags down by the same amount; order is kept. */
  private rebase (cls: StoreClass): void {
    const base = this.virtualTime[cls]
    this.virtualTime[cls] = 0
    for (const flow of this.flows.values()) {
      if (flow.cls !== cls) continue
      flow.lastFinish = Math.max(0, flow.lastFinish - base)
      for (const r of flow.queue.toArray()) {
        r.start -= base
        r.finish -= base
      }
    }
  }
}
