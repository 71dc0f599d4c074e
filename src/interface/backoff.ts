/**
 * Jittered exponential back-off and an abortable, wakeable wait, in the manner of
 * hyperswarm's retry-timer: the n-th consecutive failure waits about base * 2^(n-1),
 * capped at max, and each wait is shortened by a random share of up to `jitterFraction`
 * so that 300 devices that lost their hub at the same moment do not come back in step.
 */

export interface BackoffOptions {
  baseMs: number
  maxMs: number
  /** each wait is in [(1 - f) * d, d]; 0 means no jitter */
  jitterFraction: number
}

/** The wait after the `failures`-th consecutive failure (1 for the first). */
export function backoffDelayMs (failures: number, o: BackoffOptions, random: () => number = Math.random): number {
  const n = Math.max(1, Math.floor(failures))
  const d = Math.min(o.maxMs, o.baseMs * 2 ** Math.min(n - 1, 40))
  const f = Math.min(1, Math.max(0, o.jitterFraction))
  return Math.max(0, Math.round(d * (1 - f * random())))
}

export type WaitEnd = 'timer' | 'woken' | 'aborted'

/**
 * One waiter at a time sleeps until its timer, an abort, or wake(). A wake() with no
 * sleeper is remembered, so work that arrives while the loop is busy is not missed.
 */
export class Waker {
  #wake: ((end: WaitEnd) => void) | undefined
  #pending = false
  #wakesBackoff = false
  #inBackoff = false

  /**
   * Wakes the sleeper. A sleeper in back-off (`backoff: true`) is woken only with
   * `{ backoff: true }`: a peer that just connected, not merely new work.
   */
  wake (options: { backoff?: boolean } = {}): void {
    if (this.#wake !== undefined && (!this.#inBackoff || options.backoff === true)) {
      this.#wake('woken')
      return
    }
    this.#pending = true
    if (options.backoff === true) this.#wakesBackoff = true
  }

  async wait (ms: number, signal: AbortSignal, options: { backoff?: boolean } = {}): Promise<WaitEnd> {
    if (signal.aborted) return 'aborted'
    const backoff = options.backoff === true
    if (this.#pending && (!backoff || this.#wakesBackoff)) {
      this.#pending = false
      this.#wakesBackoff = false
      return 'woken'
    }
    return await new Promise<WaitEnd>(resolve => {
      const done = (end: WaitEnd): void => {
        clearTimeout(timer)
        signal.removeEventListener('abort', onAbort)
        this.#wake = undefined
        this.#inBackoff = false
        if (end === 'woken') { this.#pending = false; this.#wakesBackoff = false }
        resolve(end)
      }
      const onAbort = (): void => { done('aborted') }
      const timer = setTimeout(() => { done('timer') }, Math.max(0, ms))
      signal.addEventListener('abort', onAbort, { once: true })
      this.#inBackoff = backoff
      this.#wake = done
    })
  }
}
