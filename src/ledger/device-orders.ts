/**
 * Orders to one device (protocols/report/SPEC.md "Device orders", report 1.1.0): an
 * operator's `device rollback --id pos-17` through the store hub's API becomes an
 * order with an id, kept in the hub ledger and repeated in every answer to that device
 * until the device's journal reports its outcome (an entry of kind `order` naming the
 * id). The device runs each id once (src/ledger/order-runner.ts), so a lost answer, a
 * restart or a repeated request never rolls a device back twice.
 *
 * Keys in the hub ledger's database (src/ledger/hub-ledger.ts):
 *   x!<deviceId>!<orderId>   DeviceOrderRecord
 */
import { randomBytes } from 'node:crypto'
import type { JournalEntry } from '../interface/types.js'
import { MAX_REASON_CHARS, ORDER_ID_RE } from './report/constants.js'
import { getRecord, put, scan, type LedgerDb, type Op } from './db.js'
import type { DeviceAction, DeviceOrder } from './report/messages.js'

/** The journal entry kind a device writes for an order's outcome. */
export const ORDER_ENTRY_KIND = 'order'

/** What running an order came to on the device. */
export const ORDER_OUTCOMES = ['done', 'nothing', 'failed', 'interrupted'] as const
export type OrderOutcome = typeof ORDER_OUTCOMES[number]

export interface DeviceOrderRecord {
  order: DeviceOrder
  /** `open` until the device reported an outcome */
  state: 'open' | 'closed'
  outcome?: string
  detail?: string
  /** the device journal seq of the outcome entry */
  outcomeSeq?: number
  closedAtMs?: number
}

/** The outcome a journal entry reports, or undefined when it reports none. */
export function orderOutcomeOf (entry: JournalEntry): { orderId: string, outcome: string, detail?: string } | undefined {
  if (entry.kind !== ORDER_ENTRY_KIND) return undefined
  const orderId = entry.data?.orderId
  const outcome = entry.data?.outcome
  if (typeof orderId !== 'string' || !ORDER_ID_RE.test(orderId) || typeof outcome !== 'string') return undefined
  return { orderId, outcome: outcome.slice(0, 32), ...(entry.detail !== undefined ? { detail: entry.detail.slice(0, MAX_REASON_CHARS) } : {}) }
}

/** The journal event a device appends once it ran an order (what orderOutcomeOf reads). */
export function orderOutcomeEvent (
  order: DeviceOrder, outcome: OrderOutcome, detail: string, ids: { waveId?: string, bundleId?: string, version?: string } = {}
): Omit<JournalEntry, 'seq' | 'at'> {
  return {
    kind: ORDER_ENTRY_KIND,
    ...(ids.waveId !== undefined ? { waveId: ids.waveId } : {}),
    ...(ids.bundleId !== undefined ? { bundleId: ids.bundleId } : {}),
    ...(ids.version !== undefined ? { version: ids.version } : {}),
    reason: order.action,
    detail: detail.slice(0, 1024),
    data: { orderId: order.orderId, action: order.action, outcome, orderReason: order.reason.slice(0, MAX_REASON_CHARS) }
  }
}

/** An install committed after this seq makes a new rollback order meaningful again. */
export function isCommitEntry (entry: JournalEntry): boolean {
  return (entry.kind === 'transition' || entry.kind === 'outcome') && entry.to === 'committed'
}

const prefix = (deviceId: string): string => `x!${deviceId}!`
const key = (deviceId: string, orderId: string): string => prefix(deviceId) + orderId

/** A new order id: time-ordered, so a device's orders list oldest first. */
export function newOrderId (nowMs: number): string {
  return `o${nowMs.toString(36)}-${randomBytes(4).toString('hex')}`
}

/** The device's orders, by id (oldest first). */
export async function deviceOrderRecords (db: LedgerDb, deviceId: string): Promise<DeviceOrderRecord[]> {
  const out: DeviceOrderRecord[] = []
  for await (const [, r] of scan<DeviceOrderRecord>(db, prefix(deviceId))) out.push(r)
  return out.sort((a, b) => a.order.issuedAtMs - b.order.issuedAtMs || a.order.orderId.localeCompare(b.order.orderId))
}

export function openOrders (records: readonly DeviceOrderRecord[]): DeviceOrder[] {
  return records.filter(r => r.state === 'open').map(r => r.order)
}

/** The writes that close the orders the entries report an outcome for (unknown ids are ignored). */
export async function closeOrderOps (db: LedgerDb, deviceId: string, entries: readonly JournalEntry[], nowMs: number): Promise<Op[]> {
  const ops: Op[] = []
  for (const e of entries) {
    const o = orderOutcomeOf(e)
    if (o === undefined) continue
    const rec = await getRecord<DeviceOrderRecord>(db, key(deviceId, o.orderId))
    if (rec === undefined || rec.state === 'closed') continue
    const closed: DeviceOrderRecord = {
      ...rec, state: 'closed', outcome: o.outcome, outcomeSeq: e.seq, closedAtMs: nowMs, ...(o.detail !== undefined ? { detail: o.detail } : {})
    }
    ops.push(put(key(deviceId, o.orderId), closed))
  }
  return ops
}

export interface IssueResult {
  changed: boolean
  record: DeviceOrderRecord
  /** why nothing changed */
  detail?: string
}

/**
 * The idempotent issue: an open order of the same action is the answer to a repeat; so
 * is a closed one that did its work (`done`) when the device committed no install
 * since (`lastCommitSeq` at or below its outcome). Otherwise a new order.
 */
export function planIssue (
  records: readonly DeviceOrderRecord[], want: { deviceId: string, action: DeviceAction, reason: string },
  lastCommitSeq: number, nowMs: number
): { existing: IssueResult } | { create: DeviceOrderRecord, op: Op } {
  const same = records.filter(r => r.order.action === want.action)
  const open = same.find(r => r.state === 'open')
  if (open !== undefined) return { existing: { changed: false, record: open, detail: `order ${open.order.orderId} is waiting for the device` } }
  const last = same[same.length - 1]
  if (last !== undefined && last.outcome === 'done' && (last.outcomeSeq ?? 0) >= lastCommitSeq) {
    return { existing: { changed: false, record: last, detail: `order ${last.order.orderId} already ${want.action === 'rollback' ? 'rolled the device back' : 'ran'}; no install since` } }
  }
  const issuedAtMs = Math.max(nowMs, (records[records.length - 1]?.order.issuedAtMs ?? 0) + 1)
  const order: DeviceOrder = {
    orderId: newOrderId(issuedAtMs), deviceId: want.deviceId, action: want.action, reason: want.reason.slice(0, MAX_REASON_CHARS), issuedAtMs
  }
  const create: DeviceOrderRecord = { order, state: 'open' }
  return { create, op: put(key(want.deviceId, order.orderId), create) }
}
