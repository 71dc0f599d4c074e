/**
 * The byte quota of the chunk store and its least-recently-used eviction.
 *
 * Accounting: `usedBytes` is the sum of the sizes of indexed chunks; `reservedBytes`
 * is what puts in flight have claimed but not yet indexed. A put reserves first, so
 * parallel puts can never together overshoot the quota.
 *
 * Eviction walks chunks oldest-used first and asks the host whether each may go.
 * The host refuses chunks listed by a pinned bundle (the active bundle and the
 * last-known-good bundle of each device class) and, unless configured, by bundles
 * still being fetched. When nothing more can go, the put fails with E_QUOTA_EXCEEDED.
 */
import { setImmediate as nextTurn } from 'node:timers/promises'
import { StoremeshError } from '../interface/errors.js'
import { Mutex } from './mutex.js'

/** Retries when every evictable chunk was momentarily busy (being put, read or dropped). */
const MAX_BUSY_RETRIES = 100

export interface EvictionHost {
  /** Chunk hashes, least recently used first. */
  lru(): AsyncIterable<string>
  /** Removes the chunk if policy allows; the bytes freed, 0 when it must stay, 'busy' when locked. */
  evictChunk(hash: string): Promise<number | 'busy'>
  /** Writes queued last-used updates, so that the LRU order is current. */
  flushTouches(): Promise<void>
}

export interface Reservation {
  readonly bytes: number
  /** The chunk is indexed: the bytes move from reserved to used. */
  commit(): void
  /** The put failed: the bytes are given back. */
  release(): void
}

export interface QuotaStats {
  quotaBytes: number | undefined
  usedBytes: number
  reservedBytes: number
  evictedChunks: number
  evictedBytes: number
}

export class Quota {
  usedBytes = 0
  reservedBytes = 0
  evictedChunks = 0
  evictedBytes = 0
  private readonly evictLock = new Mutex()
  private settleWaiters: Array<() => void> = []

  constructor (
    readonly quotaBytes: number | undefined,
    private readonly slackBytes: number,
    private readonly host: EvictionHost
  ) {
    if (quotaBytes !== undefined && (!Number.isSafeInteger(quotaBytes) || quotaBytes < 0)) {
      throw new StoremeshError('E_INVALID_ARGUMENT', `quotaBytes must be a non-negative integer, got ${quotaBytes}`)
    }
  }

  private fits (bytes: number): boolean {
    return this.quotaBytes === undefined || this.usedBytes + this.reservedBytes + bytes <= this.quotaBytes
  }

  private exceeded (bytes: number): StoremeshError {
    return new StoremeshError('E_QUOTA_EXCEEDED',
      `a ${bytes}-byte chunk does not fit in the ${String(this.quotaBytes)}-byte quota, even after evicting every unpinned chunk`,
      { quotaBytes: this.quotaBytes, usedBytes: this.usedBytes, reservedBytes: this.reservedBytes, neededBytes: bytes })
  }

  /** Claims room for `bytes`, evicting least-recently-used chunks if needed. */
  async reserve (bytes: number, signal?: AbortSignal): Promise<Reservation> {
    if (this.quotaBytes !== undefined && bytes > this.quotaBytes) throw this.exceeded(bytes)
    if (!this.fits(bytes)) {
      await this.evictLock.run(async () => {
        // Another put may have evicted (or claimed) meanwhile: re-check under the lock.
        let busyRetries = 0
        while (!this.fits(bytes)) {
          signal?.throwIfAborted()
          const needBytes = this.usedBytes + this.reservedBytes + bytes - (this.quotaBytes ?? 0)
          const { freed, busy } = await this.evictOnce(needBytes + this.slackBytes, signal)
          if (this.fits(bytes) || freed > 0) continue
          // Puts in flight hold reservations; once indexed their chunks may be evictable.
          if (this.reservedBytes > 0) {
            await this.waitForSettle(signal)
          } else if (busy > 0 && busyRetries++ < MAX_BUSY_RETRIES) {
            await nextTurn()
          } else {
            throw this.exceeded(bytes)
          }
        }
        this.reservedBytes += bytes
      })
    } else {
      this.reservedBytes += bytes
    }
    let settled = false
    return {
      bytes,
      commit: () => {
        if (settled) return
        settled = true
        this.reservedBytes -= bytes
        this.usedBytes += bytes
        this.notifySettled()
      },
      release: () => {
        if (settled) return
        settled = true
        this.reservedBytes -= bytes
        this.notifySettled()
      }
    }
  }

  private notifySettled (): void {
    const waiters = this.settleWaiters
    this.settleWaiters = []
    for (const w of waiters) w()
  }

  private async waitForSettle (signal?: AbortSignal): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => { reject(signal?.reason) }
      this.settleWaiters.push(() => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      })
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** Evicts unpinned chunks, oldest-used first, until `targetBytes` are freed or none is left. */
  private async evictOnce (targetBytes: number, signal?: AbortSignal): Promise<{ freed: number, busy: number }> {
    await this.host.flushTouches()
    let freed = 0
    let busy = 0
    for await (const hash of this.host.lru()) {
      signal?.throwIfAborted()
      const n = await this.host.evictChunk(hash)
      if (n === 'busy') {
        busy++
      } else if (n > 0) {
        freed += n
        this.evictedChunks++
        this.evictedBytes += n
      }
      if (freed >= targetBytes) break
    }
    return { freed, busy }
  }

  /** Evicts until at most `targetUsedBytes` are used (or nothing more may go); returns bytes freed. */
  async trimTo (targetUsedBytes: number, signal?: AbortSignal): Promise<number> {
    return await this.evictLock.run(async () => {
      const over = this.usedBytes - targetUsedBytes
      return over > 0 ? (await this.evictOnce(over, signal)).freed : 0
    })
  }

  /** Called by the host when a chunk leaves the index (eviction, corruption). */
  chunkRemoved (bytes: number): void {
    this.usedBytes -= bytes
  }

  stats (): QuotaStats {
    return {
      quotaBytes: this.quotaBytes,
      usedBytes: this.usedBytes,
      reservedBytes: this.reservedBytes,
      evictedChunks: this.evictedChunks,
      evictedBytes: this.evictedBytes
    }
  }
}
