/**
 * `storemesh_peer_refusals_total{reason}` (protocols/identity/SPEC.md section 5): peers
 * refused for their certificate, by the bounded reason label of the refusal's stable
 * code. Never a peer id as a label.
 */
import type { Registry } from 'prom-client'
import { count, scrapedCounter, scrapedGauge, type SourceErrors } from './collect.js'
import { METRIC_NAMES as N, OTHER_LABEL } from './constants.js'
import type { IdentitySource, TrustSource } from './sources.js'

/** Reasons are our own words; anything else is folded so a bug cannot grow the label set. */
const REASON_RE = /^[a-z][a-z-]{0,23}$/

export function createIdentityMetrics (registry: Registry, source: IdentitySource, errors: SourceErrors): void {
  scrapedCounter(registry, N.peerRefusalsTotal, 'Peers refused for their certificate, by reason (invalid, signature, expired, not-yet-valid, revoked, mismatch, missing).', ['reason'], async c => {
    await errors.guard('identity', async () => {
      for (const [reason, n] of Object.entries(await source.peerRefusalsTotal())) {
        c.inc({ reason: REASON_RE.test(reason) ? reason : OTHER_LABEL }, count(n))
      }
    })
  })
}

/**
 * `storemesh_root_version` and `storemesh_store_stale` (protocols/root/SPEC.md sections
 * 5-6): which root this node trusts, and 1 when its newest freshness statement expired
 * (the store may be frozen on old content); absent before the first statement.
 */
export function createTrustMetrics (registry: Registry, source: TrustSource, errors: SourceErrors): void {
  scrapedGauge(registry, N.rootVersion, 'Version of the root of trust in force (0: the static keys).', [], async g => {
    await errors.guard('trust', async () => { g.set(count(await source.rootVersion())) })
  })
  scrapedGauge(registry, N.storeStale, '1 when the newest timestamp statement has expired (freeze suspected), 0 when fresh.', [], async g => {
    await errors.guard('trust', async () => {
      const v = await source.stale()
      if (v !== undefined) g.set(v)
    })
  })
}
