/**
 * The origin (DESIGN.md 9b, protocols/origin/SPEC.md): a static, content-addressed
 * layout that `bundle publish` writes and any HTTP server, CDN or bucket serves, and
 * the super hub's pull-through from it. Where to look:
 *
 * - `constants.ts`     names, limits, defaults
 * - `layout.ts`        object keys (chunks, manifests, index)
 * - `origin-index.ts`  the signed per-class index
 * - `publish.ts`       `bundle publish`
 * - `fetcher.ts`       bounded reads with stable codes and retries
 * - `pull-through.ts`  the super hub's chunk source and manifest lookup
 * - `status-file.ts`   `<data>/origin.json` counters
 * - `timestamp-source.ts` `timestamp.json` for the super hub's timestamp feed
 * - `root-source.ts`   `roots/<version>.json` for the super hub's root feed
 */
import { StoremeshError } from '../interface/errors.js'
import type { Log } from '../interface/log.js'
import type { TrustOptions } from '../interface/types.js'
import type { ChunkStore } from '../store/index.js'
import { MIN_ORIGIN_CACHE_QUOTA_BYTES, ORIGIN_ROOTS_DIR, ORIGIN_TIMESTAMP_KEY } from './constants.js'
import { OriginFetcher, type OriginFetcherInit } from './fetcher.js'
import { PullThrough } from './pull-through.js'
import { DEFAULT_ORIGIN_STATUS_INTERVAL_MS, writeOriginStatus, type OriginStatus } from './status-file.js'

export * from './constants.js'
export { chunkKey, indexKey, manifestKey, rootKey } from './layout.js'
export { decodeIndex, newestEntry, parseIndex, type OriginIndexBody, type IndexEntry } from './origin-index.js'
export { publishBundle, type PublishOptions, type PublishResult } from './publish.js'
export { OriginFetcher, parseOriginUrl, type OriginFetcherInit, type FetchObjectOptions } from './fetcher.js'
export { PullThrough, type OriginStats, type PullThroughInit } from './pull-through.js'
export { readOriginStatus, ORIGIN_STATUS_FILE, type OriginStatus } from './status-file.js'
export { OriginTimestampSource } from './timestamp-source.js'
export { OriginRootSource } from './root-source.js'

/** Refuses a cache too small to hold one chunk of the largest allowed size, with both sizes. */
export function assertCacheQuota (quotaBytes: number): void {
  if (!(Number.isSafeInteger(quotaBytes) && quotaBytes >= MIN_ORIGIN_CACHE_QUOTA_BYTES)) {
    throw new StoremeshError('E_INVALID_ARGUMENT',
      `the origin cache quota of ${quotaBytes} bytes is smaller than one chunk of the largest allowed size (${MIN_ORIGIN_CACHE_QUOTA_BYTES} bytes)`,
      { quotaBytes, minBytes: MIN_ORIGIN_CACHE_QUOTA_BYTES })
  }
}

export interface OriginPullInit extends Omit<OriginFetcherInit, 'base' | 'onBytes' | 'onFailure'> {
  /** `http(s)://…` or `file://…` */
  url: string
  store: ChunkStore
  trust: TrustOptions
  dataDir: string
  concurrency?: number
  indexTtlMs?: number
  /** @default DEFAULT_ORIGIN_STATUS_INTERVAL_MS */
  statusIntervalMs?: number
  log?: Log
}

export interface OriginPull {
  readonly pull: PullThrough
  /** the bounded reader (other objects of the layout: `timestamp.json`) */
  readonly fetcher: OriginFetcher
  status(): OriginStatus
  stop(): Promise<void>
}

/** The fetcher, the pull-through and its status file, wired; start() has run. */
export async function startOriginPull (init: OriginPullInit): Promise<OriginPull> {
  let originBytes = 0
  let pull: PullThrough | undefined
  const fetcher = new OriginFetcher({
    ...init,
    base: init.url,
    onBytes: (n) => { originBytes += n },
    onFailure: (key, err, attempt, retried) => {
      // timestamp.json and the next roots/<version>.json are optional (SPEC), polled every 30 s: their absence is
      // no failed read (it filled storemesh_origin_errors_total, an alert's series, twice a minute)
      if (err.code === 'E_ORIGIN_NOT_FOUND' && (key === ORIGIN_TIMESTAMP_KEY || key.startsWith(`${ORIGIN_ROOTS_DIR}/`))) return
      pull?.noteFailedRead(err.code, retried)
      init.log?.debug({ key, code: err.code, attempt }, `origin read failed: ${err.toLine()}`)
    }
  })
  pull = new PullThrough({
    fetcher,
    store: init.store,
    trust: init.trust,
    ...(init.concurrency !== undefined ? { concurrency: init.concurrency } : {}),
    ...(init.indexTtlMs !== undefined ? { indexTtlMs: init.indexTtlMs } : {}),
    ...(init.log !== undefined ? { log: init.log } : {})
  })
  await pull.start()
  const p = pull
  const status = (): OriginStatus => {
    const s = init.store.stats()
    return { updatedAt: new Date().toISOString(), origin: fetcher.base.toString(), originBytes, ...p.stats, failuresByCode: { ...p.stats.failuresByCode }, cacheUsedBytes: s.usedBytes, cacheQuotaBytes: s.quotaBytes }
  }
  let writing: Promise<void> | undefined
  const write = (): void => {
    if (writing !== undefined) return
    writing = writeOriginStatus(init.dataDir, status())
      .catch((err: unknown) => { init.log?.warn(`origin status write failed: ${String(err)}`) })
      .finally(() => { writing = undefined })
  }
  const timer = setInterval(write, init.statusIntervalMs ?? DEFAULT_ORIGIN_STATUS_INTERVAL_MS)
  timer.unref()
  write()
  return {
    pull: p,
    fetcher,
    status,
    async stop () {
      clearInterval(timer)
      p.stop()
      await writing
      await writeOriginStatus(init.dataDir, status()).catch(() => {})
    }
  }
}
