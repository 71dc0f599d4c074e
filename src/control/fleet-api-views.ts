/**
 * Read side of the fleet API (docs/fleet.md "Fleet API"), beside fleet-status.ts:
 * stores with their state and device outcomes in each wave, and orders with how far
 * they got (handed to a store in a report answer, acknowledged by its next report).
 * Pages by id (`after`, `limit`) so a 10,000-store fleet is read in bounded answers.
 */
import { emptyCounts, type WaveCounts } from '../ledger/condense.js'
import { num, optNum, optStr, type SqlQueryable } from './db/sql.js'
import { orderOfRow, type FleetOrder } from './fleet-orders.js'

export interface StoreWave {
  waveId: string
  state: string
  batchNo?: number
  devicesSelected?: number
  /** this store's devices in the wave by outcome */
  counts: WaveCounts
}

export interface FleetStore {
  hubId: string
  peer?: string
  lastReportMs?: number
  waves: StoreWave[]
}

export interface OrderDelivery {
  order: FleetOrder
  /** stores the order concerns: a wave's stores, the device's store; undefined for bundle orders (every store) */
  stores?: number
  /** stores a report answer carried it to */
  delivered: number
  /** stores that reported again after that */
  acked: number
}

export async function fleetStores (q: SqlQueryable, options: { waveId?: string, after?: string, limit: number }): Promise<FleetStore[]> {
  const params: unknown[] = [options.after ?? '', options.limit]
  let filter = ''
  if (options.waveId !== undefined) {
    params.push(options.waveId)
    filter = 'AND EXISTS (SELECT 1 FROM wave_stores s WHERE s.hub_id = h.hub_id AND s.wave_id = $3)'
  }
  const hubs = await q.query(`SELECT h.hub_id, h.peer, h.last_report_ms FROM hubs h WHERE h.hub_id > $1 ${filter} ORDER BY h.hub_id LIMIT $2`, params)
  if (hubs.length === 0) return []
  const ids = hubs.map(h => String(h.hub_id))
  const waveParams: unknown[] = [ids]
  if (options.waveId !== undefined) waveParams.push(options.waveId)
  // a store's waves: those it is planned in, and those it reported outcomes for
  const rows = await q.query(`SELECT coalesce(s.hub_id, c.hub_id) AS hub_id, coalesce(s.wave_id, c.wave_id) AS wave_id, s.state, s.batch_no, s.devices_selected,
      c.updated, c.rolled_back, c.failed, c.pending, c.blocked, c.total
    FROM (SELECT * FROM wave_stores WHERE hub_id = ANY($1::text[])) s
    FULL JOIN (SELECT * FROM wave_hub_counts WHERE hub_id = ANY($1::text[])) c ON c.wave_id = s.wave_id AND c.hub_id = s.hub_id
    ${options.waveId !== undefined ? 'WHERE coalesce(s.wave_id, c.wave_id) = $2' : ''}
    ORDER BY 1, 2`, waveParams)
  const byHub = new Map<string, StoreWave[]>()
  for (const r of rows) {
    const w: StoreWave = {
      waveId: String(r.wave_id),
      state: optStr(r.state) ?? 'reporting',
      counts: { ...emptyCounts(), updated: num(r.updated ?? 0), rolledBack: num(r.rolled_back ?? 0), failed: num(r.failed ?? 0), pending: num(r.pending ?? 0), blocked: num(r.blocked ?? 0), total: num(r.total ?? 0) }
    }
    const b = optNum(r.batch_no)
    if (b !== undefined) w.batchNo = b
    const sel = optNum(r.devices_selected)
    if (sel !== undefined) w.devicesSelected = sel
    const list = byHub.get(String(r.hub_id)) ?? []
    list.push(w)
    byHub.set(String(r.hub_id), list)
  }
  return hubs.map(h => {
    const s: FleetStore = { hubId: String(h.hub_id), waves: byHub.get(String(h.hub_id)) ?? [] }
    const peer = optStr(h.peer)
    if (peer !== undefined) s.peer = peer
    const last = optNum(h.last_report_ms)
    if (last !== undefined) s.lastReportMs = last
    return s
  })
}

/** Orders, newest first, with their delivery. */
export async function fleetOrderDeliveries (q: SqlQueryable, options: { waveId?: string, limit: number }): Promise<OrderDelivery[]> {
  const params: unknown[] = [options.limit]
  if (options.waveId !== undefined) params.push(options.waveId)
  const rows = await q.query(`SELECT o.*,
      (SELECT count(*) FROM order_acks a WHERE a.order_id = o.order_id) AS delivered,
      (SELECT count(*) FROM order_acks a WHERE a.order_id = o.order_id AND a.acked_ms IS NOT NULL) AS acked,
      CASE o.kind WHEN 'wave' THEN (SELECT count(*) FROM wave_stores s WHERE s.wave_id = o.wave_id) WHEN 'device' THEN 1 END AS stores
    FROM orders o ${options.waveId !== undefined ? 'WHERE o.wave_id = $2' : ''}
    ORDER BY o.issued_ms DESC, o.order_id LIMIT $1`, params)
  return rows.map(r => {
    const d: OrderDelivery = { order: orderOfRow(r), delivered: num(r.delivered), acked: num(r.acked) }
    const stores = optNum(r.stores)
    if (stores !== undefined) d.stores = stores
    return d
  })
}
