/**
 * The super hub's pull-through counters (protocols/origin/SPEC.md "Pull-through",
 * docs/origin.md "Metrics") as Prometheus series: what it read from the origin, what
 * it refused, how often it retried, its failures by stable code. The cache's bytes,
 * quota and evictions are the chunk store's own series (createStoreMetrics), which
 * the super hub registers beside these. Labels stay bounded: `code` is one of our
 * E_ORIGIN_* / E_SIZE_MISMATCH / E_CHUNK_HASH_MISMATCH codes, anything else folds
 * into `other`.
 */
import type { Registry } from 'prom-client'
import { createStoreMetrics } from './bundle-metrics.js'
import { count, perScrape, scrapedCounter, SourceErrors } from './collect.js'
import { OTHER_LABEL } from './constants.js'
import type { StoreStatsSource } from './sources.js'

type MaybePromise<T> = T | Promise<T>

/** Cumulative figures of one pull-through (src/origin/ OriginPull.status() fits). */
export interface OriginCounters {
  /** every body byte read from the origin: chunks, manifests, indexes, good or refused */
  originBytes: number
  /** chunk bytes that passed their BLAKE3 check */
  chunkBytesFetched: number
  chunksFetched: number
  cacheHits: number
  coalesced: number
  corruptRefused: number
  /** failed tries followed by another try */
  retries: number
  /** chunks given up after every try */
  chunksUnavailable: number
  manifestsFetched: number
  /** failed tries by stable error code */
  failuresByCode: Record<string, number>
}

export interface OriginSource {
  counters(): MaybePromise<OriginCounters>
}

export const ORIGIN_METRIC_NAMES = {
  bytesTotal: 'storemesh_origin_bytes_total',
  chunkBytesTotal: 'storemesh_origin_chunk_bytes_total',
  chunksFetchedTotal: 'storemesh_origin_chunks_fetched_total',
  cacheHitsTotal: 'storemesh_origin_cache_hits_total',
  coalescedTotal: 'storemesh_origin_coalesced_total',
  corruptRefusedTotal: 'storemesh_origin_corrupt_refused_total',
  retriesTotal: 'storemesh_origin_retries_total',
  errorsTotal: 'storemesh_origin_errors_total',
  chunksUnavailableTotal: 'storemesh_origin_chunks_unavailable_total',
  manifestsFetchedTotal: 'storemesh_origin_manifests_fetched_total'
} as const

/** The codes the origin fetcher and the pull-through give (fetcher.ts table), each its own series. */
const CODE_RE = /^E_[A-Z_]{1,40}$/
const MAX_CODE_SERIES = 16

export function createOriginMetrics (registry: Registry, source: OriginSource, errors: SourceErrors): void {
  const read = perScrape(async () => {
    let c: OriginCounters | undefined
    await errors.guard('origin', async () => { c = await source.counters() })
    return c
  })
  const N = ORIGIN_METRIC_NAMES
  const plain = (name: string, help: string, pick: (c: OriginCounters) => number): void => {
    scrapedCounter(registry, name, help, [], async m => {
      const c = await read()
      if (c !== undefined) m.inc(count(pick(c)))
    })
  }
  plain(N.bytesTotal, 'Body bytes read from the origin (chunks, manifests, indexes; good or refused).', c => c.originBytes)
  plain(N.chunkBytesTotal, 'Chunk bytes read from the origin that passed their BLAKE3 check.', c => c.chunkBytesFetched)
  plain(N.chunksFetchedTotal, 'Chunks read from the origin and verified.', c => c.chunksFetched)
  plain(N.cacheHitsTotal, 'Chunk requests answered from the pull-through cache.', c => c.cacheHits)
  plain(N.coalescedTotal, 'Chunk requests that joined an origin read already in flight.', c => c.coalesced)
  plain(N.corruptRefusedTotal, 'Chunks the origin sent with a wrong hash: refused, never stored or served, read again.', c => c.corruptRefused)
  plain(N.retriesTotal, 'Failed origin reads tried again after a back-off.', c => c.retries)
  plain(N.chunksUnavailableTotal, 'Chunks given up after every try (the store hub asks again or another super hub).', c => c.chunksUnavailable)
  plain(N.manifestsFetchedTotal, 'Manifests read from the origin and verified.', c => c.manifestsFetched)
  scrapedCounter(registry, N.errorsTotal, 'Failed origin reads by stable code (E_ORIGIN_NOT_FOUND, E_ORIGIN_HTTP, E_ORIGIN_TRUNCATED, E_SIZE_MISMATCH, E_CHUNK_HASH_MISMATCH, E_ORIGIN_STALLED, E_ORIGIN_UNREACHABLE).', ['code'], async m => {
    const c = await read()
    if (c === undefined) return
    let series = 0
    for (const [code, n] of Object.entries(c.failuresByCode)) {
      const own = CODE_RE.test(code) && series < MAX_CODE_SERIES
      if (own) series++
      m.inc({ code: own ? code : OTHER_LABEL }, count(n))
    }
  })
}

/**
 * The super hub's pull-through series on a registry set up elsewhere (the fleet
 * `/metrics`): the origin counters plus the cache's store series (used bytes, quota,
 * evictions, pause).
 */
export function registerPullThroughMetrics (registry: Registry, origin: OriginSource, cache: StoreStatsSource): void {
  const errors = SourceErrors.of(registry)
  createOriginMetrics(registry, origin, errors)
  createStoreMetrics(registry, cache, errors)
}
