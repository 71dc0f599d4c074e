/**
 * The super hub's timestamp feed (src/identity/root/timestamp-feed.ts, protocols/root/SPEC.md
 * section 6 "Feed") as Prometheus series: statements taken, statements refused by stable
 * code (a bounded set: the feed folds any further code into `other`), source reads that
 * failed by source (`dir`, `origin`), and when the statement handed down expires, so an
 * alert can fire before the stores go stale.
 */
import type { Registry } from 'prom-client'
import { count, perScrape, scrapedCounter, scrapedGauge, SourceErrors } from './collect.js'
import { OTHER_LABEL } from './constants.js'

/** What the feed counts (TimestampFeed.counters() fits). */
export interface TimestampFeedCountersSource {
  counters(): {
    adopted: number
    refusedByCode: Record<string, number>
    sourceErrors: Record<string, number>
    current?: { expiresAt: string } | undefined
  }
}

export const TIMESTAMP_FEED_METRIC_NAMES = {
  adoptedTotal: 'storemesh_timestamp_feed_adopted_total',
  refusedTotal: 'storemesh_timestamp_feed_refused_total',
  sourceErrorsTotal: 'storemesh_timestamp_feed_source_errors_total',
  expiresSeconds: 'storemesh_timestamp_expires_timestamp_seconds'
} as const

const CODE_RE = /^(E_[A-Z_]{1,40}|other)$/
const SOURCE_RE = /^(dir|origin)$/

export function registerTimestampFeedMetrics (registry: Registry, feed: TimestampFeedCountersSource): void {
  const errors = SourceErrors.of(registry)
  const N = TIMESTAMP_FEED_METRIC_NAMES
  const read = perScrape(async () => {
    let c: ReturnType<TimestampFeedCountersSource['counters']> | undefined
    await errors.guard('timestamp-feed', async () => { c = feed.counters() })
    return c
  })
  scrapedCounter(registry, N.adoptedTotal, 'Timestamp statements the feed stored, each issued after the one before.', [], async m => {
    const c = await read()
    if (c !== undefined) m.inc(count(c.adopted))
  })
  scrapedCounter(registry, N.refusedTotal, 'Timestamp statements the feed refused, by stable code (E_TIMESTAMP_INVALID, E_TIMESTAMP_ROLLBACK, E_SIGNATURE_*, E_KEY_REVOKED, E_FILE_*).', ['code'], async m => {
    const c = await read()
    for (const [code, n] of Object.entries(c?.refusedByCode ?? {})) m.inc({ code: CODE_RE.test(code) ? code : OTHER_LABEL }, count(n))
  })
  scrapedCounter(registry, N.sourceErrorsTotal, 'Reads of a timestamp source (dir, origin) that failed.', ['source'], async m => {
    const c = await read()
    for (const [source, n] of Object.entries(c?.sourceErrors ?? {})) m.inc({ source: SOURCE_RE.test(source) ? source : OTHER_LABEL }, count(n))
  })
  scrapedGauge(registry, N.expiresSeconds, 'When the timestamp statement this super hub hands down expires (Unix seconds); absent before the first.', [], async g => {
    const c = await read()
    if (c?.current !== undefined) g.set(Date.parse(c.current.expiresAt) / 1000)
  })
}
