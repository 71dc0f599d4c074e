/**
 * The BLAKE3 work of a file, shared between the main thread and one hash worker
 * through a SharedArrayBuffer instead of a fixed split (slot-hasher.ts starts the
 * worker; file-chunker.ts feeds the ring):
 *
 * - whole-file jobs: memory ranges in file order (a slot's fresh bytes, published as
 *   soon as its read lands) and a final "digest" job. Only the worker runs them, in
 *   order, since the whole-file hash is one serial chain; they come before any chunk.
 * - chunk jobs: one chunk's range each, published after a slot is scanned. Either
 *   thread claims the next one with a compare-exchange on CH_NEXT, hashes it, writes
 *   its 32-byte id to the job's result entry and stores the job's generation (its
 *   number + 1) in the entry's flag. The worker takes them as they come; after each
 *   scan main takes what is still unclaimed of older batches (the worker fell
 *   behind) and goes back to scanning, so the split follows the threads' speeds.
 *
 * Neither thread idles for long while there is work. The worker blocks in
 * Atomics.wait on SEQ (bumped by every publish). The main thread must not block its
 * event loop: it waits for results with Atomics.waitAsync on DONE_SEQ, which the
 * worker bumps after every job and notifies after a whole-file job or when no chunk
 * job is left unclaimed (main is not woken thousands of times a file while it scans).
 * Counters are 32-bit and wrap; they are only ever compared by difference, and the
 * rings are powers of two so `number & mask` stays consistent across the wrap.
 */
import { blake3 } from '@napi-rs/blake-hash'
import { StoremeshError } from '../interface/errors.js'

/** Words of the control block (Int32 indices). */
export const CTL = {
  /** bumped by main on every publish (the worker waits on it) */
  SEQ: 0,
  /** non-zero: the worker returns */
  CLOSE: 1,
  WF_PUB: 2,
  WF_DONE: 3,
  CH_PUB: 4,
  CH_NEXT: 5,
  /** bumped by the worker after every job (main waits on it) */
  DONE_SEQ: 6
} as const
const CTL_BYTES = 64
/** A float64 in the control block: seconds the worker has spent waiting for work (stats only). */
const IDLE_OFFSET = 56
const WF_WORDS = 3
const WF_UPDATE = 0
const WF_DIGEST = 1
const DIGEST_BYTES = 32
/**
 * The newest batches of chunk jobs (one batch a slot) are left to the worker; main
 * takes over only what is left of older ones. With 1, main took half the chunks and
 * more CPU than the worker in (loaded) bench runs, taking jobs the worker was about
 * to reach; with 2 the threads' CPU came out about even.
 */
export const WORKER_BATCHES = 2
/** At most this many chunk jobs in the ring; a slot with more hashes the rest inline. */
export const MAX_CHUNK_JOBS = 65536

/** Byte offsets of the views inside the control buffer (handed to the worker too). */
export interface JobLayout {
  chunkJobs: number
  wholeJobs: number
  wf: number
  ranges: number
  gens: number
  results: number
  digest: number
  bytes: number
}

function pow2AtLeast (n: number): number {
  let p = 1
  while (p < n) p *= 2
  return p
}

export function jobLayout (chunkJobs: number, wholeJobs: number): JobLayout {
  const c = pow2AtLeast(Math.min(Math.max(1, chunkJobs), MAX_CHUNK_JOBS))
  const w = pow2AtLeast(Math.max(2, wholeJobs))
  const wf = CTL_BYTES
  const ranges = wf + 4 * WF_WORDS * w
  const gens = ranges + 8 * c
  const results = gens + 4 * c
  const digest = results + DIGEST_BYTES * c
  return { chunkJobs: c, wholeJobs: w, wf, ranges, gens, results, digest, bytes: digest + DIGEST_BYTES }
}

/**
 * The worker's side, CommonJS evaluated from this string (see slot-hasher.ts). The
 * loop blocks in Atomics.wait when there is nothing to do and returns on CLOSE.
 */
export const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads')
const { blake3, Blake3Hasher } = require(workerData.blakePath)
const { memory, control, layout: L, ctl: C } = workerData
const mem = new Uint8Array(memory)
const ctl = new Int32Array(control, 0, ${CTL_BYTES / 4})
const wf = new Uint32Array(control, L.wf, ${WF_WORDS} * L.wholeJobs)
const ranges = new Uint32Array(control, L.ranges, 2 * L.chunkJobs)
const gens = new Int32Array(control, L.gens, L.chunkJobs)
const results = new Uint8Array(control, L.results, ${DIGEST_BYTES} * L.chunkJobs)
const digest = new Uint8Array(control, L.digest, ${DIGEST_BYTES})
const idle = new Float64Array(control, ${IDLE_OFFSET}, 1)
let hasher = new Blake3Hasher()
let wfDone = Atomics.load(ctl, C.WF_DONE)
// Wakes main after a whole-file job (one a slot) and when no chunk job is left
// unclaimed (before this loop may go idle), not after each of thousands of chunks:
// a result main waits for is late by at most that much. If main claims the last
// jobs itself, it wakes its own wait (HashJobs.help).
const finished = (always) => {
  Atomics.add(ctl, C.DONE_SEQ, 1)
  if (always || Atomics.load(ctl, C.CH_NEXT) === Atomics.load(ctl, C.CH_PUB)) Atomics.notify(ctl, C.DONE_SEQ)
}
for (;;) {
  const seq = Atomics.load(ctl, C.SEQ)
  if (Atomics.load(ctl, C.CLOSE) !== 0) break
  if (wfDone !== Atomics.load(ctl, C.WF_PUB)) {
    const e = ${WF_WORDS} * (wfDone & (L.wholeJobs - 1))
    if (wf[e + 2] === ${WF_DIGEST}) {
      digest.set(hasher.digestBuffer())
      hasher = new Blake3Hasher()
    } else {
      hasher.update(mem.subarray(wf[e], wf[e + 1]))
    }
    wfDone = (wfDone + 1) | 0
    Atomics.store(ctl, C.WF_DONE, wfDone)
    finished(true)
    continue
  }
  const j = Atomics.load(ctl, C.CH_NEXT)
  if (((Atomics.load(ctl, C.CH_PUB) - j) | 0) > 0) {
    if (Atomics.compareExchange(ctl, C.CH_NEXT, j, (j + 1) | 0) !== j) continue
    const e = j & (L.chunkJobs - 1)
    results.set(blake3(mem.subarray(ranges[2 * e], ranges[2 * e + 1])), ${DIGEST_BYTES} * e)
    Atomics.store(gens, e, (j + 1) | 0)
    finished(false)
    continue
  }
  const t0 = performance.now()
  Atomics.wait(ctl, C.SEQ, seq)
  idle[0] += (performance.now() - t0) / 1000
}
`

export interface HashStats {
  chunks: number
  chunksOnMain: number
  /** time the worker spent blocked waiting for jobs, start-up included (not atomic: a figure for benchmarks) */
  workerIdleSeconds: number
}

interface Waiter {
  ready: () => boolean
  resolve: () => void
  reject: (err: unknown) => void
}

/** The main thread's side of the job rings over one control buffer. */
export class HashJobs {
  readonly layout: JobLayout
  readonly control: SharedArrayBuffer
  private readonly mem: Uint8Array
  private readonly ctl: Int32Array
  private readonly wf: Uint32Array
  private readonly ranges: Uint32Array
  private readonly gens: Int32Array
  private readonly results: Uint8Array
  private readonly digestBytes: Uint8Array
  /** chunks hashed since this was made, and how many of them on the main thread */
  private readonly counts = { chunks: 0, chunksOnMain: 0 }
  private readonly workerIdle: Float64Array
  private chPub = 0
  /** first job of the newest batches, oldest first */
  private batchFirsts: number[] = []
  /** chunk jobs whose ids main has read out (entries before it may be reused) */
  private chConsumed = 0
  private wfPub = 0
  private lastChunks: Promise<unknown> = Promise.resolve()
  private waiters: Waiter[] = []
  private sleeping = false
  private failure: unknown

  /**
   * `memory` holds the bytes to hash; `chunkJobs` and `wholeJobs` are the most jobs
   * of each kind that can be in flight at once (rounded up to powers of two).
   */
  constructor (memory: SharedArrayBuffer, chunkJobs: number, wholeJobs: number) {
    this.layout = jobLayout(chunkJobs, wholeJobs)
    const L = this.layout
    this.control = new SharedArrayBuffer(L.bytes)
    this.mem = new Uint8Array(memory)
    this.ctl = new Int32Array(this.control, 0, CTL_BYTES / 4)
    this.wf = new Uint32Array(this.control, L.wf, WF_WORDS * L.wholeJobs)
    this.ranges = new Uint32Array(this.control, L.ranges, 2 * L.chunkJobs)
    this.gens = new Int32Array(this.control, L.gens, L.chunkJobs)
    this.results = new Uint8Array(this.control, L.results, DIGEST_BYTES * L.chunkJobs)
    this.digestBytes = new Uint8Array(this.control, L.digest, DIGEST_BYTES)
    this.workerIdle = new Float64Array(this.control, IDLE_OFFSET, 1)
  }

  /** Chunks hashed since this was made, how many on the main thread, and the worker's idle seconds. */
  get stats (): HashStats {
    return { ...this.counts, workerIdleSeconds: this.workerIdle[0] ?? 0 }
  }

  private wakeWorker (): void {
    Atomics.add(this.ctl, CTL.SEQ, 1)
    Atomics.notify(this.ctl, CTL.SEQ)
  }

  /** Adds memory [start, end) to the whole-file hash; resolves once the worker has. */
  async addWhole (start: number, end: number): Promise<void> {
    if (end > start) await this.publishWhole(WF_UPDATE, start, end)
  }

  /** The whole-file digest (hex) of everything added since the last one. */
  async digest (): Promise<string> {
    await this.publishWhole(WF_DIGEST, 0, 0)
    return Buffer.from(this.digestBytes).toString('hex')
  }

  private async publishWhole (op: number, start: number, end: number): Promise<void> {
    if (this.failure !== undefined) throw this.failure
    // The caller sized the ring for the most ranges it has in flight (one a slot).
    if (((this.wfPub - Atomics.load(this.ctl, CTL.WF_DONE)) | 0) >= this.layout.wholeJobs) {
      throw new StoremeshError('E_INTERNAL', 'whole-file job ring is full')
    }
    const e = WF_WORDS * (this.wfPub & (this.layout.wholeJobs - 1))
    this.wf[e] = start
    this.wf[e + 1] = end
    this.wf[e + 2] = op
    const ticket = this.wfPub = (this.wfPub + 1) | 0
    Atomics.store(this.ctl, CTL.WF_PUB, ticket)
    this.wakeWorker()
    await this.waitFor(() => ((Atomics.load(this.ctl, CTL.WF_DONE) - ticket) | 0) >= 0)
  }

  /**
   * Publishes one job per chunk [ranges[2i], ranges[2i+1]), takes what the worker
   * left of earlier batches (help), and resolves, in call order, to their ids (hex)
   * once every one is done.
   */
  async hashChunks (ranges: number[]): Promise<string[]> {
    if (this.failure !== undefined) throw this.failure
    const count = ranges.length / 2
    this.counts.chunks += count
    const free = this.layout.chunkJobs - ((this.chPub - this.chConsumed) | 0)
    const jobs = Math.min(count, free)
    const first = this.chPub
    for (let i = 0; i < jobs; i++) {
      const e = 2 * ((first + i) & (this.layout.chunkJobs - 1))
      this.ranges[e] = ranges[2 * i] as number
      this.ranges[e + 1] = ranges[2 * i + 1] as number
    }
    if (jobs > 0) {
      this.batchFirsts.push(first)
      if (this.batchFirsts.length > WORKER_BATCHES) this.batchFirsts.shift()
      this.chPub = (first + jobs) | 0
      Atomics.store(this.ctl, CTL.CH_PUB, this.chPub)
      this.wakeWorker()
    }
    // Only with a ring smaller than the slots' chunks (tiny chunks): hash the rest here.
    const extra: string[] = []
    this.counts.chunksOnMain += count - jobs
    for (let i = jobs; i < count; i++) extra.push(blake3(this.mem.subarray(ranges[2 * i], ranges[2 * i + 1])).toString('hex'))
    this.help()
    const previous = this.lastChunks
    const ids = (async () => {
      await previous
      await this.waitFor(() => this.allDone(first, jobs))
      const out: string[] = []
      for (let i = 0; i < jobs; i++) {
        const e = DIGEST_BYTES * ((first + i) & (this.layout.chunkJobs - 1))
        out.push(Buffer.from(this.results.buffer, this.results.byteOffset + e, DIGEST_BYTES).toString('hex'))
      }
      this.chConsumed = (first + jobs) | 0
      return out.concat(extra)
    })()
    this.lastChunks = ids.catch(() => {})
    return await ids
  }

  private allDone (first: number, jobs: number): boolean {
    for (let i = 0; i < jobs; i++) {
      const j = (first + i) | 0
      if (Atomics.load(this.gens, j & (this.layout.chunkJobs - 1)) !== ((j + 1) | 0)) return false
    }
    return true
  }

  /**
   * Hashes, on this thread, the chunk jobs still unclaimed from batches older than the
   * WORKER_BATCHES newest (all of them with `all`). While the worker keeps up, this
   * thread goes straight back to scanning; when it falls behind, what it left is taken
   * here at the next batch, so the split follows the threads' speeds.
   */
  help (all = false): void {
    const stop = all ? this.chPub : this.batchFirsts[0] ?? this.chPub
    let hashed = false
    for (;;) {
      const j = Atomics.load(this.ctl, CTL.CH_NEXT)
      if (((stop - j) | 0) <= 0) break
      if (Atomics.compareExchange(this.ctl, CTL.CH_NEXT, j, (j + 1) | 0) !== j) continue
      const e = j & (this.layout.chunkJobs - 1)
      this.results.set(blake3(this.mem.subarray(this.ranges[2 * e], this.ranges[2 * e + 1])), DIGEST_BYTES * e)
      Atomics.store(this.gens, e, (j + 1) | 0)
      this.counts.chunksOnMain++
      hashed = true
    }
    if (hashed) this.wakeSelf()
  }

  /** Wakes this thread's own waitAsync, if it sleeps, to look at the flags again. */
  private wakeSelf (): void {
    Atomics.add(this.ctl, CTL.DONE_SEQ, 1)
    Atomics.notify(this.ctl, CTL.DONE_SEQ)
  }

  private async waitFor (ready: () => boolean): Promise<void> {
    if (this.failure !== undefined) throw this.failure
    if (ready()) return
    await new Promise<void>((resolve, reject) => {
      this.waiters.push({ ready, resolve, reject })
      this.pump()
    })
  }

  /** Settles the waiters that are ready; sleeps (without blocking) until the next job finishes. */
  private pump (): void {
    if (this.sleeping) return
    for (;;) {
      this.help()
      const seq = Atomics.load(this.ctl, CTL.DONE_SEQ)
      this.waiters = this.waiters.filter(w => {
        if (!w.ready()) return true
        w.resolve()
        return false
      })
      if (this.waiters.length === 0 || this.failure !== undefined) return
      const r = Atomics.waitAsync(this.ctl, CTL.DONE_SEQ, seq)
      if (!r.async) continue
      this.sleeping = true
      void r.value.then(() => {
        this.sleeping = false
        this.pump()
      })
      return
    }
  }

  /** The worker is gone or closing: everything waiting rejects with `err`. */
  fail (err: unknown): void {
    this.failure ??= err
    for (const w of this.waiters.splice(0)) w.reject(this.failure)
    // wakes our own waitAsync (it would otherwise wait for ever) and tells the worker to stop
    Atomics.store(this.ctl, CTL.CLOSE, 1)
    this.wakeWorker()
    this.wakeSelf()
  }

  get failed (): boolean {
    return this.failure !== undefined
  }
}
