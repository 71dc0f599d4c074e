/**
 * Per bundle: chunks held and missing here, and the store's chunk availability over
 * this node and its peers (DESIGN.md section 9). Labels: `bundle` only.
 *
 *   storemesh_chunk_min_copies         copies of the rarest chunk in the store (this node + peers)
 *   storemesh_chunk_distributed_copies minCopies + fraction of chunks above it, same holders
 *   storemesh_chunk_rarest_copies      copies of the rarest chunk among the PEERS alone: what the
 *                                      store keeps if this node (the hub) goes away
 *   storemesh_chunk_rarest_chunks      chunks at min copies (store-wide)
 *   storemesh_bundle_devices_complete  peers whose have-set is complete
 */
import { STORE_PAUSE_REASONS } from '../store/index.js'
import type { Registry } from 'prom-client'
import { availabilityOf, heldCount } from './availability.js'
import { count, perScrape, scrapedCounter, scrapedGauge, type SourceErrors } from './collect.js'
import { MAX_BUNDLE_SERIES, METRIC_NAMES as N } from './constants.js'
import type { AvailabilitySource, BundleAvailability, StoreStatsSource } from './sources.js'

export interface BundleFigures {
  bundleId: string
  held: number
  missing: number
  peers: number
  devicesComplete: number
  minCopies: number
  distributedCopies: number
  rarestCopies: number
  rarestChunks: number
}

/** The figures of one bundle, as the metrics publish them (exported for the API and tests). */
export function bundleFigures (b: BundleAvailability): BundleFigures {
  const held = b.local !== undefined ? heldCount(b.local, b.pieceCount) : 0
  const peerBits = b.peers.map(p => p.bitfield)
  const all = availabilityOf(b.pieceCount, b.local !== undefined ? [b.local, ...peerBits] : peerBits)
  const peersOnly = availabilityOf(b.pieceCount, peerBits)
  return {
    bundleId: b.bundleId,
    held,
    missing: b.pieceCount - held,
    peers: b.peers.length,
    devicesComplete: peersOnly.completeHolders,
    minCopies: all.minCopies,
    distributedCopies: all.distributedCopies,
    rarestCopies: peersOnly.minCopies,
    rarestChunks: all.chunksAtMin
  }
}

export function createBundleMetrics (registry: Registry, source: AvailabilitySource, errors: SourceErrors): void {
  const read = perScrape(async () => {
    let figures: BundleFigures[] = []
    await errors.guard('availability', async () => {
      const bundles = await source.bundles()
      figures = bundles.slice(0, MAX_BUNDLE_SERIES).map(bundleFigures)
    })
    return figures
  })
  const per = (name: string, help: string, pick: (f: BundleFigures) => number): void => {
    scrapedGauge(registry, name, help, ['bundle'], async g => {
      for (const f of await read()) g.set({ bundle: f.bundleId }, pick(f))
    })
  }
  per(N.bundleChunksHeld, 'Chunks of the bundle held by this node.', f => f.held)
  per(N.bundleChunksMissing, 'Chunks of the bundle this node still lacks.', f => f.missing)
  per(N.bundlePeers, 'Peers in the bundle swarm.', f => f.peers)
  per(N.bundleDevicesComplete, 'Peers holding every chunk of the bundle.', f => f.devicesComplete)
  per(N.chunkMinCopies, 'Copies of the rarest chunk of the bundle in the store (this node and its peers).', f => f.minCopies)
  per(N.chunkDistributedCopies, 'BitTorrent distributed copies: min copies plus the fraction of chunks above it.', f => f.distributedCopies)
  per(N.chunkRarestCopies, 'Copies of the rarest chunk among the peers alone (without this node).', f => f.rarestCopies)
  per(N.chunkRarestChunks, 'Chunks of the bundle at the minimum number of copies.', f => f.rarestChunks)
}

export function createStoreMetrics (registry: Registry, source: StoreStatsSource, errors: SourceErrors): void {
  const read = perScrape(async () => {
    let s: ReturnType<StoreStatsSource['stats']> | undefined
    await errors.guard('store', async () => { s = source.stats() })
    return s
  })
  scrapedGauge(registry, N.storeUsedBytes, 'Bytes of chunks in the store.', [], async g => {
    const s = await read()
    if (s !== undefined) g.set(s.usedBytes)
  })
  scrapedGauge(registry, N.storeQuotaBytes, 'Disk quota of the store (0: no quota).', [], async g => {
    const s = await read()
    if (s?.quotaBytes !== undefined) g.set(s.quotaBytes)
  })
  scrapedGauge(registry, N.storeChunks, 'Chunks in the store.', [], async g => {
    const s = await read()
    if (s !== undefined) g.set(s.chunkCount)
  })
  scrapedGauge(registry, N.storePaused, 'Downloads into the store are paused for lack of space (1), by reason: disk-full or quota.', ['reason'], async g => {
    const s = await read()
    if (s === undefined) return
    // every reason always exported, 0 or 1, so an alert needs no absent() clause
    for (const reason of STORE_PAUSE_REASONS) g.set({ reason }, s.paused?.reason === reason ? 1 : 0)
  })
  scrapedCounter(registry, N.storeEvictedChunksTotal, 'Chunks evicted by the quota.', [], async c => {
    const s = await read()
    if (s !== undefined) c.inc(count(s.evictedChunks))
  })
  scrapedCounter(registry, N.storeEvictedBytesTotal, 'Bytes evicted by the quota.', [], async c => {
    const s = await read()
    if (s !== undefined) c.inc(count(s.evictedBytes))
  })
}
