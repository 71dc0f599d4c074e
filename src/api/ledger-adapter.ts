/**
 * The hub's wave ledger behind the API: the ledger view, and wave start/pause as local
 * orders (HubLedger.issueOrder), idempotent. Typed structurally so that api/ does not
 * import ledger/ (HubLedger fits).
 */
import { StoremeshError } from '../interface/errors.js'
import type { ActionResult, DeviceView, LedgerQuery, LedgerView, WaveView } from './types.js'

interface OrderLike { waveId: string, action: 'halt' | 'pause' | 'resume', reason: string, issuedAtMs: number }

export interface LedgerLike {
  waves(): Promise<Array<{
    waveId: string
    counts: WaveView['counts']
    rollbackRatio: number | undefined
    halted: boolean
    paused: boolean
    order?: OrderLike
  }>>
  devices(waveId: string, options?: { limit?: number }): Promise<Array<{ deviceId: string, state: string, gate?: string, updatedAtMs: number }>>
  order(waveId: string): OrderLike | undefined
  issueOrder(order: OrderLike): Promise<boolean>
}

export async function ledgerView (ledger: LedgerLike, q: LedgerQuery): Promise<LedgerView> {
  const waves: WaveView[] = (await ledger.waves()).map(w => ({
    waveId: w.waveId,
    counts: w.counts,
    rollbackRatio: w.rollbackRatio ?? null,
    halted: w.halted,
    paused: w.paused,
    ...(w.order !== undefined ? { order: { action: w.order.action, reason: w.order.reason, issuedAtMs: w.order.issuedAtMs } } : {})
  }))
  if (q.wave === undefined) return { waves }
  const devices = (await ledger.devices(q.wave, { limit: q.limit })).map(d => ({
    deviceId: d.deviceId, state: d.state, updatedAtMs: d.updatedAtMs, ...(d.gate !== undefined ? { gate: d.gate } : {})
  }))
  return { waves, devices }
}

/**
 * `wave start`: lifts a local pause (a `resume` order naming the cohort). Starting a
 * wave that runs already changes nothing; a wave halted by the super hub stays halted
 * (E_CONFLICT): the fleet-wide rollback ratio is not the store's call.
 */
export async function startWave (ledger: LedgerLike, waveId: string, cohort: string, now: () => number = Date.now): Promise<ActionResult> {
  const current = ledger.order(waveId)
  if (current?.action === 'halt') {
    throw new StoremeshError('E_CONFLICT', `wave ${waveId} is halted (${current.reason}); only the super hub lifts a halt`, { wave: waveId })
  }
  if (current?.action === 'resume' && current.reason === startReason(cohort)) {
    return { changed: false, wave: waveId, action: 'resume', cohort, detail: 'already started' }
  }
  // newer than the order in force even when the clock stepped back
  const issuedAtMs = Math.max(now(), (current?.issuedAtMs ?? 0) + 1)
  const changed = await ledger.issueOrder({ waveId, action: 'resume', reason: startReason(cohort), issuedAtMs })
  return { changed, wave: waveId, action: 'resume', cohort }
}

/** `wave pause`: a local pause order; pausing a paused (or halted) wave changes nothing. */
export async function pauseWave (ledger: LedgerLike, waveId: string, reason: string, now: () => number = Date.now): Promise<ActionResult> {
  const current = ledger.order(waveId)
  if (current?.action === 'pause' || current?.action === 'halt') {
    return { changed: false, wave: waveId, action: current.action, detail: `already ${current.action === 'pause' ? 'paused' : 'halted'}: ${current.reason}` }
  }
  const issuedAtMs = Math.max(now(), (current?.issuedAtMs ?? 0) + 1)
  const changed = await ledger.issueOrder({ waveId, action: 'pause', reason, issuedAtMs })
  return { changed, wave: waveId, action: 'pause' }
}

function startReason (cohort: string): string {
  return `start cohort ${cohort}`
}

/** What deviceView() reads (HubLedger fits). */
export interface DeviceLedgerLike {
  device(deviceId: string): Promise<{ maxSeq: number, lastReportMs: number, peer?: string } | undefined>
  deviceOrders(deviceId: string): Promise<Array<{ order: { orderId: string, action: string, reason: string, issuedAtMs: number }, state: string, outcome?: string, detail?: string }>>
  deviceEvents(deviceId: string, options?: { afterSeq?: number, limit?: number }): Promise<DeviceView['events']>
  deviceWaves(deviceId: string): Promise<Array<{ waveId: string, state: string, gate?: string }>>
}

/** Events of a device shown by GET /api/devices/:id. */
export const DEVICE_VIEW_EVENTS = 50

/** One device: its record, its state per wave, its orders and newest events; undefined when unknown. */
export async function deviceView (ledger: DeviceLedgerLike, deviceId: string): Promise<DeviceView | undefined> {
  const rec = await ledger.device(deviceId)
  const orders = await ledger.deviceOrders(deviceId)
  if (rec === undefined && orders.length === 0) return undefined
  const waves = (await ledger.deviceWaves(deviceId)).map(w => ({ waveId: w.waveId, state: w.state, ...(w.gate !== undefined ? { gate: w.gate } : {}) }))
  const events = rec === undefined ? [] : await ledger.deviceEvents(deviceId, { afterSeq: Math.max(0, rec.maxSeq - DEVICE_VIEW_EVENTS) })
  return {
    deviceId,
    lastReportMs: rec?.lastReportMs ?? null,
    maxSeq: rec?.maxSeq ?? 0,
    ...(rec?.peer !== undefined ? { peer: rec.peer } : {}),
    waves,
    orders: orders.map(o => ({ ...o.order, state: o.state, ...(o.outcome !== undefined ? { outcome: o.outcome } : {}), ...(o.detail !== undefined ? { detail: o.detail } : {}) })),
    events: events.map(e => ({
      seq: e.seq, at: e.at, kind: e.kind,
      ...(e.waveId !== undefined ? { waveId: e.waveId } : {}),
      ...(e.to !== undefined ? { to: e.to } : {}),
      ...(e.reason !== undefined ? { reason: e.reason } : {}),
      ...(e.detail !== undefined ? { detail: e.detail } : {})
    }))
  }
}
