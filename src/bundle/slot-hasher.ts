/**
 * All BLAKE3 work of chunking a file: each chunk's id and the whole-file hash, over
 * ranges of the chunker's memory. These are two full BLAKE3 passes on top of the
 * gear scan. On a machine with a second core the work is shared with a worker thread
 * through the job rings of hash-jobs.ts: the worker runs the whole-file chain and the
 * chunk jobs, and the main thread takes between scans the chunk jobs the worker has
 * fallen behind on, so both threads stay busy (bench/bundle.ts prints the split). The
 * inline hasher does the same work on the calling thread.
 */
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import { blake3, Blake3Hasher } from '@napi-rs/blake-hash'
import { StoremeshError } from '../interface/errors.js'
import { CTL, HashJobs, WORKER_SOURCE, type HashStats } from './hash-jobs.js'

export interface SlotHasher {
  /**
   * Adds memory [start, end) to the whole-file hash (calls come in file order).
   * Resolves once the hasher no longer reads those bytes.
   */
  addWhole(start: number, end: number): Promise<void>
  /**
   * Hashes each chunk [ranges[2i], ranges[2i+1]). Resolves, in call order, to the
   * chunk ids (hex) once the hasher no longer reads any of those bytes.
   */
  hashChunks(ranges: number[]): Promise<string[]>
  /** The hex whole-file digest of everything added since the last digest; starts afresh. */
  digest(): Promise<string>
  close(): Promise<void>
}

export class InlineSlotHasher implements SlotHasher {
  private hasher = new Blake3Hasher()
  private readonly bytes: Uint8Array

  constructor (buffer: ArrayBuffer | SharedArrayBuffer) {
    this.bytes = new Uint8Array(buffer)
  }

  async addWhole (start: number, end: number): Promise<void> {
    if (end > start) this.hasher.update(this.bytes.subarray(start, end))
  }

  async hashChunks (ranges: number[]): Promise<string[]> {
    const out: string[] = []
    for (let i = 0; i < ranges.length; i += 2) {
      out.push(blake3(this.bytes.subarray(ranges[i], ranges[i + 1])).toString('hex'))
    }
    return out
  }

  async digest (): Promise<string> {
    const d = this.hasher.digestBuffer().toString('hex')
    this.hasher = new Blake3Hasher()
    return d
  }

  async close (): Promise<void> {}
}

/** Shares the hashing with one worker thread over `buffer` (see hash-jobs.ts). */
export class WorkerSlotHasher implements SlotHasher {
  readonly worker: Worker
  private readonly jobs: HashJobs

  /** At most `chunkJobs` chunks and `wholeJobs` whole-file ranges are in flight at once. */
  constructor (buffer: SharedArrayBuffer, chunkJobs: number, wholeJobs: number) {
    this.jobs = new HashJobs(buffer, chunkJobs, wholeJobs)
    const blakePath = createRequire(import.meta.url).resolve('@napi-rs/blake-hash')
    const workerData = { memory: buffer, control: this.jobs.control, layout: this.jobs.layout, ctl: CTL, blakePath }
    // execArgv: [] keeps the parent's loaders (tsx) out of a worker that needs none.
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData, execArgv: [] })
    this.worker.on('error', err => this.jobs.fail(new StoremeshError('E_INTERNAL', `hash worker failed: ${err.message}`, {}, { cause: err })))
    this.worker.on('exit', code => this.jobs.fail(new StoremeshError('E_INTERNAL', `hash worker exited with code ${code}`)))
  }

  get stats (): HashStats {
    return this.jobs.stats
  }

  async addWhole (start: number, end: number): Promise<void> {
    await this.jobs.addWhole(start, end)
  }

  async hashChunks (ranges: number[]): Promise<string[]> {
    return await this.jobs.hashChunks(ranges)
  }

  async digest (): Promise<string> {
    return await this.jobs.digest()
  }

  async close (): Promise<void> {
    this.jobs.fail(new StoremeshError('E_ABORTED', 'hasher closed'))
    await this.worker.terminate()
  }
}
