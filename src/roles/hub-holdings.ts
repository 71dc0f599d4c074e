/**
 * A store hub's bundle holdings for its report uplink (protocols/report/SPEC.md "1.2.0"
 * `holdings`): composition only. Per bundle in its store, newest first and at most
 * MAX_HOLDINGS_BUNDLES: chunks held of the bundle's total, and complete when the store
 * records it complete or verified. Evicted bundles are left out (the hub does not hold
 * them any more). A partial bundle's count comes from its swarm when one runs (kept in
 * memory), else from the chunk index.
 */
import { MAX_HOLDINGS_BUNDLES, type BundleHolding } from '../ledger/report/index.js'
import type { HoldingsSource } from '../ledger/holdings-sender.js'
import type { StoreHub } from './store-hub.js'

export function hubHoldingsOf (hub: StoreHub): HoldingsSource {
  return async () => {
    const store = hub.peer.store
    const recs = store.listBundles().filter(r => r.state !== 'evicted' && r.pieceCount > 0)
      .sort((a, b) => b.addedMs - a.addedMs || a.id.localeCompare(b.id)).slice(0, MAX_HOLDINGS_BUNDLES)
    const out: BundleHolding[] = []
    for (const r of recs) {
      const complete = r.state === 'complete' || r.state === 'verified'
      const held = complete
        ? r.pieceCount
        : hub.peer.chunks.swarm(r.id)?.progress().heldChunks ?? (await store.heldPieces(r.id)).filter(Boolean).length
      out.push({ bundleId: r.id, heldChunks: Math.min(held, r.pieceCount), totalChunks: r.pieceCount, complete })
    }
    return out
  }
}
