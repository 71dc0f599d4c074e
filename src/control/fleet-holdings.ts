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
  return (await recordHoldingsOf(tx, [{ hubId, holdings: h }], now)).has(hubId)
}

/**
 * A report group's holdings (each hub once), by three statements for the whole group
 * as its order acks are, not three per report; answers the hubs whose holdings moved
 * (the others had newer ones kept already).
 */
export async function recordHoldingsOf (tx: SqlQueryable, list: ReadonlyArray<{ hubId: string, holdings: Holdings }>, now: number): Promise<Set<string>> {
  if (list.length === 0) return new Set()
  const sorted = [...list].sort((a, b) => a.hubId < b.hubId ? -1 : a.hubId > b.hubId ? 1 : 0)
  const moved = new Set((await tx.query<{ hub_id: string }>(`UPDATE hubs SET holdings_ms = k.at FROM unnest($1::text[], $2::bigint[]) AS k (h, at)
    WHERE hubs.hub_id = k.h AND (hubs.holdings_ms IS NULL OR hubs.holdings_ms <= k.at) RETURNING hubs.hub_id`,
  [sorted.map(x => x.hubId), sorted.map(x => x.holdings.atMs)])).map(r => r.hub_id))
  const kept = sorted.filter(x => moved.has(x.hubId))
  if (kept.length === 0) return moved
  const rows = kept.flatMap(x => x.holdings.bundles.map(b => ({ hubId: x.hubId, atMs: x.holdings.atMs, b })))
  // a bundle a hub no longer lists was evicted
  await tx.query(`DELETE FROM hub_holdings o WHERE o.hub_id = ANY($1::text[])
    AND NOT EXISTS (SELECT 1 FROM unnest($2::text[], $3::text[]) AS k (h, b) WHERE k.h = o.hub_id AND k.b = o.bundle_id)`,
  [kept.map(x => x.hubId), rows.map(r => r.hubId), rows.map(r => r.b.bundleId)])
  if (rows.length > 0) {
    await tx.query(`INSERT INTO hub_holdings (hub_id, bundle_id, held_chunks, total_chunks, complete, reported_ms, recorded_ms)
      SELECT h, b, hc, tc, c, r, $7 FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::bool[], $6::bigint[]) AS k (h, b, hc, tc, c, r)
      ON CONFLICT (hub_id, bundle_id) DO UPDATE SET held_chunks = excluded.held_chunks, total_chunks = excluded.total_chunks,
        complete = excluded.complete, reported_ms = excluded.reported_ms, recorded_ms = excluded.recorded_ms`,
    [rows.map(r => r.hubId), rows.map(r => r.b.bundleId), rows.map(r => r.b.heldChunks), rows.map(r => r.b.totalChunks), rows.map(r => r.b.complete), rows.map(r => r.atMs), now])
  }
  return moved
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
