/**
 * What each store hub holds, as its reports last said (protocols/report/SPEC.md "1.2.0"
 * `holdings`, docs/fleet.md "Holdings"): the source of pre-staging (a store is
 * pre-staged when its hub holds the wave's bundle complete), of store availability in
 * the fleet API and of `storemesh_fleet_stores_holding{bundle}`.
 *
 * A report's holdings replace the hub's earlier ones whole (a bundle it no longer
 * lists was evicted), unless they are older by the hub's own clock than those kept: a
 * report that reached a second super hub late never undoes a newer one.
 */
import type { Holdings } from '../ledger/report/index.js'
import { num, type SqlQueryable } from './db/sql.js'

export interface StoreHolding {
  hubId: string
  bundleId: string
  heldChunks: number
  totalChunks: number
  complete: boolean
  /** the hub's clock when it reported them */
  reportedMs: number
}

/** Keeps a hub's holdings (in the caller's transaction); false when newer ones are kept already. */
export async function recordHoldings (tx: SqlQueryable, hubId: string, h: Holdings, now: number): Promise<boolean> {
  const moved = await tx.query('UPDATE hubs SET holdings_ms = $2 WHERE hub_id = $1 AND (holdings_ms IS NULL OR holdings_ms <= $2) RETURNING hub_id', [hubId, h.atMs])
  if (moved.length === 0) return false
  const ids = h.bundles.map(b => b.bundleId)
  await tx.query('DELETE FROM hub_holdings WHERE hub_id = $1 AND NOT (bundle_id = ANY($2::text[]))', [hubId, ids])
  if (ids.length > 0) {
    await tx.query(`INSERT INTO hub_holdings (hub_id, bundle_id, held_chunks, total_chunks, complete, reported_ms, recorded_ms)
      SELECT $1, b, hc, tc, c, $6, $7 FROM unnest($2::text[], $3::int[], $4::int[], $5::bool[]) AS k (b, hc, tc, c)
      ON CONFLICT (hub_id, bundle_id) DO UPDATE SET held_chunks = excluded.held_chunks, total_chunks = excluded.total_chunks,
        complete = excluded.complete, reported_ms = excluded.reported_ms, recorded_ms = excluded.recorded_ms`,
    [hubId, ids, h.bundles.map(b => b.heldChunks), h.bundles.map(b => b.totalChunks), h.bundles.map(b => b.complete), h.atMs, now])
  }
  return true
}

function holdingOfRow (r: Record<string, unknown>): StoreHolding {
  return {
    hubId: String(r.hub_id),
    bundleId: String(r.bundle_id),
    heldChunks: num(r.held_chunks),
    totalChunks: num(r.total_chunks),
    complete: r.complete === true,
    reportedMs: num(r.reported_ms)
  }
}

/** The holdings of these hubs (all bundles), or of one bundle only. */
export async function holdingsOf (q: SqlQueryable, hubIds: readonly string[], bundleId?: string): Promise<StoreHolding[]> {
  if (hubIds.length === 0) return []
  const rows = await q.query(`SELECT * FROM hub_holdings WHERE hub_id = ANY($1::text[]) ${bundleId !== undefined ? 'AND bundle_id = $2' : ''}
    ORDER BY hub_id, bundle_id`, bundleId !== undefined ? [[...hubIds], bundleId] : [[...hubIds]])
  return rows.map(holdingOfRow)
}

/** Hubs that ever reported holdings (a hub from before `holdings` never does). */
export async function hubsReportingHoldings (q: SqlQueryable, hubIds: readonly string[]): Promise<Set<string>> {
  if (hubIds.length === 0) return new Set()
  const rows = await q.query<{ hub_id: string }>('SELECT hub_id FROM hubs WHERE hub_id = ANY($1::text[]) AND holdings_ms IS NOT NULL', [[...hubIds]])
  return new Set(rows.map(r => r.hub_id))
}

/** Per bundle, the stores that hold it complete (the metrics gauge: no store label). */
export async function storesHoldingComplete (q: SqlQueryable): Promise<Map<string, number>> {
  const rows = await q.query<{ bundle_id: string, n: unknown }>('SELECT bundle_id, count(*) AS n FROM hub_holdings WHERE complete GROUP BY bundle_id ORDER BY bundle_id')
  return new Map(rows.map(r => [r.bundle_id, num(r.n)]))
}
