/**
 * When a trust feed (root-feed.ts, timestamp-feed.ts) reads its sources: once at
 * start, when a watched source wakes it (after a short quiet time: a signer's copy
 * writes in several steps), and on a periodic rescan that also covers a watch that
 * missed an event or a source that cannot be watched (the origin). A pass asked for
 * while one runs runs once after it, so passes never overlap and no event is lost.
 */
export interface FeedLoopInit {
  sources: ReadonlyArray<{ watch?: (wake: () => void) => () => void }>
  rescanMs: number
  wakeDebounceMs: number
  /** one pass over the sources; `signal` aborts at stop() */
  scanOnce: (signal: AbortSignal) => Promise<void>
}

export class FeedLoop {
  readonly #init: FeedLoopInit
  readonly #abort = new AbortController()
  #timer: NodeJS.Timeout | undefined
  #wakeTimer: NodeJS.Timeout | undefined
  #unwatch: Array<() => void> = []
  #scanning: Promise<void> | undefined
  #again = false

  constructor (init: FeedLoopInit) {
    this.#init = init
  }

  get signal (): AbortSignal { return this.#abort.signal }

  /** Reads every source once, then watches them and rescans every `rescanMs`. */
  async start (): Promise<void> {
    await this.scan()
    for (const s of this.#init.sources) if (s.watch !== undefined) this.#unwatch.push(s.watch(() => { this.#wake() }))
    this.#timer = setInterval(() => { void this.scan() }, this.#init.rescanMs)
    this.#timer.unref()
  }

  stop (): void {
    this.#abort.abort()
    clearInterval(this.#timer)
    clearTimeout(this.#wakeTimer)
    for (const u of this.#unwatch) u()
    this.#unwatch = []
  }

  /** One pass over the sources; a pass asked for while one runs runs after it. */
  async scan (): Promise<void> {
    if (this.#scanning !== undefined) {
      this.#again = true
      return await this.#scanning
    }
    this.#scanning = (async () => {
      do {
        this.#again = false
        await this.#init.scanOnce(this.#abort.signal)
      } while (this.#again && !this.#abort.signal.aborted)
    })().finally(() => { this.#scanning = undefined })
    return await this.#scanning
  }

  #wake (): void {
    clearTimeout(this.#wakeTimer)
    this.#wakeTimer = setTimeout(() => { void this.scan() }, this.#init.wakeDebounceMs)
    this.#wakeTimer.unref()
  }
}
