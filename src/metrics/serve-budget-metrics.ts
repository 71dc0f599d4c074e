/**
 * The super hub's server-wide bound on chunk bytes in flight (src/wan/byte-budget.ts,
 * docs/origin.md "Chunk bytes in flight") as Prometheus series: what is held now, the
 * bound, the most ever held, who waits, and how many grants waited. No labels.
 */
import { Gauge, type Registry } from 'prom-client'
import type { ByteBudgetStats } from '../wan/byte-budget.js'
import { count, scrapedCounter } from './collect.js'

export const SERVE_BUDGET_METRIC_NAMES = {
  inFlightBytes: 'storemesh_serve_inflight_bytes',
  limitBytes: 'storemesh_serve_inflight_limit_bytes',
  peakBytes: 'storemesh_serve_inflight_peak_bytes',
  waiters: 'storemesh_serve_inflight_waiters',
  waitedTotal: 'storemesh_serve_inflight_waited_total',
  stalledAbortsTotal: 'storemesh_serve_stalled_aborts_total'
} as const

/** `serve`: the wan-pull server, whose stalled streams give their grants back (PullServer.stats) */
export function registerServeBudgetMetrics (registry: Registry, budget: { stats(): ByteBudgetStats }, serve?: { stats(): { stalledAborts: number } }): void {
  const N = SERVE_BUDGET_METRIC_NAMES
  const gauge = (name: string, help: string, pick: (s: ByteBudgetStats) => number): void => {
    // eslint-disable-next-line no-new
    new Gauge({ name, help, registers: [registry], collect () { this.set(pick(budget.stats())) } })
  }
  gauge(N.inFlightBytes, 'Chunk bytes the super hub holds for store hubs now (read and not yet handed to their streams), all connections together.', s => s.inFlightBytes)
  gauge(N.limitBytes, 'The bound on chunk bytes in flight (--chunk-bytes-in-flight).', s => s.limitBytes)
  gauge(N.peakBytes, 'The most chunk bytes in flight at once since start.', s => s.peakBytes)
  gauge(N.waiters, 'Chunk answers waiting for bytes in flight to come back.', s => s.waiters)
  scrapedCounter(registry, N.waitedTotal, 'Chunk answers that waited for bytes in flight to come back.', [], m => { m.inc(count(budget.stats().waitedTotal)) })
  if (serve !== undefined) {
    scrapedCounter(registry, N.stalledAbortsTotal, 'wan-pull streams reset (E_SERVE_STALLED) because their store hub took nothing for the stall time mid-answer; their chunk bytes in flight went back to the budget.', [], m => { m.inc(count(serve.stats().stalledAborts)) })
  }
}
