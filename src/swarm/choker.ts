/**
 * Upload slots. At most `uploadSlots` regular peers plus `optimisticSlots` random ones
 * are unchoked. Every `intervalMs` the regular slots are re-ranked — LAN peers before
 * WAN peers, then by `score` (the swarm passes bytes they uploaded to us lately while
 * we download, bytes we uploaded to them once we seed) — and the optimistic slot moves
 * to another choked candidate, so newcomers with nothing to offer yet get a start.
 * Between rotations, decide() only fills free slots: a slot is never taken away early.
 *
 * Newcomers are unchoked at once, on top of the slots: a candidate flagged `newcomer`
 * (a LAN peer we have not sent a chunk yet, unchoking.ts) stays unchoked until it got
 * one. That bounds how long an honest node keeps an interested peer choked before its
 * first chunk to the time the choke decision takes (a turn of the event loop), however
 * full its slots are; the optimistic slot alone bounded it by nothing (a random pick
 * every intervalMs). The requester's hoarder clock counts on it (picker-trust.ts): a
 * claimant that keeps us choked is not an honest node. A newcomer costs a queued
 * request, not bandwidth: the upload goes one whole chunk at a time (upload-turns.ts).
 *
 * No timers and no I/O: the caller passes the clock and applies the result.
 */

export interface ChokerPeer {
  id: string
  /** wants to download from us (interested; for a super-seeder: lacks chunks we hold) */
  candidate: boolean
  link: 'lan' | 'wan'
  /** higher is better; ties broken at random */
  score: number
  /** a candidate we never sent a chunk to: unchoked at once, beside the slots @default false */
  newcomer?: boolean
}

export interface ChokerInit {
  uploadSlots: number
  optimisticSlots: number
  intervalMs: number
  random?: () => number
}

export class Choker {
  readonly #init: ChokerInit
  readonly #random: () => number
  #regular = new Set<string>()
  #optimistic = new Set<string>()
  #lastRotationMs: number | undefined

  constructor (init: ChokerInit) {
    this.#init = init
    this.#random = init.random ?? Math.random
  }

  /** The peers to unchoke now; everyone else is choked. */
  decide (peers: readonly ChokerPeer[], nowMs: number): Set<string> {
    const rotate = this.rotationDue(nowMs)
    // ranked only when a slot is to be filled: between rotations with every slot held
    // (the usual case) a call costs a pass over the peers, not a sort (the hub re-runs
    // its choker on every batch of haves). keep and rank are methods, not closures made
    // per call (the fleet simulator runs under tsx, which names every such closure).
    if (rotate) {
      const ranked = this.#rank(peers)
      this.#lastRotationMs = nowMs
      this.#regular = new Set(ranked.slice(0, this.#init.uploadSlots).map(p => p.id))
      const previous = this.#optimistic
      this.#optimistic = new Set()
      const rest = ranked.filter(p => !this.#regular.has(p.id))
      // prefer someone who did not just have the optimistic slot
      const fresh = rest.filter(p => !previous.has(p.id))
      this.#fillOptimistic(fresh.length > 0 ? fresh : rest)
    } else {
      const candidate = new Set<string>()
      for (const p of peers) if (p.candidate) candidate.add(p.id)
      this.#regular = keepOnly(this.#regular, candidate)
      this.#optimistic = keepOnly(this.#optimistic, candidate)
      const held = this.#regular.size + this.#optimistic.size
      const slots = this.#init.uploadSlots + this.#init.optimisticSlots
      let candidates = 0
      if (held < slots) for (const p of peers) if (p.candidate) candidates++
      if (held < slots && candidates > held) {
        const ranked = this.#rank(peers)
        for (const p of ranked) {
          if (this.#regular.size >= this.#init.uploadSlots) break
          if (!this.#optimistic.has(p.id)) this.#regular.add(p.id)
        }
        this.#fillOptimistic(ranked.filter(p => !this.#regular.has(p.id) && !this.#optimistic.has(p.id)))
      }
    }
    const out = new Set([...this.#regular, ...this.#optimistic])
    for (const p of peers) if (p.newcomer === true && p.candidate) out.add(p.id)
    return out
  }

  /**
   * decide() at `nowMs` re-ranks every slot. Until then, with every slot held by a
   * candidate, decide() returns the same peers and draws no random number (the fleet
   * simulator skips such calls; they were most of its choker time).
   */
  rotationDue (nowMs: number): boolean {
    return this.#lastRotationMs === undefined || nowMs - this.#lastRotationMs >= this.#init.intervalMs
  }

  /** The peers holding the optimistic slots now (for tests and status). */
  get optimistic (): ReadonlySet<string> {
    return this.#optimistic
  }

  #rank (peers: readonly ChokerPeer[]): ChokerPeer[] {
    const candidates = peers.filter(p => p.candidate)
    // a random key per peer per call: stable sort ties become a fair shuffle
    const tie = new Map(candidates.map(p => [p.id, this.#random()]))
    return candidates.sort((a, b) =>
      linkRank(a) - linkRank(b) || b.score - a.score || (tie.get(a.id) ?? 0) - (tie.get(b.id) ?? 0))
  }

  #fillOptimistic (pool: ChokerPeer[]): void {
    const left = [...pool]
    while (this.#optimistic.size < this.#init.optimisticSlots && left.length > 0) {
      const i = Math.floor(this.#random() * left.length)
      const [p] = left.splice(i, 1)
      if (p !== undefined) this.#optimistic.add(p.id)
    }
  }
}

function keepOnly (set: ReadonlySet<string>, candidate: ReadonlySet<string>): Set<string> {
  const out = new Set<string>()
  for (const id of set) if (candidate.has(id)) out.add(id)
  return out
}

function linkRank (p: ChokerPeer): number {
  return p.link === 'lan' ? 0 : 1
}
