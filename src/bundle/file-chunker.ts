/**
 * Streams a file through FastCDC and BLAKE3 in bounded memory: the file is read in
 * `readBytes` pieces straight into a ring of slots inside the chunker's WebAssembly
 * memory (no copies), each slot is scanned for cuts, every chunk is hashed where it
 * lies, and the unfinished chunk at a slot's end (less than maxBytes) is carried to
 * the front of the next slot. Memory in use is `slots * (maxBytes + readBytes)` plus
 * a megabyte, whatever the file's size (about 30 MiB at the defaults).
 *
 * Pipeline: the reads of the next slots (libuv thread pool) overlap the scan of slot
 * k on this thread. With a worker (slot-hasher.ts, hash-jobs.ts), a slot's fresh
 * bytes go to the worker's whole-file hash as soon as its read lands (reads run up
 * to slots - 2 ahead), and after the scan its chunks become jobs that the worker
 * claims one by one and this thread takes over where the worker falls behind, so
 * neither waits for the other while there is work. Chunks are still announced in
 * file order; a slot is reused only once its hashing and the onChunk promises of its
 * chunks (e.g. chunk file writes) have settled.
 */
import { open } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { StoremeshError } from '../interface/errors.js'
import type { ChunkingParams, ChunkRef } from '../interface/types.js'
import { chunkingParams, FastCdcChunker } from './fastcdc.js'
import type { HashStats } from './hash-jobs.js'
import { InlineSlotHasher, WorkerSlotHasher, type SlotHasher } from './slot-hasher.js'

/**
 * @default 1 MiB per read. Each byte is touched four times (read copy, scan, chunk id,
 * whole-file hash); with small slots it is still in the cache for the later ones.
 * bench:bundle on the 2-core EPYC VM: 1 MiB x 8 slots 1428 MiB/s and 1.33 CPU-s per
 * GiB, 4 MiB x 6 slots 1329 MiB/s and 1.79 CPU-s (the parts alone, in cache: 1.2).
 */
export const DEFAULT_READ_BYTES = 1024 * 1024
/**
 * @default 8 slots: one being read, one scanned, the rest give the hashing and chunk
 * writes slack (5 were too few: 1128 MiB/s, the threads waited on each other).
 */
export const DEFAULT_SLOTS = 8
/** Files smaller than this hash inline: starting a worker costs more than it saves. */
export const WORKER_MIN_FILE_BYTES = 32 * 1024 * 1024

export interface ChunkedFile {
  size: number
  /** BLAKE3-256 of the whole file, hex */
  blake3: string
  chunks: ChunkRef[]
}

export interface ChunkEvent {
  /** index of the chunk within its file */
  index: number
  hash: string
  /** the chunk's bytes; valid until the promise onChunk returned settles */
  data: Uint8Array
}

export interface FileChunkerOptions {
  chunking?: Partial<Omit<ChunkingParams, 'algorithm'>>
  /** @default DEFAULT_READ_BYTES */
  readBytes?: number
  /** @default DEFAULT_SLOTS */
  slots?: number
  /** Hash whole files in a worker thread: 'auto' does so on a machine with 2+ cores. @default 'auto' */
  hashThread?: boolean | 'auto'
  /** Smaller files hash on this thread even when hashThread is on. @default WORKER_MIN_FILE_BYTES */
  workerMinFileBytes?: number
}

export interface ChunkFileOptions {
  onChunk?: (chunk: ChunkEvent) => Promise<void> | void
  /** called with the number of bytes just read */
  onBytes?: (bytes: number) => void
  signal?: AbortSignal
}

interface SlotRead {
  /** bytes read (fewer than readBytes at the end of the file) */
  n: number
  /** settles once the whole-file hash no longer reads them */
  whole: Promise<void>
}

export class FileChunker {
  readonly params: ChunkingParams
  private readonly chunker: FastCdcChunker
  private readonly readBytes: number
  private readonly slots: number
  private readonly slotBytes: number
  private readonly useWorker: boolean
  private readonly workerMinFileBytes: number
  private readonly inline: InlineSlotHasher
  private worker: WorkerSlotHasher | undefined

  constructor (options: FileChunkerOptions = {}) {
    this.readBytes = options.readBytes ?? DEFAULT_READ_BYTES
    this.slots = options.slots ?? DEFAULT_SLOTS
    if (!Number.isSafeInteger(this.readBytes) || this.readBytes < 1) {
      throw new StoremeshError('E_INVALID_ARGUMENT', 'readBytes must be a positive integer')
    }
    if (!Number.isSafeInteger(this.slots) || this.slots < 2) {
      throw new StoremeshError('E_INVALID_ARGUMENT', 'at least 2 slots are needed')
    }
    const hashThread = options.hashThread ?? 'auto'
    this.useWorker = hashThread === 'auto' ? availableParallelism() > 1 : hashThread
    this.workerMinFileBytes = options.workerMinFileBytes ?? WORKER_MIN_FILE_BYTES
    this.params = chunkingParams(options.chunking)
    this.slotBytes = this.params.maxBytes + this.readBytes
    this.chunker = new FastCdcChunker(this.params, { arenaBytes: this.slots * this.slotBytes, shared: this.useWorker })
    const buffer = this.chunker.memoryBuffer
    if (buffer === undefined) throw new StoremeshError('E_INTERNAL', 'chunker has no memory')
    this.inline = new InlineSlotHasher(buffer)
  }

  private hasherFor (sizeBytes: number): SlotHasher {
    if (!this.useWorker || sizeBytes < this.workerMinFileBytes) return this.inline
    // Every chunk but a file's last is at least minBytes long, and a slot is read
    // into again only once all its jobs are done: this bounds the jobs in flight.
    const chunksPerSlot = Math.floor(this.slotBytes / this.params.minBytes) + 1
    this.worker ??= new WorkerSlotHasher(this.chunker.memoryBuffer as SharedArrayBuffer, this.slots * chunksPerSlot, this.slots + 1)
    return this.worker
  }

  /** Chunks and hashes one file; calls onChunk for every chunk in order. */
  async chunkFile (path: string, options: ChunkFileOptions = {}): Promise<ChunkedFile> {
    const { onChunk, onBytes, signal } = options
    signal?.throwIfAborted()
    const fh = await open(path, 'r')
    const released: Array<Promise<unknown>> = new Array(this.slots).fill(Promise.resolve())
    /** reads issued and not yet taken by the loop, in file order */
    const reads: Array<Promise<SlotRead>> = []
    let emitChain: Promise<void> = Promise.resolve()
    try {
      const st = await fh.stat()
      if (!st.isFile()) throw new StoremeshError('E_INVALID_ARGUMENT', `${path} is not a regular file`, { path })
      const hasher = this.hasherFor(st.size)
      const mem = new Uint8Array(this.chunker.memoryBuffer as ArrayBuffer)
      const arenaStart = this.chunker.arena.byteOffset
      const chunks: ChunkRef[] = []
      const cuts: number[] = []
      const { maxBytes } = this.params
      const readBytes = this.readBytes
      // Each slot is [carry area: maxBytes][fresh area: readBytes]. Reads always land in
      // the fresh area, so later reads can start before this slot's carry is known.
      const freshOf = (slot: number): number => arenaStart + slot * this.slotBytes + maxBytes
      // Read i goes to slot i % slots once that slot's last user (read i - slots) has
      // released it, and its bytes join the whole-file hash as soon as it lands (in file
      // order), so the worker hashes ahead of the scan. At most slots - 1 reads may run
      // ahead (the carry is copied out of slot k before read k + slots may overwrite
      // it); slots - 2 leaves the emit chain and the hashing of older slots some slack.
      const readAhead = Math.max(1, this.slots - 2)
      let issued = 0
      let lastRead: Promise<unknown> = Promise.resolve()
      const issueRead = (): void => {
        const slot = issued % this.slots
        const position = issued * readBytes
        const previous = lastRead
        const read = (async (): Promise<SlotRead> => {
          await released[slot]
          let n = 0
          while (n < readBytes) {
            const { bytesRead } = await fh.read(mem, freshOf(slot) + n, readBytes - n, position + n)
            if (bytesRead === 0) break
            n += bytesRead
          }
          await previous
          const whole = hasher.addWhole(freshOf(slot), freshOf(slot) + n)
          whole.catch(() => {}) // awaited before the slot is reused
          return { n, whole }
        })()
        read.catch(() => {}) // awaited in turn by the loop
        lastRead = read
        reads.push(read)
        issued++
      }
      let carryStart = 0
      let carryLen = 0
      let fileOffset = 0
      this.chunker.reset()
      issueRead()

      for (let k = 0; ; k++) {
        signal?.throwIfAborted()
        const slot = k % this.slots
        const { n, whole } = await (reads.shift() as Promise<SlotRead>)
        const eof = n < readBytes
        const freshStart = freshOf(slot)
        const freshEnd = freshStart + n
        // The unfinished chunk of the previous slot goes just before the fresh bytes,
        // before a later read may reuse that slot.
        if (carryLen > 0) mem.copyWithin(freshStart - carryLen, carryStart, carryStart + carryLen)
        // Past the expected end, only the next read (a growing file, or the empty read
        // that tells a file of whole reads has ended).
        while (!eof && issued <= k + readAhead && (issued === k + 1 || issued * readBytes <= st.size)) issueRead()
        fileOffset += n
        cuts.length = 0
        this.chunker.push(mem.subarray(freshStart, freshEnd), cuts)
        const ranges: number[] = []
        let chunkStart = freshStart - carryLen
        for (const cut of cuts) {
          ranges.push(chunkStart, freshStart + cut)
          chunkStart = freshStart + cut
        }
        const rest = freshEnd - chunkStart
        if (eof) {
          const last = this.chunker.finish()
          if (last !== rest) throw new StoremeshError('E_INTERNAL', `chunker lost track: ${last} != ${rest}`)
          if (rest > 0) ranges.push(chunkStart, freshEnd)
        } else if (rest !== this.chunker.pending || rest >= maxBytes) {
          throw new StoremeshError('E_INTERNAL', `chunker carry ${rest} out of step (${this.chunker.pending})`)
        }
        carryStart = chunkStart
        carryLen = eof ? 0 : rest

        // Publishes the chunks as jobs and hashes those the worker has not claimed; the
        // ids may come later, but chunks are still announced in file order.
        const hashed = hasher.hashChunks(ranges)
        hashed.catch(() => {}) // awaited in order by the emit chain
        const emitted = emitChain.then(async () => {
          const hashes = await hashed
          const writes: Array<Promise<void>> = []
          hashes.forEach((hash, i) => {
            const start = ranges[2 * i] as number
            const end = ranges[2 * i + 1] as number
            const index = chunks.length
            chunks.push({ hash, size: end - start })
            const r = onChunk?.({ index, hash, data: mem.subarray(start, end) })
            if (r !== undefined) writes.push(r)
          })
          return writes
        })
        emitChain = emitted.then(() => {})
        emitChain.catch(() => {}) // awaited at the end; this only marks it handled meanwhile
        const done = Promise.all([emitted.then(async writes => await Promise.all(writes)), whole])
        done.catch(() => {}) // awaited before the slot is reused
        released[slot] = done
        onBytes?.(n)
        if (eof) break
      }
      await emitChain
      // reads issued past a file that shrank while we read it land before the digest
      await Promise.all([...released, ...reads])
      const blake3 = await hasher.digest()
      return { size: fileOffset, blake3, chunks }
    } catch (err) {
      this.chunker.reset()
      await this.inline.digest() // drop what it had of this file
      // Writes still in flight read our memory: let them settle before it is reused.
      await Promise.allSettled([...released, ...reads, emitChain])
      if (this.worker !== undefined) {
        await this.worker.close()
        this.worker = undefined
      }
      if (signal?.aborted === true) throw new StoremeshError('E_ABORTED', 'aborted', { path }, { cause: err })
      throw err
    } finally {
      await fh.close()
    }
  }

  /** Chunks hashed with the hash worker since it started, how many on this thread, its idle time. */
  get hashStats (): HashStats | undefined {
    return this.worker?.stats
  }

  async close (): Promise<void> {
    await this.worker?.close()
    this.worker = undefined
  }
}
