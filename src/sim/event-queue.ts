/**
 * The discrete-event core: a binary heap of events on simulated milliseconds, ties in
 * the order they were scheduled, so a run is a pure function of its inputs. No
 * timers, no sleeps, no Date.now: time moves only when the next event is taken.
 *
 * SimClock implements the WAN tier's Clock seam (src/wan/clock.ts), so engines that
 * take a Clock run on simulated time unchanged.
 */
import type { CancelTimer, Clock } from '../wan/clock.js'

interface Entry { atMs: number, seq: number, fn: () => void, live: boolean }

export class EventQueue implements Clock {
  #heap: Entry[] = []
  #seq = 0
  #nowMs: number
  /** events run so far (the benchmark's events per second) */
  processed = 0

  constructor (startMs = 0) {
    this.#nowMs = startMs
  }

  nowMs (): number {
    return this.#nowMs
  }

  /** Bound, for engines that take `now: () => number`. */
  readonly now = (): number => this.#nowMs

  get size (): number {
    return this.#heap.length
  }

  /** Runs `fn` at `atMs` (not before now). */
  at (atMs: number, fn: () => void): CancelTimer {
    const e: Entry = { atMs: Math.max(atMs, this.#nowMs), seq: this.#seq++, fn, live: true }
    this.#push(e)
    return () => { e.live = false }
  }

  /**
   * Runs `fn` at `atMs` (not before now), with no way to cancel it: no cancel closure is
   * made (a full-fidelity store schedules 1.4 M events and cancels none).
   */
  runAt (atMs: number, fn: () => void): void {
    this.#push({ atMs: atMs > this.#nowMs ? atMs : this.#nowMs, seq: this.#seq++, fn, live: true })
  }

  /** runAt, `delayMs` from now. */
  runIn (fn: () => void, delayMs: number): void {
    this.#push({ atMs: delayMs > 0 ? this.#nowMs + delayMs : this.#nowMs, seq: this.#seq++, fn, live: true })
  }

  /** Clock: runs `fn` after `delayMs`. */
  setTimer (fn: () => void, delayMs: number): CancelTimer {
    return this.at(this.#nowMs + Math.max(0, delayMs), fn)
  }

  /** Runs events in time order until none is left, `untilMs` passes, or `stop()` says so. */
  run (untilMs = Infinity, stop: () => boolean = () => false): void {
    while (this.#heap.length > 0) {
      const top = this.#heap[0] as Entry
      if (top.atMs > untilMs) break
      this.#pop()
      if (!top.live) continue
      this.#nowMs = top.atMs
      this.processed++
      top.fn()
      if (stop()) break
    }
    if (untilMs !== Infinity && this.#nowMs < untilMs && this.#heap.length === 0) this.#nowMs = untilMs
  }

  #less (a: Entry, b: Entry): boolean {
    return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq)
  }

  // sift with a hole, not swaps: a full-fidelity store pushes and pops millions of
  // events, and a destructuring swap was a visible share of its time
  #push (e: Entry): void {
    const h = this.#heap
    let i = h.length
    h.push(e)
    while (i > 0) {
      const p = (i - 1) >> 1
      const up = h[p] as Entry
      if (!this.#less(e, up)) break
      h[i] = up
      i = p
    }
    h[i] = e
  }

  #pop (): void {
    const h = this.#heap
    const last = h.pop() as Entry
    const n = h.length
    if (n === 0) return
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      const m = r < n && this.#less(h[r] as Entry, h[l] as Entry) ? r : l
      const c = h[m] as Entry
      if (!this.#less(c, last)) break
      h[i] = c
      i = m
    }
    h[i] = last
  }
}
