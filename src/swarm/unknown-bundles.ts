/**
 * What a peer may ask of us by naming bundles we have not joined (issue #20 item 4):
 * each such handshake may cost a manifest fetch (roles/resolve-bundle.ts), so two
 * budgets per peer, and past either the peer commits `unknown-bundle-flood`:
 *
 * - handshakes naming unknown bundles, repeats included (DEFAULT_UNKNOWN_HANDSHAKE_BURST
 *   at once, _PER_SEC after): an honest peer re-opens a refused stream on its back-off;
 * - distinct unknown info-hashes (DEFAULT_UNKNOWN_BUNDLES_BURST at once, one per
 *   DEFAULT_UNKNOWN_BUNDLE_EVERY_MS after). An honest peer names only bundles it holds:
 *   a hub seeding every active bundle of the store names STORE_ACTIVE_BUNDLES of them,
 *   a device another class's or an older one. A peer naming random info-hashes names a
 *   new one each time; the first budget alone let it through 128 of them, 12.9 s of
 *   manifest fetches under load before its ban (bench:hostile, stop 25).
 *
 * A peer's recent hashes are remembered (at most 2 x the distinct burst, oldest
 * forgotten first) so its repeats cost only the first budget. Memory is bounded by
 * `maxPeers`: past it the peer heard from longest ago is forgotten, which only gives
 * it a fresh start.
 */
import { DEFAULT_UNKNOWN_BUNDLE_EVERY_MS, DEFAULT_UNKNOWN_BUNDLES_BURST, DEFAULT_UNKNOWN_HANDSHAKE_BURST, DEFAULT_UNKNOWN_HANDSHAKES_PER_SEC } from './constants.js'
import { PeerRateBudgets } from './peer-budgets.js'
import { RateBudget } from './rate-budget.js'

export interface UnknownBundleLimits {
  handshakeBurst: number
  handshakesPerSec: number
  bundlesBurst: number
  bundleEveryMs: number
}

export const defaultUnknownBundleLimits: Readonly<UnknownBundleLimits> = Object.freeze({
  handshakeBurst: DEFAULT_UNKNOWN_HANDSHAKE_BURST,
  handshakesPerSec: DEFAULT_UNKNOWN_HANDSHAKES_PER_SEC,
  bundlesBurst: DEFAULT_UNKNOWN_BUNDLES_BURST,
  bundleEveryMs: DEFAULT_UNKNOWN_BUNDLE_EVERY_MS
})

interface Named {
  /** distinct-hash budget */
  budget: RateBudget
  /** its recent unknown info-hashes, oldest first */
  hashes: Set<string>
}

/** Why a handshake was refused: the log line says which budget. */
export type UnknownBundleRefusal = { budget: 'handshakes' | 'bundles', detail: string }

export class UnknownBundleBudgets {
  readonly #limits: UnknownBundleLimits
  readonly #maxPeers: number
  readonly #handshakes: PeerRateBudgets
  readonly #named = new Map<string, Named>()

  constructor (limits: Partial<UnknownBundleLimits> = {}, maxPeers: number) {
    this.#limits = { ...defaultUnknownBundleLimits, ...limits }
    this.#maxPeers = Math.max(1, maxPeers)
    this.#handshakes = new PeerRateBudgets({ burst: this.#limits.handshakeBurst, ratePerSec: this.#limits.handshakesPerSec }, this.#maxPeers)
  }

  /** Peers with distinct-hash state (bounded by maxPeers). */
  get size (): number { return this.#named.size }

  /** Admits one handshake of `peerId` naming `infoHashHex`, which we have not joined; or says which budget it broke. */
  take (peerId: string, infoHashHex: string, nowMs: number): UnknownBundleRefusal | undefined {
    const l = this.#limits
    let n = this.#named.get(peerId)
    if (n === undefined) {
      n = { budget: new RateBudget({ burst: l.bundlesBurst, ratePerSec: 1000 / l.bundleEveryMs }, nowMs), hashes: new Set() }
      if (this.#named.size >= this.#maxPeers) this.#named.delete(this.#named.keys().next().value as string)
    } else {
      this.#named.delete(peerId)
    }
    // most recently heard from last: the first key is the one to forget
    this.#named.set(peerId, n)
    if (!n.hashes.has(infoHashHex)) {
      if (!n.budget.take(1, nowMs)) {
        return { budget: 'bundles', detail: `more than ${l.bundlesBurst} distinct bundles we do not know, and one per ${l.bundleEveryMs / 1000} s after` }
      }
      n.hashes.add(infoHashHex)
      if (n.hashes.size > 2 * l.bundlesBurst) n.hashes.delete(n.hashes.values().next().value as string)
    }
    if (!this.#handshakes.take(peerId, nowMs)) {
      return { budget: 'handshakes', detail: `more than ${l.handshakeBurst} handshakes naming bundles we do not know, and ${l.handshakesPerSec}/s after` }
    }
    return undefined
  }
}
