/**
 * The super hub's root feed (src/identity/root/root-feed.ts, protocols/root/SPEC.md
 * section 5 "Root feed") as Prometheus series: roots adopted, roots refused by stable
 * code (a bounded set: the feed folds any further code into `other`), source reads that
 * failed by source (`dir`, `origin`), the root version in force and the roots waiting
 * for the versions between.
 */
import type { Registry } from 'prom-client'
import { count, perScrape, scrapedCounter, scrapedGauge, SourceErrors } from './collect.js'
import { METRIC_NAMES, OTHER_LABEL } from './constants.js'

/** What the feed counts (RootFeed.counters() fits). */
export interface RootFeedCountersSource {
  counters(): {
    adopted: number
    refusedByCode: Record<string, number>
    sourceErrors: Record<string, number>
    version: number
    pending: number
  }
}

export const ROOT_FEED_METRIC_NAMES = {
  adoptedTotal: 'storemesh_root_feed_adopted_total',
  refusedTotal: 'storemesh_root_feed_refused_total',
  sourceErrorsTotal: 'storemesh_root_feed_source_errors_total',
  /** the peers' name for the same figure (identity-metrics.ts): one name per meaning */
  version: METRIC_NAMES.rootVersion,
  pending: 'storemesh_root_feed_pending'
} as const

const CODE_RE = /^(E_[A-Z_]{1,40}|other)$/
const SOURCE_RE = /^(dir|origin)$/

export function registerRootFeedMetrics (registry: Registry, feed: RootFeedCountersSource): void {
  const errors = SourceErrors.of(registry)
  const N = ROOT_FEED_METRIC_NAMES
  const read = perScrape(async () => {
    let c: ReturnType<RootFeedCountersSource['counters']> | undefined
    await errors.guard('root-feed', async () => { c = feed.counters() })
    return c
  })
  scrapedCounter(registry, N.adoptedTotal, 'Roots the feed adopted (one per version walked), each chaining from the root held.', [], async m => {
    const c = await read()
    if (c !== undefined) m.inc(count(c.adopted))
  })
  scrapedCounter(registry, N.refusedTotal, 'Roots the feed refused, by stable code (E_ROOT_ROLLBACK, E_ROOT_SIGNATURE, E_ROOT_INVALID, E_ROOT_EXPIRED, E_ROOT_VERSION, E_FILE_*).', ['code'], async m => {
    const c = await read()
    for (const [code, n] of Object.entries(c?.refusedByCode ?? {})) m.inc({ code: CODE_RE.test(code) ? code : OTHER_LABEL }, count(n))
  })
  scrapedCounter(registry, N.sourceErrorsTotal, 'Reads of a root source (dir, origin) that failed.', ['source'], async m => {
    const c = await read()
    for (const [source, n] of Object.entries(c?.sourceErrors ?? {})) m.inc({ source: SOURCE_RE.test(source) ? source : OTHER_LABEL }, count(n))
  })
  scrapedGauge(registry, N.version, 'The root version this super hub trusts and hands down (0: its static keys only).', [], async g => {
    const c = await read()
    if (c !== undefined) g.set(c.version)
  })
  scrapedGauge(registry, N.pending, 'Roots the feed holds that wait for the versions between (a gap in the chain).', [], async g => {
    const c = await read()
    if (c !== undefined) g.set(c.pending)
  })
}
