/**
 * Streams a file through FastCDC and BLAKE3 in bounded memory: the file is read in
 * `readBytes` pieces straight into a ring of slots inside the chunker's WebAssembly
 * memory (no copies), each slot is scanned for cuts, every chunk is hashed where it
 * lies, and the unfinished chunk at a slot's end (less than maxBytes) is carried to
 * the front of the next slot. Memory in use is `slots * (maxBytes + readBytes)` plus
 * a megabyte, whatever the file's size (about 28 MiB at the defaults).
 *
 * Pipeline: the read of slot k+1 (libuv thread pool) and the BLAKE3 work of slot k
 * (slot-hasher.ts, a worker thread when there is a second core) overlap the scan of
 * slot k on this thread; a slot is reused only once its hashing and the onChunk
 * promises of its chunks (e.g. chunk file writes) have settled.
 */
import { open } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { StoremeshError } from '../interface/errors.js'
import type { ChunkingParams, ChunkRef } from '../interface/types.js'
import { chunkingParams, FastCdcChunker } from './fastcdc.js'
import { blake3Hex } from './hash.js'
import { InlineSlotHasher, WorkerSlotHasher, type SlotHasher } from './slot-hasher.js'

/** @default 8 MiB per read: large enough that syscalls and calls into WebAssembly are noise. */
export const DEFAULT_READ_BYTES = 8 * 1024 * 1024
/** @default 3 slots: one being read and scanned, two whose hashing or chunk writes finish. */
export const DEFAULT_SLOTS = 3
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
}

export interface ChunkFileOptions {
  onChunk?: (chunk: ChunkEvent) => Promise<void> | void
  /** called with the number of bytes just read */
  onBytes?: (bytes: number) => void
  signal?: AbortSignal
}

export class FileChunker {
  readonly params: ChunkingParams
  private readonly chunker: FastCdcChunker
  private readonly readBytes: number
  private readonly slots: number
  private readonly slotBytes: number
  private readonly useWorker: boolean
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
    this.params = chunkingParams(options.chunking)
    this.slotBytes = this.params.maxBytes + this.readBytes
    this.chunker = new FastCdcChunker(this.params, { arenaBytes: this.slots * this.slotBytes, shared: this.useWorker })
    const buffer = this.chunker.memoryBuffer
    if (buffer === undefined) throw new StoremeshError('E_INTERNAL', 'chunker has no memory')
    this.inline = new InlineSlotHasher(buffer)
  }

  private hasherFor (sizeBytes: number): SlotHasher {
    if (!this.useWorker || sizeBytes < WORKER_MIN_FILE_BYTES) return this.inline
    this.worker ??= new WorkerSlotHasher(this.chunker.memoryBuffer as SharedArrayBuffer)
    return this.worker
  }

  /** Chunks and hashes one file; calls onChunk for every chunk in order. */
  async chunkFile (path: string, options: ChunkFileOptions = {}): Promise<ChunkedFile> {
    const { onChunk, onBytes, signal } = options
    signal?.throwIfAborted()
    const fh = await open(path, 'r')
    const released: Array<Promise<unknown>> = new Array(this.slots).fill(Promise.resolve())
    let nextRead: Promise<number> = Promise.resolve(0)
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
      // the fresh area, so the next read can start before this slot's carry is known.
      const freshOf = (slot: number): number => arenaStart + slot * this.slotBytes + maxBytes
      const readSlot = async (slot: number, position: number): Promise<number> => {
        await released[slot]
        let n = 0
        while (n < readBytes) {
          const { bytesRead } = await fh.read(mem, freshOf(slot) + n, readBytes - n, position + n)
          if (bytesRead === 0) break
          n += bytesRead
        }
        return n
      }
      let carryStart = 0
      let carryLen = 0
      let fileOffset = 0
      this.chunker.reset()
      nextRead = readSlot(0, 0)

      for (let k = 0; ; k++) {
        signal?.throwIfAborted()
        const slot = k % this.slots
        const n = await nextRead
        const eof = n < readBytes
        const freshStart = freshOf(slot)
        const freshEnd = freshStart + n
        // The unfinished chunk of the previous slot goes just before the fresh bytes,
        // before the next read may reuse that slot (with 2 slots it does).
        if (carryLen > 0) mem.copyWithin(freshStart - carryLen, carryStart, carryStart + carryLen)
        if (!eof) {
          nextRead = readSlot((k + 1) % this.slots, fileOffset + n)
          nextRead.catch(() => {}) // awaited next round
        }
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

        // Hashing may finish later (worker); chunks are still announced in file order.
        // With a worker, this thread takes the chunk ids of every other slot: the scan
        // costs about half a BLAKE3 pass, so that splits the work evenly.
        let hashed: Promise<string[]>
        if (hasher !== this.inline && k % 2 === 1) {
          const ids: string[] = []
          for (let i = 0; i < ranges.length; i += 2) ids.push(blake3Hex(mem.subarray(ranges[i], ranges[i + 1])))
          hashed = hasher.hashSlot(freshStart, freshEnd, []).then(() => ids)
        } else {
          hashed = hasher.hashSlot(freshStart, freshEnd, ranges)
        }
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
        const done = emitted.then(async writes => await Promise.all(writes))
        done.catch(() => {}) // awaited before the slot is reused
        released[slot] = done
        onBytes?.(n)
        if (eof) break
      }
      await emitChain
      await Promise.all(released)
      const blake3 = await hasher.digest()
      return { size: fileOffset, blake3, chunks }
    } catch (err) {
      this.chunker.reset()
      await this.inline.digest() // drop what it had of this file
      // Writes still in flight read our memory: let them settle before it is reused.
      await Promise.allSettled([...released, nextRead, emitChain])
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

  async close (): Promise<void> {
    await this.worker?.close()
    this.worker = undefined
  }
}
