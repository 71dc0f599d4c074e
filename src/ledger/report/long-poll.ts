/**
 * The receiving side's long-poll (protocols/report/SPEC.md "Long-poll"): a request
 * with `waitMs` whose answer would bring the asker nothing new is held until something
 * that could change any asker's answer happens, or the wait ends.
 *
 *   ChangeFeed   a generation counter: whatever changes orders or trust calls
 *                `changed()`; a waiter that read generation g wakes once it moved past g
 *                (so a change between building the answer and starting to wait is
 *                never missed)
 *   HeldSlots    bounds the held requests per peer and in total; over either, the
 *                request is answered at once (the asker polls again on its timer)
 *
 * One change wakes every held request; each rebuilds its answer and is held again if
 * its cursor did not move. A change is rare (an order, a root), so the cost of waking
 * all is one answer per held asker per change.
 */
import { DEFAULT_MAX_HELD_PER_PEER, DEFAULT_MAX_HELD_TOTAL } from './constants.js'

export class ChangeFeed {
  #generation = 0
  readonly #waiters = new Set<() => void>()

  get generation (): number {
    return this.#generation
  }

  /** Something that may change an answer happened: wake every waiter. */
  changed (): void {
    this.#generation++
    const ws = [...this.#waiters]
    this.#waiters.clear()
    for (const w of ws) w()
  }

  /**
   * Resolves `true` once the generation is past `seen` (at once when it already is),
   * `false` after `waitMs` or when `signal` fires.
   */
  async waitPast (seen: number, waitMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.#generation !== seen) return true
    if (signal?.aborted === true || waitMs <= 0) return false
    return await new Promise<boolean>(resolve => {
      const done = (changed: boolean): void => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        this.#waiters.delete(onChange)
        resolve(changed)
      }
      const onChange = (): void => { done(true) }
      const onAbort = (): void => { done(false) }
      const timer = setTimeout(() => { done(false) }, waitMs)
      this.#waiters.add(onChange)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** Held waiters now (status and tests). */
  get waiting (): number {
    return this.#waiters.size
  }
}

export interface HeldSlotsInit {
  /** @default DEFAULT_MAX_HELD_PER_PEER */
  maxPerPeer?: number
  /** @default DEFAULT_MAX_HELD_TOTAL */
  maxTotal?: number
}

export class HeldSlots {
  readonly #maxPerPeer: number
  readonly #maxTotal: number
  readonly #perPeer = new Map<string, number>()
  #total = 0

  constructor (init: HeldSlotsInit = {}) {
    this.#maxPerPeer = init.maxPerPeer ?? DEFAULT_MAX_HELD_PER_PEER
    this.#maxTotal = init.maxTotal ?? DEFAULT_MAX_HELD_TOTAL
  }

  /** A slot for `peer`, or undefined when its share or the total is taken; call the result once to give it back. */
  acquire (peer: string): (() => void) | undefined {
    const n = this.#perPeer.get(peer) ?? 0
    if (n >= this.#maxPerPeer || this.#total >= this.#maxTotal) return undefined
    this.#perPeer.set(peer, n + 1)
    this.#total++
    let released = false
    return () => {
      if (released) return
      released = true
      this.#total--
      const left = (this.#perPeer.get(peer) ?? 1) - 1
      if (left <= 0) this.#perPeer.delete(peer)
      else this.#perPeer.set(peer, left)
    }
  }

  get held (): number {
    return this.#total
  }
}
