/**
 * The chunk half of the store (DESIGN.md section 6): content-addressed chunk files
 * under `<dataDir>/chunks`, the level index under `<dataDir>/index`, the quota, and
 * the lifecycle. It implements ChunkSink for the swarm and WAN: put() verifies before
 * anything is written, every read re-verifies and drops a chunk that fails, so no
 * unverified byte is ever served. ChunkStore (store.ts) adds the bundle API on top.
 *
 * Locks, outermost first: a per-hash lock (puts, drops and evictions of one chunk),
 * the quota's eviction lock, then the index lock around every read-modify-write of
 * the index. Eviction skips chunks whose hash lock is held, so it never waits on one.
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { isStoremeshError, StoremeshError } from '../interface/errors.js'
import type { ChunkSink } from '../interface/types.js'
import type { Startable } from '../interface/startable.js'
import { blake3Hex, isHashHex } from '../bundle/hash.js'
import { ChunkFiles, mapDiskError } from './chunk-files.js'
import {
  CHUNKS_SUBDIR, defaultEvictionSlackBytes, defaultStoreOptions, INDEX_SUBDIR, MAX_CHUNK_FILE_BYTES,
  type StoreOptions
} from './constants.js'
import { BundleTable, type Apply } from './bundles.js'
import { IndexDb, type IndexBatch } from './index-db.js'
import { KeyedMutex, Mutex } from './mutex.js'
import { Quota, type QuotaStats } from './quota.js'
import { recoverChunks, type RecoveryReport } from './recovery.js'
import { TouchQueue } from './touches.js'
import type { ChunkRead } from './reconstruct.js'

export interface StoreStats extends QuotaStats {
  chunkCount: number
  corruptDropped: number
  bundles: number
  /** downloads into this store are paused (the disk or the quota is full); undefined: not paused */
  paused: StorePause | undefined
}

/** Why puts are being refused, and since when; the next put that fits clears it. */
export interface StorePause {
  reason: StorePauseReason
  sinceMs: number
  /** the last refusal, one line (E_DISK_FULL ... or E_QUOTA_EXCEEDED ...) */
  detail: string
}

export type StorePauseReason = 'disk-full' | 'quota'
export const STORE_PAUSE_REASONS: readonly StorePauseReason[] = ['disk-full', 'quota']

/** The pause reason of a refused put, or undefined when the refusal is not about space. */
function pauseReasonOf (err: unknown): StorePauseReason | undefined {
  if (isStoremeshError(err, 'E_DISK_FULL')) return 'disk-full'
  if (isStoremeshError(err, 'E_QUOTA_EXCEEDED')) return 'quota'
  return undefined
}

function assertHash (hash: string): void {
  if (!isHashHex(hash)) throw new StoremeshError('E_INVALID_ARGUMENT', `not a 64-hex BLAKE3 chunk hash: ${String(hash).slice(0, 80)}`)
}

export class StoreCore implements ChunkSink, Startable {
  readonly dataDir: string
  protected readonly opts: Required<Pick<StoreOptions, 'evictIncomplete' | 'touchGranularityMs' | 'verifyOnOpen' | 'nowMs'>> & StoreOptions
  protected readonly files: ChunkFiles
  private index?: IndexDb
  private bundles?: BundleTable
  private quotaImpl?: Quota
  protected readonly indexLock = new Mutex()
  protected readonly hashLocks = new KeyedMutex()
  private touches?: TouchQueue
  private readonly inflight = new Set<Promise<unknown>>()
  private readonly controller = new AbortController()
  private phase: 'new' | 'opening' | 'open' | 'closing' | 'closed' = 'new'
  private chunkCount = 0
  private corruptDropped = 0
  private pause: StorePause | undefined
  /** What startup recovery found and fixed (undefined before start()). */
  recovery: RecoveryReport | undefined

  constructor (options: StoreOptions) {
    this.opts = { ...defaultStoreOptions, ...options }
    this.dataDir = options.dataDir
    this.files = new ChunkFiles(join(this.dataDir, CHUNKS_SUBDIR))
  }

  // ---- lifecycle ---------------------------------------------------------------

  /** Opens the index (E_DATA_DIR_IN_USE if another process has it) and recovers. */
  async start (): Promise<void> {
    if (this.phase !== 'new') throw new StoremeshError('E_INVALID_ARGUMENT', 'a chunk store starts once')
    this.phase = 'opening'
    await mkdir(this.dataDir, { recursive: true })
    const index = await IndexDb.open(join(this.dataDir, INDEX_SUBDIR), this.dataDir)
    try {
      await this.files.init()
      this.recovery = await recoverChunks(this.files, index, { verifyAll: this.opts.verifyOnOpen, nowMs: this.opts.nowMs() })
      const touches = new TouchQueue(index, this.indexLock, this.opts.touchGranularityMs, this.opts.nowMs)
      const bundles = new BundleTable(index)
      this.recovery.unreadableBundles = await bundles.load(this.recovery.droppedHashes)
      const slack = this.opts.evictionSlackBytes ?? defaultEvictionSlackBytes(this.opts.quotaBytes)
      const quota = new Quota(this.opts.quotaBytes, slack, {
        lru: () => index.lru(),
        evictChunk: async hash => await this.evictChunk(hash),
        flushTouches: async () => await touches.flush()
      })
      quota.usedBytes = this.recovery.usedBytes
      this.chunkCount = this.recovery.chunkCount
      this.index = index
      this.touches = touches
      this.bundles = bundles
      this.quotaImpl = quota
      this.phase = 'open'
    } catch (err) {
      this.phase = 'closed'
      await index.close().catch(() => {})
      throw err
    }
  }

  /** Aborts streams in flight, waits for pending writes, flushes and closes the index. */
  async stop (): Promise<void> {
    if (this.phase !== 'open') return
    this.phase = 'closing'
    this.controller.abort(new StoremeshError('E_STORE_CLOSED', 'the chunk store is closing'))
    // In-flight work may start more (a put's eviction, a read's drop): drain until quiet.
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight])
    await this.touches?.stop().catch(() => {})
    await this.index?.close()
    this.phase = 'closed'
  }

  async close (): Promise<void> {
    await this.stop()
  }

  /** The open parts; in-flight work may still use them while stop() waits for it. */
  protected parts (): { index: IndexDb, bundles: BundleTable, quota: Quota } {
    if ((this.phase !== 'open' && this.phase !== 'closing') || this.index === undefined || this.bundles === undefined || this.quotaImpl === undefined) {
      throw new StoremeshError('E_STORE_CLOSED', `the chunk store at ${this.dataDir} is not open`, { dataDir: this.dataDir })
    }
    return { index: this.index, bundles: this.bundles, quota: this.quotaImpl }
  }

  /** Runs an operation while the store is open; stop() waits for it. */
  protected async track<T> (fn: () => Promise<T>): Promise<T> {
    if (this.phase !== 'open') {
      throw new StoremeshError('E_STORE_CLOSED', `the chunk store at ${this.dataDir} is not open`, { dataDir: this.dataDir })
    }
    const p = fn()
    this.inflight.add(p)
    try {
      return await p
    } finally {
      this.inflight.delete(p)
    }
  }

  protected signal (user?: AbortSignal): AbortSignal {
    return user === undefined ? this.controller.signal : AbortSignal.any([user, this.controller.signal])
  }

  /** Plans under the index lock, writes one batch, then applies to memory. */
  protected async mutate<T> (plan: (batch: IndexBatch) => Promise<{ apply: Apply, result: T }>, sync = true): Promise<T> {
    const { index } = this.parts()
    return await this.indexLock.run(async () => {
      const batch = index.batch()
      const { apply, result } = await plan(batch)
      await batch.write({ sync })
      apply()
      return result
    })
  }

  // ---- chunks (ChunkSink) ------------------------------------------------------

  async has (hash: string): Promise<boolean> {
    assertHash(hash)
    return await this.track(async () => await this.parts().index.hasChunk(hash))
  }

  /** Verified bytes, or undefined when not held. A chunk that fails verification is dropped. */
  async get (hash: string, options: { signal?: AbortSignal } = {}): Promise<Uint8Array | undefined> {
    assertHash(hash)
    options.signal?.throwIfAborted()
    const r = await this.readChunk(hash)
    return r.status === 'ok' ? r.bytes : undefined
  }

  /** Verifies `data` against `hash` before anything is written (E_CHUNK_HASH_MISMATCH). */
  async put (hash: string, data: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<void> {
    assertHash(hash)
    const got = blake3Hex(data)
    if (got !== hash) {
      throw new StoremeshError('E_CHUNK_HASH_MISMATCH', `chunk data does not match its hash ${hash}`, { hash, got, bytes: data.length })
    }
    await this.putVerified(hash, data, options.signal)
  }

  /** For callers that just hashed `data` themselves. Resolves true when it was written. */
  async putVerified (hash: string, data: Uint8Array, signal?: AbortSignal): Promise<boolean> {
    if (data.length > MAX_CHUNK_FILE_BYTES) {
      throw new StoremeshError('E_INVALID_ARGUMENT', `chunk of ${data.length} bytes exceeds ${MAX_CHUNK_FILE_BYTES}`, { hash })
    }
    try {
      const written = await this.putLocked(hash, data, signal)
      this.pause = undefined
      return written
    } catch (err) {
      this.notePutRefused(err)
      throw err
    }
  }

  /** A put refused for lack of space pauses downloads (status, metric) until one fits again. */
  private notePutRefused (err: unknown): void {
    const reason = pauseReasonOf(err)
    if (reason === undefined) return
    const detail = (err as StoremeshError).toLine()
    this.pause = { reason, sinceMs: this.pause?.reason === reason ? this.pause.sinceMs : this.opts.nowMs(), detail }
  }

  /** Whether downloads are paused for lack of space, and why. */
  paused (): StorePause | undefined {
    return this.pause
  }

  private async putLocked (hash: string, data: Uint8Array, signal?: AbortSignal): Promise<boolean> {
    return await this.track(async () => await this.hashLocks.run(hash, async () => {
      const { index, bundles, quota } = this.parts()
      // Per-chunk path: check both signals rather than combining them with AbortSignal.any.
      signal?.throwIfAborted()
      this.controller.signal.throwIfAborted()
      const existing = await index.getChunk(hash)
      if (existing !== undefined) {
        this.touches?.touch(hash, existing)
        return false
      }
      const reservation = await quota.reserve(data.length, signal ?? this.controller.signal)
      try {
        await this.files.write(hash, data)
      } catch (err) {
        reservation.release()
        throw err
      }
      try {
        await this.mutate(async batch => {
          const refs = await index.bundlesOfChunk(hash)
          batch.putChunk(hash, { size: data.length, lastUsedMs: this.opts.nowMs() })
          const apply = bundles.planChunkAdded(batch, hash, refs)
          return { apply, result: undefined }
        }, false)
      } catch (err) {
        reservation.release()
        await this.files.remove(hash).catch(() => {})
        throw mapDiskError(err)
      }
      reservation.commit()
      this.chunkCount++
      return true
    }))
  }

  /**
   * A verified read that says why it failed; used by reconstruction and import. With
   * `scratch` (at least the chunk's size) the bytes are read into it, not a new buffer.
   */
  async readChunk (hash: string, scratch?: Uint8Array): Promise<ChunkRead> {
    return await this.track(async () => {
      const { index } = this.parts()
      const rec = await index.getChunk(hash)
      if (rec === undefined) return { status: 'missing' }
      const bytes = await this.files.read(hash, scratch)
      if (bytes !== undefined && bytes.length === rec.size && blake3Hex(bytes) === hash) {
        this.touches?.touch(hash, rec)
        return { status: 'ok', bytes }
      }
      const again = await this.dropChunk(hash, bytes === undefined ? 'file missing' : 'hash mismatch')
      if (again !== undefined) return { status: 'ok', bytes: again }
      return { status: bytes === undefined ? 'missing' : 'corrupt' }
    })
  }

  /**
   * Removes a chunk that failed verification. Re-reads under the hash lock first: a
   * concurrent put may have replaced the file, and then the good bytes are returned.
   */
  private async dropChunk (hash: string, reason: string): Promise<Uint8Array | undefined> {
    return await this.hashLocks.run(hash, async () => {
      const { index, bundles, quota } = this.parts()
      const rec = await index.getChunk(hash)
      if (rec === undefined) return undefined
      const bytes = await this.files.read(hash)
      if (bytes !== undefined && bytes.length === rec.size && blake3Hex(bytes) === hash) return bytes
      await this.mutate(async batch => {
        batch.delChunk(hash, rec)
        const apply = bundles.planChunkRemoved(batch, hash, await index.bundlesOfChunk(hash), 'lost')
        return { apply, result: undefined }
      })
      quota.chunkRemoved(rec.size)
      this.chunkCount--
      this.touches?.forget(hash)
      await this.files.remove(hash)
      this.corruptDropped++
      this.opts.onCorrupt?.(hash, reason)
      return undefined
    })
  }

  /**
   * Quota callback: removes one unpinned chunk; 0 when it must stay, 'busy' when locked.
   * `unreferenced`: only a chunk no bundle lists (what a bundle eviction leaves behind).
   */
  protected async evictChunk (hash: string, options: { unreferenced?: boolean } = {}): Promise<number | 'busy'> {
    if (this.hashLocks.isLocked(hash) && options.unreferenced !== true) return 'busy'
    return await this.hashLocks.run(hash, async () => {
      const { index, bundles, quota } = this.parts()
      const freed = await this.mutate(async batch => {
        const rec = await index.getChunk(hash)
        if (rec === undefined) return { apply: () => {}, result: 0 }
        const refs = await index.bundlesOfChunk(hash)
        if (options.unreferenced === true && refs.length > 0) return { apply: () => {}, result: 0 }
        if (!bundles.evictable(refs, this.opts.evictIncomplete)) return { apply: () => {}, result: 0 }
        batch.delChunk(hash, rec)
        return { apply: bundles.planChunkRemoved(batch, hash, refs, 'evicted'), result: rec.size }
      }, false)
      if (freed > 0) {
        quota.chunkRemoved(freed)
        this.chunkCount--
        this.touches?.forget(hash)
        await this.files.remove(hash)
      }
      return freed
    })
  }

  /** Re-reads every indexed chunk (an fsck); chunks that fail are dropped and counted. */
  async verifyChunks (options: { signal?: AbortSignal } = {}): Promise<{ checked: number, dropped: number }> {
    return await this.track(async () => {
      const signal = this.signal(options.signal)
      let checked = 0
      let dropped = 0
      for await (const [hash] of this.parts().index.chunks()) {
        signal.throwIfAborted()
        checked++
        if ((await this.readChunk(hash)).status !== 'ok') dropped++
      }
      return { checked, dropped }
    })
  }

  stats (): StoreStats {
    const { quota, bundles } = this.parts()
    return { ...quota.stats(), chunkCount: this.chunkCount, corruptDropped: this.corruptDropped, bundles: bundles.list().length, paused: this.pause }
  }

  /** Evicts unpinned chunks until at most `targetBytes` are used (operator `cache trim`). */
  async trimTo (targetBytes: number, options: { signal?: AbortSignal } = {}): Promise<number> {
    return await this.track(async () => await this.parts().quota.trimTo(targetBytes, this.signal(options.signal)))
  }
}
