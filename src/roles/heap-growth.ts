/**
 * How far V8 lets a LAN daemon's old generation grow past what the last full collection
 * kept, before it marks the whole heap again (issue 19, docs/footprint.md "Heap growth").
 *
 * V8 picks that factor itself from the heap's size limit and recent GC speed. Under the
 * units' small limits (--max-old-space-size 96 / 192) it chose about 1.1 here: a device
 * receiving at 2 MiB/s promotes about 1 MB/s of short-lived frames and buffers into a
 * ~29 MB old generation, so V8 marked all of it every 2-3 s ("GC in old space
 * requested", 13-19 mark-compacts per run of bench:lan --n 4 --bundle-mib 64 --rate
 * 2MiB/s) and concurrent marking and sweeping were a tenth of every daemon's CPU.
 * A fixed factor of 1.5 lets the old generation reach 1.5x its live size first.
 *
 * The cost is memory: up to half the live heap more before a collection (about 15 MB at
 * a 30 MB heap), within the old-space caps, which still bound it.
 *
 * `--heap-growing-percent` is refused in NODE_OPTIONS, so it is set here at start; V8
 * reads it each time it sets the next limit, so setting it at run time takes effect
 * from the next full collection on.
 */
import { setFlagsFromString } from 'node:v8'
import { StoremeshError } from '../interface/errors.js'

/** A factor of 1.5 (bench:lan, docs/footprint.md); 0 leaves V8's own choice. */
export const DEFAULT_HEAP_GROWING_PERCENT = 50
/** V8's own factors stay below 4x; more than that only trades memory for nothing measured. */
export const MAX_HEAP_GROWING_PERCENT = 300

/** Sets V8's heap growing factor to 1 + percent / 100 for this process; 0 leaves V8's own. */
export function setHeapGrowingPercent (percent: number): void {
  if (!Number.isSafeInteger(percent) || percent < 0 || percent > MAX_HEAP_GROWING_PERCENT) {
    throw new StoremeshError('E_USAGE', `heap growing percent must be an integer from 0 to ${MAX_HEAP_GROWING_PERCENT}, got ${percent}`)
  }
  setFlagsFromString(`--heap-growing-percent=${percent}`)
}
