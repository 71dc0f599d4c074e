/**
 * Which super hub fetches which missing chunk: each chunk is assigned to exactly one
 * hub at a time and handed to another only when that hub failed or said it lacks
 * it, so no chunk crosses the WAN twice (no endgame duplicates). Pure bookkeeping.
 */
export interface PieceRef { hash: string, size: number }

export class ChunkAssigner {
  private pending: PieceRef[]
  private readonly assigned = new Map<string, { piece: PieceRef, hub: number }>()
  /** bytes arrived and are being stored: no longer any hub's, so a hub failure cannot resend them */
  private readonly storing = new Map<string, PieceRef>()
  private readonly lacking = new Map<string, Set<number>>()
  private waiters: Array<() => void> = []
  completed = 0

  constructor (missing: readonly PieceRef[], private readonly hubs: number) {
    this.pending = [...missing]
  }

  get finished (): boolean {
    return this.pending.length === 0 && this.assigned.size === 0 && this.storing.size === 0
  }

  /** Nothing in flight and every pending chunk is lacking at every hub. */
  get stuck (): boolean {
    return this.assigned.size === 0 && this.storing.size === 0 && this.pending.length > 0 && this.pending.every(p => (this.lacking.get(p.hash)?.size ?? 0) >= this.hubs)
  }

  hasWorkFor (hub: number): boolean {
    return this.pending.some(p => this.lacking.get(p.hash)?.has(hub) !== true)
  }

  /** Up to `maxBytes` (at least one chunk) of pending chunks this hub may have. */
  take (hub: number, maxBytes: number, maxChunks: number): PieceRef[] {
    const out: PieceRef[] = []
    let bytes = 0
    const keep: PieceRef[] = []
    for (const p of this.pending) {
      const ok = out.length < maxChunks && (out.length === 0 || bytes + p.size <= maxBytes) && this.lacking.get(p.hash)?.has(hub) !== true
      if (ok) {
        out.push(p)
        bytes += p.size
        this.assigned.set(p.hash, { piece: p, hub })
      } else {
        keep.push(p)
      }
    }
    this.pending = keep
    return out
  }

  /**
   * The chunk's bytes arrived. From here its hub failing does not put it back in the
   * queue: the store is still writing it, and fetching it again would cross the WAN twice.
   */
  arrived (hash: string): void {
    const a = this.assigned.get(hash)
    if (a === undefined) return
    this.assigned.delete(hash)
    this.storing.set(hash, a.piece)
  }

  complete (hash: string): void {
    if (this.assigned.delete(hash) || this.storing.delete(hash)) this.completed++
    this.notify()
  }

  /** Storing failed (verification, disk): the chunk goes back to the queue. */
  storeFailed (hash: string): void {
    const p = this.storing.get(hash)
    if (p === undefined) return
    this.storing.delete(hash)
    this.pending.unshift(p)
    this.notify()
  }

  /** The hub does not hold it: another hub may try. */
  notFound (hash: string, hub: number): void {
    const a = this.assigned.get(hash)
    if (a === undefined) return
    this.assigned.delete(hash)
    const set = this.lacking.get(hash) ?? new Set<number>()
    set.add(hub)
    this.lacking.set(hash, set)
    this.pending.unshift(a.piece)
    this.notify()
  }

  /** The hub failed: its unanswered chunks go back to the front of the queue. */
  release (hub: number): number {
    const back: PieceRef[] = []
    for (const [hash, a] of this.assigned) {
      if (a.hub === hub) { back.push(a.piece); this.assigned.delete(hash) }
    }
    this.pending = [...back, ...this.pending]
    if (back.length > 0) this.notify()
    return back.length
  }

  /** Resolves at the next change (work returned, a chunk finished). */
  async changed (signal: AbortSignal): Promise<void> {
    if (signal.aborted) return
    await new Promise<void>(resolve => {
      const done = (): void => {
        signal.removeEventListener('abort', done)
        this.waiters = this.waiters.filter(w => w !== done)
        resolve()
      }
      this.waiters.push(done)
      signal.addEventListener('abort', done, { once: true })
    })
  }

  private notify (): void {
    const w = this.waiters
    this.waiters = []
    for (const f of w) f()
  }
}
