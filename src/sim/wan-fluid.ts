/**
 * The fleet's WAN as fluid flows: each flow (a store hub pulling the bundle, or in a
 * baseline every device pulling it) has bytes left and a demand rate — its store's
 * link while the store's WAN schedule (src/wan/schedule.ts, the product's windows in
 * the store's time zone) says open, and no outage or crash stops it; 0 otherwise. The
 * super hub's egress cap is shared max-min fairly (the weighted fair share of
 * src/wan/priority.ts with equal weights). Rates change only at events, so between
 * two events every byte count is exact; the per-chunk pacing of the token bucket is
 * below the model's resolution (a 256 KiB chunk is 40 ms at 50 Mbit/s).
 *
 * A pause resumes from the bytes already held (the puller's resume), never from zero.
 * Egress is binned per minute for the peak.
 */
import type { EventQueue } from './event-queue.js'

export interface Flow {
  id: number
  leftBytes: number
  /** the link's rate while this flow may run */
  linkBps: number
  /** may run now (window open, no outage, hub up) */
  on: boolean
  rateBps: number
  doneMs: number
  onDone: (() => void) | undefined
}

const BIN_MS = 60_000

export class WanFluid {
  readonly flows: Flow[] = []
  readonly #active = new Set<Flow>()
  #lastMs: number
  #dirty = false
  #cancelNext: (() => void) | undefined
  #egressUp = true
  /** bytes per minute bin at the centre */
  readonly bins: number[] = []
  totalBytes = 0

  /** bins count minutes from here */
  readonly originMs: number

  constructor (readonly q: EventQueue, readonly egressBps: number) {
    this.#lastMs = q.nowMs()
    this.originMs = this.#lastMs
  }

  add (leftBytes: number, linkBps: number, onDone?: () => void): Flow {
    const f: Flow = { id: this.flows.length, leftBytes, linkBps, on: false, rateBps: 0, doneMs: leftBytes <= 0 ? this.q.nowMs() : Infinity, onDone }
    this.flows.push(f)
    return f
  }

  /** The flow may run (or not) from now on. */
  set (f: Flow, on: boolean): void {
    if (f.on === on) return
    this.#advance()
    f.on = on
    if (on && f.leftBytes > 0) this.#active.add(f)
    else this.#active.delete(f)
    this.#markDirty()
  }

  /** The super hub is up or down (a crash stops every flow; restarts resume). */
  setEgressUp (up: boolean): void {
    this.#advance()
    this.#egressUp = up
    this.#markDirty()
  }

  get activeCount (): number {
    return this.#active.size
  }

  peakBps (): number {
    let max = 0
    for (const b of this.bins) if (b > max) max = b
    return max * 1000 / BIN_MS
  }

  #markDirty (): void {
    if (this.#dirty) return
    this.#dirty = true
    // every change at one instant (a time zone's windows open together) is settled once
    this.q.setTimer(() => { this.#dirty = false; this.#reallocate() }, 0)
  }

  /** Moves every active flow's bytes on to now at its current rate. */
  #advance (): void {
    const now = this.q.nowMs()
    const dt = now - this.#lastMs
    if (dt <= 0) return
    let moved = 0
    for (const f of this.#active) {
      const b = Math.min(f.leftBytes, f.rateBps * dt / 1000)
      f.leftBytes -= b
      moved += b
    }
    this.#bin(this.#lastMs, now, moved)
    this.#lastMs = now
  }

  /** Spreads `bytes` moved at a constant rate over [fromMs, toMs) into the minute bins. */
  #bin (fromMs: number, toMs: number, bytes: number): void {
    if (bytes <= 0) return
    this.totalBytes += bytes
    const rate = bytes / (toMs - fromMs)
    let t = fromMs - this.originMs
    const to = toMs - this.originMs
    while (t < to) {
      const bin = Math.floor(t / BIN_MS)
      const end = Math.min(to, (bin + 1) * BIN_MS)
      while (this.bins.length <= bin) this.bins.push(0)
      this.bins[bin] = (this.bins[bin] as number) + rate * (end - t)
      t = end
    }
  }

  #reallocate (): void {
    this.#advance()
    const now = this.q.nowMs()
    for (const f of [...this.#active]) {
      // a float residue under one byte is done
      if (f.leftBytes < 1) this.#finish(f, now)
    }
    const flows = [...this.#active]
    for (const f of flows) f.rateBps = 0
    if (this.#egressUp && flows.length > 0) {
      // max-min fair: the smallest links are served in full, the rest share what is left
      flows.sort((a, b) => a.linkBps - b.linkBps || a.id - b.id)
      let left = this.egressBps
      for (let i = 0; i < flows.length; i++) {
        const f = flows[i] as Flow
        const share = left / (flows.length - i)
        f.rateBps = Math.min(f.linkBps, share)
        left -= f.rateBps
      }
    }
    this.#cancelNext?.()
    this.#cancelNext = undefined
    let next = Infinity
    for (const f of flows) if (f.rateBps > 0) next = Math.min(next, now + 1000 * f.leftBytes / f.rateBps)
    if (next < Infinity) this.#cancelNext = this.q.at(Math.ceil(next), () => { this.#cancelNext = undefined; this.#markDirty() })
  }

  #finish (f: Flow, now: number): void {
    f.leftBytes = 0
    f.rateBps = 0
    f.doneMs = now
    this.#active.delete(f)
    f.onDone?.()
  }
}
