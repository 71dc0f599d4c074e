/**
 * Fleet orders down the report answers (protocols/report/SPEC.md "1.2.0", docs/fleet.md
 * "Orders"): bundle holds / releases go to every store hub, a device rollback to the
 * store it names, a prestage to its store, its wave's stores or every store. An order stays in that hub's answers until the hub acks it
 * (`ackOrders` of a later request, after it stored it durably); the ack is its row in
 * `order_acks`. A store that is offline just has its orders pending: they go down in
 * the answer to its first report back.
 */
import { MAX_FLEET_ORDERS } from '../ledger/report/constants.js'
import type { FleetOrderWire } from '../ledger/report/messages-v12.js'
import { num, type SqlQueryable } from './db/sql.js'
import { orderOfRow, type FleetOrder } from './fleet-orders.js'

const COLUMNS = 'o.order_id, o.kind, o.action, o.wave_id, o.bundle_id, o.hub_id, o.device_id, o.reason, o.issued_by, o.source, o.issued_ms'
/**
 * The orders a hub is to receive (`hub`: the SQL naming the hub id): every bundle order,
 * device orders for its store, and prestage orders for its store, for a wave it is in
 * (when it joins later too) or for every store.
 */
const forHub = (hub: string): string => `(o.kind = 'bundle' OR (o.kind = 'device' AND o.hub_id = ${hub}) OR (o.kind = 'prestage' AND (o.hub_id = ${hub}
  OR (o.hub_id IS NULL AND (o.wave_id IS NULL OR EXISTS (SELECT 1 FROM wave_stores s WHERE s.wave_id = o.wave_id AND s.hub_id = ${hub}))))))`
const FOR_HUB = forHub('$1')

/** Records the hub's acks of orders meant for it (unknown ids, or another store's, are ignored); the number recorded. */
export async function recordOrderAcks (tx: SqlQueryable, hubId: string, orderIds: readonly string[], now: number): Promise<number> {
  if (orderIds.length === 0) return 0
  const rows = await tx.query(`INSERT INTO order_acks (order_id, hub_id, delivered_ms, acked_ms)
    SELECT o.order_id, $1, $2, $2 FROM orders o WHERE o.order_id = ANY($3::text[]) AND ${FOR_HUB}
    ON CONFLICT (order_id, hub_id) DO UPDATE SET acked_ms = COALESCE(order_acks.acked_ms, excluded.acked_ms)
    RETURNING order_id`, [hubId, now, [...orderIds]])
  return rows.length
}

/** The oldest MAX_FLEET_ORDERS orders for this hub it has not acked. */
export async function pendingFleetOrders (tx: SqlQueryable, hubId: string): Promise<FleetOrder[]> {
  const rows = await tx.query(`SELECT ${COLUMNS} FROM orders o WHERE ${FOR_HUB}
    AND NOT EXISTS (SELECT 1 FROM order_acks a WHERE a.order_id = o.order_id AND a.hub_id = $1 AND a.acked_ms IS NOT NULL)
    ORDER BY o.issued_ms, o.order_id LIMIT ${MAX_FLEET_ORDERS}`, [hubId])
  return rows.map(orderOfRow)
}

/** A report group's acks, by one statement: (hub, order ids) per report; unknown ids, or another store's, are ignored. */
export async function recordOrderAcksOf (tx: SqlQueryable, acks: ReadonlyArray<{ hubId: string, orderIds: readonly string[] }>, now: number): Promise<number> {
  // one row per (hub, order): a statement may not update the same row twice
  const pairs = new Map<string, [string, string]>()
  for (const a of acks) for (const id of a.orderIds) pairs.set(`${a.hubId}\n${id}`, [a.hubId, id])
  if (pairs.size === 0) return 0
  const rows = await tx.query(`INSERT INTO order_acks (order_id, hub_id, delivered_ms, acked_ms)
    SELECT o.order_id, k.h, $3, $3 FROM unnest($1::text[], $2::text[]) AS k (h, id) JOIN orders o ON o.order_id = k.id AND ${forHub('k.h')}
    ON CONFLICT (order_id, hub_id) DO UPDATE SET acked_ms = COALESCE(order_acks.acked_ms, excluded.acked_ms)
    RETURNING order_id`, [[...pairs.values()].map(p => p[0]), [...pairs.values()].map(p => p[1]), now])
  return rows.length
}

/** pendingFleetOrders for every hub of a report group, by one query. */
export async function pendingFleetOrdersOf (tx: SqlQueryable, hubIds: readonly string[]): Promise<Map<string, FleetOrder[]>> {
  const out = new Map<string, FleetOrder[]>(hubIds.map(h => [h, []]))
  if (hubIds.length === 0) return out
  const rows = await tx.query(`SELECT h.hub_id AS for_hub, o.* FROM unnest($1::text[]) AS h (hub_id) CROSS JOIN LATERAL (
    SELECT ${COLUMNS} FROM orders o WHERE ${forHub('h.hub_id')}
    AND NOT EXISTS (SELECT 1 FROM order_acks a WHERE a.order_id = o.order_id AND a.hub_id = h.hub_id AND a.acked_ms IS NOT NULL)
    ORDER BY o.issued_ms, o.order_id LIMIT ${MAX_FLEET_ORDERS}) o`, [[...hubIds]])
  for (const r of rows) out.get(String(r.for_hub))?.push(orderOfRow(r))
  for (const list of out.values()) list.sort((a, b) => a.issuedAtMs - b.issuedAtMs || a.orderId.localeCompare(b.orderId))
  return out
}

/** On the report wire (1.2.0 `fleetOrders`). */
export function toFleetOrderWire (o: FleetOrder): FleetOrderWire {
  const base = { orderId: o.orderId, reason: o.reason, issuedAtMs: o.issuedAtMs }
  if (o.kind === 'device') return { ...base, action: 'rollback', storeId: o.hubId!, deviceId: o.deviceId! }
  return { ...base, action: o.action as FleetOrderWire['action'], bundleId: o.bundleId! }
}

/**
 * A stamp of the orders table that moves whenever an order is written, by this process
 * or another (a second super hub, `storemesh fleet …` on a shared server): the super
 * hub polls it to wake held reports.
 */
export async function ordersStamp (q: SqlQueryable): Promise<string> {
  const rows = await q.query<{ n: unknown, m: unknown }>('SELECT count(*) AS n, coalesce(max(issued_ms), 0) AS m FROM orders')
  return `${num(rows[0]?.n)}:${num(rows[0]?.m)}`
}
