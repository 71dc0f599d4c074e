/**
 * A server-wide bound on bytes in flight: a counting semaphore over bytes, not tasks.
 * The super hub takes a grant of a chunk's size before it reads the chunk (from its
 * store or, pulling through, from the origin) and gives it back once the answer is
 * handed to the stream, so the chunk bytes it holds for all store hubs together stay
 * under one figure whatever the number of connections (issue 17: a per-connection
 * bound grows with the fleet, the RSS target does not).
 *
 * Waiters are served strictly in arrival order: a large grant at the head is not
 * overtaken by small ones (it would starve). A request larger than the whole budget
 * is clamped to it (it waits for everything and runs alone), so it never waits forever.
 */
import { StoremeshError } from '../interface/errors.js'

/**
 * The super hub's default bound on chunk bytes in flight (`--chunk-bytes-in-flight`).
 * Derived from its RSS target of 200 MiB (issue 17): ~90 MiB idle (binary, libraries,
 * heap: bench:origin measured 88) and ~45 MiB for the heap, V8 zones and malloc
 * growing under 50 store hubs leave ~65 MiB for chunks; each chunk byte in flight is
 * held about twice (the plain chunk and its encrypted slices queued on the stream),
 * so 32 MiB: 32 answers of the default largest chunk (1 MiB), ~128 of the average.
 * @default 32 MiB
 */
export const DEFAULT_CHUNK_BYTES_IN_FLIGHT = 32 * 1024 * 1024

export interface ByteGrant {
  /** bytes this grant holds now */
  readonly bytes: number
  /**
   * Re-sizes the grant to what the answer really holds, without waiting: a grant taken
   * on a guessed size shrinks (the rest goes to the waiters) or grows. Growing can pass
   * the bound (the bytes are already in memory); it is counted in `overshootBytes`.
   */
  resize(bytes: number): void
  /** Returns the bytes (idempotent). */
  release(): void
}

export interface ByteBudgetStats {
  limitBytes: number
  inFlightBytes: number
  /** the most ever held at once */
  peakBytes: number
  waiters: number
  /** grants that had to wait for bytes to come back */
  waitedTotal: number
  /** bytes held past the limit by grants that grew after their read (sizes not known before) */
  overshootBytes: number
}

interface Waiter { bytes: number, go: () => void }

export class ByteBudget {
  readonly limitBytes: number
  #inFlight = 0
  #peak = 0
  #waitedTotal = 0
  #overshoot = 0
  readonly #waiting: Waiter[] = []

  constructor (limitBytes: number) {
    if (!(Number.isSafeInteger(limitBytes) && limitBytes >= 1)) throw new StoremeshError('E_INVALID_ARGUMENT', `a byte budget must be a positive whole number of bytes, got ${limitBytes}`, { limitBytes: String(limitBytes) })
    this.limitBytes = limitBytes
  }

  get inFlightBytes (): number { return this.#inFlight }

  stats (): ByteBudgetStats {
    return { limitBytes: this.limitBytes, inFlightBytes: this.#inFlight, peakBytes: this.#peak, waiters: this.#waiting.length, waitedTotal: this.#waitedTotal, overshootBytes: this.#overshoot }
  }

  /** Waits (in arrival order, abortable) until `bytes` (clamped to the limit, at least 1) fit, then holds them. */
  async acquire (bytes: number, signal?: AbortSignal): Promise<ByteGrant> {
    signal?.throwIfAborted()
    const want = Math.min(this.limitBytes, Math.max(1, Math.ceil(bytes)))
    if (this.#waiting.length === 0 && this.#inFlight + want <= this.limitBytes) return this.#grant(want)
    this.#waitedTotal++
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        bytes: want,
        go: () => { signal?.removeEventListener('abort', onAbort); resolve() }
      }
      const onAbort = (): void => {
        const i = this.#waiting.indexOf(waiter)
        if (i >= 0) this.#waiting.splice(i, 1)
        // the head leaving may let the next ones in
        this.#wake()
        reject(new StoremeshError('E_ABORTED', 'aborted while waiting for chunk bytes in flight'))
      }
      this.#waiting.push(waiter)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
    // #wake counted the bytes in before it let us go
    return this.#handle(want)
  }

  #grant (bytes: number): ByteGrant {
    this.#add(bytes)
    return this.#handle(bytes)
  }

  #add (bytes: number): void {
    this.#inFlight += bytes
    if (this.#inFlight > this.#peak) this.#peak = this.#inFlight
  }

  #handle (initial: number): ByteGrant {
    let held = initial
    let released = false
    const budget = this
    return {
      get bytes () { return held },
      resize (bytes: number) {
        if (released) return
        const next = Math.max(0, Math.ceil(bytes))
        if (next > held) {
          const over = Math.max(0, budget.#inFlight + (next - held) - budget.limitBytes)
          budget.#overshoot += Math.min(over, next - held)
          budget.#add(next - held)
        } else {
          budget.#inFlight -= held - next
          budget.#wake()
        }
        held = next
      },
      release () {
        if (released) return
        released = true
        budget.#inFlight -= held
        held = 0
        budget.#wake()
      }
    }
  }

  /** Lets waiters in from the head while they fit. */
  #wake (): void {
    for (;;) {
      const head = this.#waiting[0]
      if (head === undefined || this.#inFlight + head.bytes > this.limitBytes) return
      this.#waiting.shift()
      this.#add(head.bytes)
      head.go()
    }
  }
}
