/**
 * Read side of the fleet ledger: what `storemesh fleet status` prints and the super
 * hub's status file carries. Per wave: state, batches, stores by state, devices by
 * outcome (wave_hub_counts summed), the order in force and every halt with its reason. Orders
 * still pending: a wave order some store of its wave has not yet been handed, and
 * bundle and device orders no store acknowledged.
 */
import { emptyCounts, rollbackRatio, type WaveCounts } from '../ledger/condense.js'
import { num, optNum, optStr, type SqlQueryable } from './db/sql.js'
import { ordersInForce, orderOfRow, type FleetOrder } from './fleet-orders.js'
import { waveTotalsOf } from './wave-totals.js'
import { latePrestage, pendingPrestage, type LatePrestage } from './prestage.js'
import type { RunnerDoc } from './wave-runner.js'

export interface FleetBatchStatus {
  batchNo: number
  state: string
  notBeforeMs?: number
  startedMs?: number
  healthyMs?: number
  stores: number
  /** its stores (hub ids), up to MAX_BATCH_STORE_IDS */
  storeIds: string[]
}

/** A batch's store ids listed in the status (a batch holds at most hubBudget stores). */
export const MAX_BATCH_STORE_IDS = 100

export interface FleetHalt {
  orderId: string
  reason: string
  source: FleetOrder['source']
  issuedBy: string
  issuedAtMs: number
  /** a later resume lifted it */
  cleared: boolean
}

export interface FleetWaveStatus {
  waveId: string
  state: string
  stateReason: string
  currentBatch?: number
  policyName?: string
  bundleId?: string
  counts: WaveCounts
  rollbackRatio: number | undefined
  haltOnRollbackRatio: number
  minOutcomesForHalt: number
  order?: FleetOrder
  halted: boolean
  paused: boolean
  halts: FleetHalt[]
  batches: FleetBatchStatus[]
  storesByState: Record<string, number>
  stores: number
  /** stores not pre-staged when their window opened or their batch started, with why (prestage.ts) */
  prestageLate: LatePrestage[]
}

export interface PendingOrder {
  order: FleetOrder
  /** stores it concerns not yet handed it (wave, prestage and device orders); undefined: a bundle order no store acked yet */
  storesPending?: number
  /** those stores (hub ids), up to MAX_BATCH_STORE_IDS: prestage and device orders */
  storeIds?: string[]
}

export interface FleetHub {
  hubId: string
  epoch: string
  ackedSeq: number
  lastReportMs?: number
  peer?: string
  admittedBy: string
}

export interface StatusDefaults {
  haltOnRollbackRatio: (waveId: string) => number
  minOutcomesForHalt: (waveId: string) => number
}

export async function fleetHubs (q: SqlQueryable): Promise<FleetHub[]> {
  const rows = await q.query('SELECT hub_id, epoch, acked_seq, last_report_ms, peer, admitted_by FROM hubs ORDER BY hub_id')
  return rows.map(r => {
    const h: FleetHub = { hubId: String(r.hub_id), epoch: String(r.epoch), ackedSeq: num(r.acked_seq), admittedBy: String(r.admitted_by) }
    const last = optNum(r.last_report_ms)
    if (last !== undefined) h.lastReportMs = last
    const peer = optStr(r.peer)
    if (peer !== undefined) h.peer = peer
    return h
  })
}

export async function fleetWaves (q: SqlQueryable, defaults: StatusDefaults, only?: string, nowMs: number = Date.now()): Promise<FleetWaveStatus[]> {
  const params = only !== undefined ? [only] : []
  const where = only !== undefined ? 'WHERE w.wave_id = $1' : ''
  const waves = await q.query(`SELECT w.* FROM waves w ${where} ORDER BY w.wave_id`, params)
  if (waves.length === 0) return []
  const ids = waves.map(w => String(w.wave_id))
  const totals = await waveTotalsOf(q, ids)
  const inForce = new Map((await ordersInForce(q, ids)).map(o => [o.waveId!, o]))
  const waveOrders = (await q.query(`SELECT * FROM orders WHERE kind = 'wave' AND wave_id = ANY($1::text[]) ORDER BY issued_ms`, [ids])).map(orderOfRow)
  const batches = await q.query(`SELECT b.*, (SELECT count(*) FROM wave_stores s WHERE s.wave_id = b.wave_id AND s.batch_no = b.batch_no) AS stores,
      (SELECT array_agg(hub_id ORDER BY hub_id) FROM (SELECT hub_id FROM wave_stores s WHERE s.wave_id = b.wave_id AND s.batch_no = b.batch_no ORDER BY hub_id LIMIT ${MAX_BATCH_STORE_IDS}) x) AS store_ids
    FROM batches b WHERE b.wave_id = ANY($1::text[]) ORDER BY b.wave_id, b.batch_no`, [ids])
  const stores = await q.query('SELECT wave_id, state, count(*) AS n FROM wave_stores WHERE wave_id = ANY($1::text[]) GROUP BY wave_id, state', [ids])
  const late = new Map<string, LatePrestage[]>()
  for (const w of waves) {
    if (w.machine === null || w.machine === undefined) continue
    const doc = (typeof w.machine === 'string' ? JSON.parse(w.machine) : w.machine) as RunnerDoc
    late.set(String(w.wave_id), await latePrestage(q, doc.state, optStr(w.bundle_id), doc.batchStartedAtMs ?? [], nowMs))
  }
  return waves.map(w => {
    const waveId = String(w.wave_id)
    const counts = totals.get(waveId) ?? emptyCounts()
    const order = inForce.get(waveId)
    const mine = waveOrders.filter(o => o.waveId === waveId)
    const halts: FleetHalt[] = mine.filter(o => o.action === 'halt').map(h => ({
      orderId: h.orderId, reason: h.reason, source: h.source, issuedBy: h.issuedBy, issuedAtMs: h.issuedAtMs,
      cleared: mine.some(o => (o.action === 'resume' || o.action === 'start') && o.issuedAtMs > h.issuedAtMs)
    }))
    const storesByState: Record<string, number> = {}
    for (const s of stores.filter(s => s.wave_id === waveId)) storesByState[String(s.state)] = num(s.n)
    const out: FleetWaveStatus = {
      waveId,
      state: String(w.state),
      stateReason: String(w.state_reason ?? ''),
      counts,
      rollbackRatio: rollbackRatio(counts),
      haltOnRollbackRatio: optNum(w.halt_on_rollback_ratio) ?? defaults.haltOnRollbackRatio(waveId),
      minOutcomesForHalt: optNum(w.min_outcomes_for_halt) ?? defaults.minOutcomesForHalt(waveId),
      halted: order?.action === 'halt',
      paused: order?.action === 'pause',
      halts,
      batches: batches.filter(b => b.wave_id === waveId).map(b => {
        const x: FleetBatchStatus = { batchNo: num(b.batch_no), state: String(b.state), stores: num(b.stores), storeIds: Array.isArray(b.store_ids) ? b.store_ids.map(String) : [] }
        for (const [k, col] of [['notBeforeMs', 'not_before_ms'], ['startedMs', 'started_ms'], ['healthyMs', 'healthy_ms']] as const) {
          const v = optNum(b[col])
          if (v !== undefined) x[k] = v
        }
        return x
      }),
      storesByState,
      stores: Object.values(storesByState).reduce((a, b) => a + b, 0),
      prestageLate: late.get(waveId) ?? []
    }
    const cb = optNum(w.current_batch)
    if (cb !== undefined) out.currentBatch = cb
    const pn = optStr(w.policy_name)
    if (pn !== undefined) out.policyName = pn
    const bid = optStr(w.bundle_id)
    if (bid !== undefined) out.bundleId = bid
    if (order !== undefined) out.order = order
    return out
  })
}

/** Orders not yet handed to every store they concern. */
export async function pendingOrders (q: SqlQueryable): Promise<PendingOrder[]> {
  const waveRows = await q.query(`SELECT o.order_id, (SELECT count(*) FROM wave_stores s WHERE s.wave_id = o.wave_id
      AND NOT EXISTS (SELECT 1 FROM order_acks a WHERE a.order_id = o.order_id AND a.hub_id = s.hub_id)) AS pending
    FROM orders o WHERE o.kind = 'wave'`)
  const inForce = new Map((await ordersInForce(q)).map(o => [o.orderId, o]))
  const out: PendingOrder[] = []
  for (const r of waveRows) {
    const o = inForce.get(String(r.order_id))
    if (o !== undefined && num(r.pending) > 0) out.push({ order: o, storesPending: num(r.pending) })
  }
  for (const p of await pendingPrestage(q, MAX_BATCH_STORE_IDS)) out.push(p)
  const others = await q.query(`SELECT * FROM orders o WHERE kind NOT IN ('wave', 'prestage') AND NOT EXISTS (SELECT 1 FROM order_acks a WHERE a.order_id = o.order_id)
    AND NOT (kind = 'bundle' AND EXISTS (SELECT 1 FROM orders l WHERE l.kind = 'bundle' AND l.bundle_id = o.bundle_id AND l.issued_ms > o.issued_ms))
    ORDER BY issued_ms`)
  for (const r of others) {
    const o = orderOfRow(r)
    // a device order concerns its one store; a bundle order every store
    out.push(o.kind === 'device' && o.hubId !== undefined ? { order: o, storesPending: 1, storeIds: [o.hubId] } : { order: o })
  }
  return out
}

/** Bundles whose newest bundle order is a hold. */
export async function heldBundles (q: SqlQueryable): Promise<FleetOrder[]> {
  const rows = await q.query(`SELECT DISTINCT ON (bundle_id) * FROM orders WHERE kind = 'bundle' ORDER BY bundle_id, issued_ms DESC`)
  return rows.map(orderOfRow).filter(o => o.action === 'hold')
}

export interface DeviceOutcome {
  deviceId: string
  hubId: string
  state: string
  gate?: string
  version: number
  atMs: number
}

export async function waveDevices (q: SqlQueryable, waveId: string, options: { after?: string, limit?: number } = {}): Promise<DeviceOutcome[]> {
  const rows = await q.query(`SELECT device_id, hub_id, state, gate, version, at_ms FROM device_outcomes
    WHERE wave_id = $1 AND device_id > $2 ORDER BY device_id LIMIT $3`, [waveId, options.after ?? '', options.limit ?? 1000])
  return rows.map(r => {
    const d: DeviceOutcome = { deviceId: String(r.device_id), hubId: String(r.hub_id), state: String(r.state), version: num(r.version), atMs: num(r.at_ms) }
    const g = optStr(r.gate)
    if (g !== undefined) d.gate = g
    return d
  })
}
