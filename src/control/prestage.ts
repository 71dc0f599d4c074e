/**
 * Pre-staging of a fleet wave from the stores' real holdings (docs/fleet-waves.md
 * "Pre-staging"):
 *   - a store is pre-staged when its hub's latest holdings (report 1.2.0 `holdings`,
 *     fleet-holdings.ts) list the wave's bundle complete;
 *   - a store whose hub never reported holdings (a hub from before them, or a wave with
 *     no bundle id) falls back to the stand-in: pre-staged once its hub reported
 *     devices of the wave; the status says which rule applied;
 *   - the state machine's `prestage` action (prestageHours before the store's window,
 *     or when its batch starts) becomes a `prestage` order to that store, which goes
 *     down its report answers like every fleet order;
 *   - a store not pre-staged when its window opens, or when its batch started, is late:
 *     the status shows it with the reason.
 */
import { newOrderId, orderOfRow, type FleetOrder } from './fleet-orders.js'
import { holdingsOf, hubsReportingHoldings, type StoreHolding } from './fleet-holdings.js'
import type { SqlQueryable } from './db/sql.js'
import type { StoreProgress, WaveState } from './waves/plan.js'
import { installOpensAtMs } from './waves/schedule.js'

export interface PrestageFacts {
  /** stores now pre-staged (not yet so in the state) */
  prestaged: string[]
}

/**
 * The stores of the wave that became pre-staged. `seen` are the stores whose hubs
 * reported devices of the wave (the stand-in rule for hubs that report no holdings).
 */
export async function prestagedStores (tx: SqlQueryable, s: WaveState, bundleId: string | undefined, seen: ReadonlySet<string>): Promise<PrestageFacts> {
  const waiting = Object.entries(s.stores).filter(([, p]) => !p.prestaged).map(([id]) => id)
  if (waiting.length === 0) return { prestaged: [] }
  const reporting = bundleId !== undefined ? await hubsReportingHoldings(tx, waiting) : new Set<string>()
  const complete = new Set(bundleId !== undefined ? (await holdingsOf(tx, [...reporting], bundleId)).filter(h => h.complete).map(h => h.hubId) : [])
  return { prestaged: waiting.filter(id => reporting.has(id) ? complete.has(id) : seen.has(id)) }
}

/**
 * A `prestage` order for each store the machine told to pull, unless one for that
 * bundle and store is already written (a runner on another super hub, or an
 * operator's). Source `auto`, issued by this super hub. Returns the orders written.
 */
export async function orderPrestage (tx: SqlQueryable, waveId: string, bundleId: string | undefined, storeIds: readonly string[], nowMs: number, via: string): Promise<string[]> {
  if (bundleId === undefined || storeIds.length === 0) return []
  const have = await tx.query<{ hub_id: string }>(`SELECT DISTINCT hub_id FROM orders WHERE kind = 'prestage' AND bundle_id = $1 AND hub_id = ANY($2::text[])`, [bundleId, [...storeIds]])
  const done = new Set(have.map(r => r.hub_id))
  const fresh = [...new Set(storeIds)].filter(id => !done.has(id))
  if (fresh.length === 0) return []
  const ids = fresh.map(() => newOrderId())
  await tx.query(`INSERT INTO orders (order_id, kind, action, bundle_id, hub_id, reason, issued_by, source, issued_ms)
    SELECT o, 'prestage', 'prestage', $3, h, $4, $5, 'auto', $6 FROM unnest($1::text[], $2::text[]) AS k (o, h)`,
  [ids, fresh, bundleId, `wave ${waveId}: pre-stage before the store's window`, via, nowMs])
  return fresh
}

export interface LatePrestage {
  storeId: string
  /** when the store's window opened (or its batch started) without the bundle on its hub */
  dueMs: number
  reason: string
  heldChunks?: number
  totalChunks?: number
}

/** When the store should have held the bundle: its window's opening after pre-staging began, or its batch's start. */
function dueOf (p: StoreProgress, batchStartedAtMs: number | undefined): number | undefined {
  // a store with no window installs when its batch starts: only that can make it late
  const opens = p.prestageAtMs !== undefined && p.window.maintenanceWindow !== undefined ? installOpensAtMs(p.window, p.prestageAtMs) : undefined
  if (p.started && batchStartedAtMs !== undefined) return opens === undefined ? batchStartedAtMs : Math.min(opens, batchStartedAtMs)
  return opens
}

/** Stores of the wave not pre-staged in time, with why; only while the wave is not done. */
export async function latePrestage (q: SqlQueryable, s: WaveState, bundleId: string | undefined, batchStartedAtMs: ReadonlyArray<number | null>, nowMs: number): Promise<LatePrestage[]> {
  if (s.phase === 'done' || s.phase === 'planned') return []
  const late = Object.entries(s.stores)
    .map(([id, p]) => ({ id, p, due: dueOf(p, batchStartedAtMs[p.batch] ?? undefined) }))
    .filter(x => !x.p.prestaged && x.due !== undefined && x.due <= nowMs)
  if (late.length === 0) return []
  const ids = late.map(x => x.id)
  const reporting = await hubsReportingHoldings(q, ids)
  const held = new Map<string, StoreHolding>(bundleId !== undefined ? (await holdingsOf(q, ids, bundleId)).map(h => [h.hubId, h]) : [])
  return late.map(({ id, p, due }) => {
    const h = held.get(id)
    const when = p.started ? 'its batch started' : 'its window opened'
    const what = bundleId === undefined
      ? 'the wave names no bundle; its hub has not reported devices of the wave'
      : !reporting.has(id)
          ? 'its hub reports no holdings (a hub from before them) and no devices of the wave yet'
          : h === undefined
            ? `its hub does not hold ${bundleId}${p.prestageOrdered ? ' (pre-staging ordered)' : ''}`
            : `its hub holds ${h.heldChunks} of ${h.totalChunks} chunks of ${bundleId}`
    const out: LatePrestage = { storeId: id, dueMs: due!, reason: `not pre-staged when ${when} (${new Date(due!).toISOString()}): ${what}` }
    if (h !== undefined) { out.heldChunks = h.heldChunks; out.totalChunks = h.totalChunks }
    return out
  }).sort((a, b) => a.storeId.localeCompare(b.storeId))
}

export interface PendingPrestage {
  order: FleetOrder
  /** the stores it concerns that have not acked it */
  storesPending: number
  /** those stores (hub ids), the first `maxIds` */
  storeIds: string[]
}

/**
 * Prestage orders some store they concern has not acked, with those stores: its store,
 * its wave's stores (also ones that joined later), or every store the ledger knows. The
 * same rule as a repeat's (fleet-orders.ts equivalentPrestage): pending until every
 * store it concerns acked it.
 */
export async function pendingPrestage (q: SqlQueryable, maxIds: number): Promise<PendingPrestage[]> {
  const rows = await q.query(`SELECT o.*, t.hub_id AS for_hub FROM orders o CROSS JOIN LATERAL (
      SELECT o.hub_id AS hub_id WHERE o.hub_id IS NOT NULL
      UNION SELECT s.hub_id FROM wave_stores s WHERE o.hub_id IS NULL AND s.wave_id = o.wave_id
      UNION SELECT h.hub_id FROM hubs h WHERE o.hub_id IS NULL AND o.wave_id IS NULL) t
    WHERE o.kind = 'prestage' AND NOT EXISTS (SELECT 1 FROM order_acks a WHERE a.order_id = o.order_id AND a.hub_id = t.hub_id AND a.acked_ms IS NOT NULL)
    ORDER BY o.issued_ms, o.order_id, t.hub_id`)
  const out = new Map<string, PendingPrestage>()
  for (const r of rows) {
    const id = String(r.order_id)
    let p = out.get(id)
    if (p === undefined) {
      p = { order: orderOfRow(r), storesPending: 0, storeIds: [] }
      out.set(id, p)
    }
    p.storesPending++
    if (p.storeIds.length < maxIds) p.storeIds.push(String(r.for_hub))
  }
  return [...out.values()]
}
