/**
 * All BLAKE3 work of chunking a file: each chunk's id and the whole-file hash, over
 * ranges of the chunker's memory. These are two full BLAKE3 passes on top of the
 * gear scan; on a machine with a second core the whole-file pass and half of the
 * chunk ids run in a worker thread that reads the same shared memory while the main
 * thread scans the next slot (file-chunker.ts), which is what lets `bundle build`
 * keep pace with single-threaded b3sum (bench/bundle.ts). The inline hasher does the
 * same work on the calling thread.
 */
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import { blake3, Blake3Hasher } from '@napi-rs/blake-hash'
import { StoremeshError } from '../interface/errors.js'

export interface SlotHasher {
  /**
   * Adds memory [freshStart, freshEnd) to the whole-file hash and hashes each chunk
   * [ranges[2i], ranges[2i+1]). Resolves, in call order, to the chunk ids (hex)
   * once the hasher no longer reads any of those bytes.
   */
  hashSlot(freshStart: number, freshEnd: number, ranges: number[]): Promise<string[]>
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

  async hashSlot (freshStart: number, freshEnd: number, ranges: number[]): Promise<string[]> {
    if (freshEnd > freshStart) this.hasher.update(this.bytes.subarray(freshStart, freshEnd))
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

// CommonJS, evaluated from this string, so that it runs the same under tsx and from
// the compiled dist/ and needs no file of its own.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const { blake3, Blake3Hasher } = require(workerData.blakePath)
const bytes = new Uint8Array(workerData.buffer)
let hasher = new Blake3Hasher()
parentPort.on('message', (m) => {
  if (m.op === 'slot') {
    if (m.freshEnd > m.freshStart) hasher.update(bytes.subarray(m.freshStart, m.freshEnd))
    const hashes = []
    for (let i = 0; i < m.ranges.length; i += 2) hashes.push(blake3(bytes.subarray(m.ranges[i], m.ranges[i + 1])).toString('hex'))
    parentPort.postMessage({ hashes })
  } else if (m.op === 'digest') {
    const digest = hasher.digestBuffer().toString('hex')
    hasher = new Blake3Hasher()
    parentPort.postMessage({ digest })
  }
})
`

interface Pending {
  resolve: (reply: { hashes?: string[], digest?: string }) => void
  reject: (err: unknown) => void
}

/** Hashes in a worker thread; requests are answered in order. */
export class WorkerSlotHasher implements SlotHasher {
  private readonly worker: Worker
  private readonly pending: Pending[] = []
  private failure: unknown

  constructor (buffer: SharedArrayBuffer) {
    const blakePath = createRequire(import.meta.url).resolve('@napi-rs/blake-hash')
    // execArgv: [] keeps the parent's loaders (tsx) out of a worker that needs none.
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { buffer, blakePath }, execArgv: [] })
    this.worker.on('message', (m: { hashes?: string[], digest?: string }) => this.pending.shift()?.resolve(m))
    this.worker.on('error', err => this.fail(err))
    this.worker.on('exit', code => this.fail(new StoremeshError('E_INTERNAL', `hash worker exited with code ${code}`)))
  }

  private fail (err: unknown): void {
    this.failure ??= err
    for (const p of this.pending.splice(0)) p.reject(err)
  }

  private async request (msg: object): Promise<{ hashes?: string[], digest?: string }> {
    if (this.failure !== undefined) throw this.failure
    return await new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject })
      this.worker.postMessage(msg)
    })
  }

  async hashSlot (freshStart: number, freshEnd: number, ranges: number[]): Promise<string[]> {
    const r = await this.request({ op: 'slot', freshStart, freshEnd, ranges })
    if (r.hashes?.length !== ranges.length / 2) throw new StoremeshError('E_INTERNAL', 'hash worker answered out of step')
    return r.hashes
  }

  async digest (): Promise<string> {
    const r = await this.request({ op: 'digest' })
    if (typeof r.digest !== 'string') throw new StoremeshError('E_INTERNAL', 'hash worker sent no digest')
    return r.digest
  }

  async close (): Promise<void> {
    this.failure ??= new StoremeshError('E_ABORTED', 'hasher closed')
    await this.worker.terminate()
  }
}
