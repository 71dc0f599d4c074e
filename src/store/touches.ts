/**
 * Last-used times for LRU eviction. Reads queue a touch instead of writing the index
 * each time; queued touches are written in one batch when enough have gathered, after
 * a short delay, before eviction walks the LRU order, and at close. A touch within
 * the granularity of the recorded time is skipped altogether.
 */
import { TOUCH_FLUSH_COUNT, TOUCH_FLUSH_DELAY_MS } from './constants.js'
import type { ChunkRecord, IndexDb } from './index-db.js'
import type { Mutex } from './mutex.js'

export class TouchQueue {
  private readonly pending = new Map<string, number>()
  private timer: NodeJS.Timeout | undefined
  private stopped = false

  constructor (
    private readonly index: IndexDb,
    /** the store's index lock: a flush is a read-modify-write of chunk records */
    private readonly lock: Mutex,
    private readonly granularityMs: number,
    private readonly nowMs: () => number
  ) {}

  touch (hash: string, rec: ChunkRecord): void {
    const now = this.nowMs()
    if (this.stopped || now - rec.lastUsedMs < this.granularityMs) return
    this.pending.set(hash, now)
    if (this.pending.size >= TOUCH_FLUSH_COUNT) {
      this.flush().catch(() => {})
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined
        this.flush().catch(() => {})
      }, TOUCH_FLUSH_DELAY_MS)
      this.timer.unref()
    }
  }

  /** The chunk left the index; a queued touch must not bring its record back. */
  forget (hash: string): void {
    this.pending.delete(hash)
  }

  async flush (): Promise<void> {
    if (this.pending.size === 0) return
    await this.lock.run(async () => {
      const entries = [...this.pending]
      this.pending.clear()
      const recs = await this.index.getChunks(entries.map(([h]) => h))
      const batch = this.index.batch()
      entries.forEach(([hash, ms], i) => {
        const rec = recs[i]
        if (rec !== undefined && ms > rec.lastUsedMs) batch.putChunk(hash, { ...rec, lastUsedMs: ms }, rec)
      })
      await batch.write()
    })
  }

  /** Final flush; later touches are ignored. */
  async stop (): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    await this.flush()
    this.stopped = true
  }
}
