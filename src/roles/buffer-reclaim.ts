/**
 * Frees dead chunk buffers before V8 would (issue 17, docs/origin.md "Super hub memory").
 *
 * A chunk or encrypted copy queued on a store hub's stream outlives two scavenges of the
 * super hub's 2 MiB young generation, so it dies in the old generation, and V8 frees an
 * old ArrayBuffer only at a full collection, which external memory starts only when it
 * grew ~64 MiB since the last one. Serving 50 store hubs, that let ~45-60 MiB of dead
 * buffers pile up between collections: the super hub's RSS peaks. This watches the
 * ArrayBuffer bytes the process holds and runs a full collection when they pass a limit
 * above what the chunk budget lets live at once, or grew by `growthBytes` over what the
 * last collection left: after a collection usually 5-15 MiB are live, so the fixed limit
 * (48 MiB by default) let ~30 MiB of dead buffers gather first, and each such gathering
 * was a short RSS spike that set the super hub's peak (issue 17, session 14: peaks logged
 * within a second of each other in bench:origin were 20-30 MiB above the minute samples,
 * with 35-43 MiB of ArrayBuffers).
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

export interface BufferReclaimInit {
  /** ArrayBuffer bytes (live or dead) past which a full collection runs */
  limitBytes: number
  /** ArrayBuffer bytes gained since the last collection left off past which one runs too (never above limitBytes). Absent: the limit alone */
  growthBytes?: number
  /** the ArrayBuffer bytes growth counts from until the first collection. @default those held at start */
  baselineBytes?: number
  /** how often they are read. @default DEFAULT_RECLAIM_INTERVAL_MS */
  intervalMs?: number
}

/**
 * Above the chunk budget (the chunks read and not yet passed on, each held once), the
 * live buffers the budget does not count: the encrypted copies on the store hubs'
 * connections (a 64 KiB Noise message and its pnet copy each) and the origin reads.
 */
export const RECLAIM_SLACK_BYTES = 16 * 1024 * 1024

/** Read 4 times a second: process.memoryUsage() costs a /proc read and a heap walk of a few µs. */
export const DEFAULT_RECLAIM_INTERVAL_MS = 250

export interface BufferReclaim {
  /** full collections it ran */
  readonly collections: number
  stop(): void
}

export function startBufferReclaim (init: BufferReclaimInit): BufferReclaim {
  // V8 reads --expose-gc when a context is made: the new context gets gc()
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  let collections = 0
  /** what the last collection left, read one interval after it (V8 frees backing stores on a background thread) */
  let leftBytes = init.baselineBytes ?? process.memoryUsage().arrayBuffers
  let justCollected = false
  const timer = setInterval(() => {
    const held = process.memoryUsage().arrayBuffers
    if (justCollected) { justCollected = false; leftBytes = held; return }
    const grown = init.growthBytes !== undefined && held > leftBytes + init.growthBytes
    if (held > init.limitBytes || grown) {
      gc()
      collections++
      justCollected = true
    }
  }, init.intervalMs ?? DEFAULT_RECLAIM_INTERVAL_MS)
  timer.unref()
  return {
    get collections () { return collections },
    stop () { clearInterval(timer) }
  }
}
