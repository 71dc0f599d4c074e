/**
 * One unref'd timer that fires at the earliest deadline asked of it: asking for a later
 * one while an earlier one is armed changes nothing, an earlier one replaces it. The
 * chunk protocol's re-open sweep and the hoarder watch each sleep until their next due
 * moment this way, instead of ticking (issues #19 and #20).
 */
export class EarliestTimer {
  readonly #fire: () => void
  #timer: NodeJS.Timeout | undefined
  /** when the armed timer fires, on the caller's clock (Infinity: none armed) */
  #atMs = Infinity

  constructor (fire: () => void) {
    this.#fire = fire
  }

  /** Fire at `atMs` (the caller's clock), which is `delayMs` from now, unless an earlier firing is armed. */
  arm (atMs: number, delayMs: number): void {
    if (this.#timer !== undefined && this.#atMs <= atMs) return
    clearTimeout(this.#timer)
    this.#atMs = atMs
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#atMs = Infinity
      this.#fire()
    }, delayMs)
    this.#timer.unref()
  }

  clear (): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#atMs = Infinity
  }
}
