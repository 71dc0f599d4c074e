/**
 * One RateBudget per remote peer for one kind of event, bounded in memory: a peer
 * whose budget is whole again carries no state, so when the map grows past
 * `maxPeers` those entries are dropped (forgetting them loses nothing), and if every
 * tracked peer is mid-burst the oldest goes. Used for handshakes naming unknown
 * info-hashes (chunk-protocol.ts), which a peer can send without joining anything.
 */
import { RateBudget, type RateBudgetLimits } from './rate-budget.js'

export class PeerRateBudgets {
  readonly #limits: RateBudgetLimits
  readonly #maxPeers: number
  readonly #budgets = new Map<string, RateBudget>()

  constructor (limits: RateBudgetLimits, maxPeers: number) {
    this.#limits = limits
    this.#maxPeers = Math.max(1, maxPeers)
  }

  get size (): number {
    return this.#budgets.size
  }

  /** Admits one event of this peer (true) or refuses it without charging (false). */
  take (peerId: string, nowMs: number): boolean {
    let b = this.#budgets.get(peerId)
    if (b === undefined) {
      b = new RateBudget(this.#limits, nowMs)
      this.#budgets.set(peerId, b)
      if (this.#budgets.size > this.#maxPeers) this.#prune(nowMs)
    }
    return b.take(1, nowMs)
  }

  #prune (nowMs: number): void {
    for (const [id, b] of this.#budgets) if (b.available(nowMs) >= b.burst) this.#budgets.delete(id)
    for (const id of this.#budgets.keys()) {
      if (this.#budgets.size <= this.#maxPeers) break
      this.#budgets.delete(id)
    }
  }
}
