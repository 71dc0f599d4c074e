/**
 * Fleet-wide orders (docs/fleet.md "Orders"): rows in `orders`, each with an id, who
 * issued it, why and when. Per wave the newest wave order is in force and goes down
 * every report answer as the wire's halt / pause / resume (`start` travels as
 * `resume`); a store that is offline gets it in the answer to its first report back.
 *
 * Every order is idempotent: the same `--order-id` again returns the stored order, and
 * without one the natural key decides (the wave already paused, the bundle already
 * held, an undelivered rollback of that device): nothing new is written. An auto-halt
 * is cleared only by an explicit resume: `start` on a halted wave is refused.
 */
import { randomBytes } from 'node:crypto'
import { StoremeshError } from '../interface/errors.js'
import { BUNDLE_ID_RE, DEVICE_ID_RE, WAVE_ID_RE } from '../interface/ids.js'
import { HUB_ID_RE, MAX_REASON_CHARS, ORDER_ID_RE } from '../ledger/report/constants.js'
import type { WaveOrder } from '../ledger/report/messages.js'
import { num, optStr, type SqlQueryable } from './db/sql.js'

export const ORDER_KINDS = ['wave', 'bundle', 'device', 'prestage'] as const
export type OrderKind = typeof ORDER_KINDS[number]
export const WAVE_ORDER_ACTIONS = ['start', 'pause', 'resume', 'halt'] as const
export const BUNDLE_ORDER_ACTIONS = ['hold', 'release'] as const
export type FleetOrderAction = typeof WAVE_ORDER_ACTIONS[number] | typeof BUNDLE_ORDER_ACTIONS[number] | 'rollback' | 'prestage'

/** `issued_by`: a user name or a super hub's label. */
const ISSUER_RE = /^[A-Za-z0-9._@:-]{1,64}$/

export interface FleetOrder {
  orderId: string
  kind: OrderKind
  action: FleetOrderAction
  waveId?: string
  bundleId?: string
  /** device orders: the store (hub id) the device reports through */
  hubId?: string
  deviceId?: string
  reason: string
  issuedBy: string
  /** `auto`: the ledger halted the wave on its rollback ratio */
  source: 'operator' | 'auto'
  issuedAtMs: number
}

export interface OrderRequest {
  kind: OrderKind
  action: FleetOrderAction
  waveId?: string
  bundleId?: string
  hubId?: string
  deviceId?: string
  reason?: string
  by: string
  /** the caller's id for this order: a repeat with the same id is the same order */
  orderId?: string
}

export interface IssueResult {
  order: FleetOrder
  /** false: an equal order was already in force (or had this id); nothing was written */
  created: boolean
}

export function newOrderId (): string {
  return `o-${randomBytes(8).toString('hex')}`
}

/** Equal times resolve to the stronger order (src/ledger/orders.ts ranks the same way). */
const RANK_SQL = `CASE action WHEN 'halt' THEN 2 WHEN 'pause' THEN 1 ELSE 0 END`
const ORDER_COLUMNS = 'order_id, kind, action, wave_id, bundle_id, hub_id, device_id, reason, issued_by, source, issued_ms'

export function orderOfRow (r: Record<string, unknown>): FleetOrder {
  const o: FleetOrder = {
    orderId: String(r.order_id),
    kind: r.kind as OrderKind,
    action: r.action as FleetOrderAction,
    reason: String(r.reason ?? ''),
    issuedBy: String(r.issued_by),
    source: r.source as FleetOrder['source'],
    issuedAtMs: num(r.issued_ms)
  }
  for (const [k, col] of [['waveId', 'wave_id'], ['bundleId', 'bundle_id'], ['hubId', 'hub_id'], ['deviceId', 'device_id']] as const) {
    const v = optStr(r[col])
    if (v !== undefined) o[k] = v
  }
  return o
}

/** Per wave, its newest wave order (the one in force). */
export const IN_FORCE_SQL = `SELECT DISTINCT ON (wave_id) ${ORDER_COLUMNS} FROM orders WHERE kind = 'wave' ORDER BY wave_id, issued_ms DESC, ${RANK_SQL} DESC`

/** The wave order in force for the wave named by `waveSql` (a column of the outer query): for a LATERAL join, so a caller reads it in its own statement. */
export const inForceForWaveSql = (waveSql: string): string =>
  `SELECT ${ORDER_COLUMNS} FROM orders WHERE kind = 'wave' AND wave_id = ${waveSql} ORDER BY issued_ms DESC, ${RANK_SQL} DESC LIMIT 1`

/** The wave order in force per wave (all waves, or those named), newest first. */
export async function ordersInForce (q: SqlQueryable, waves?: readonly string[]): Promise<FleetOrder[]> {
  const rows = await q.query(`SELECT DISTINCT ON (wave_id) ${ORDER_COLUMNS} FROM orders
    WHERE kind = 'wave' ${waves !== undefined ? 'AND wave_id = ANY($1::text[])' : ''}
    ORDER BY wave_id, issued_ms DESC, ${RANK_SQL} DESC`, waves !== undefined ? [waves] : [])
  return rows.map(orderOfRow).sort((a, b) => b.issuedAtMs - a.issuedAtMs || a.waveId!.localeCompare(b.waveId!))
}

/** On the report wire (protocols/report/SPEC.md "Orders"). */
export function toWaveOrder (o: FleetOrder): WaveOrder {
  return { waveId: o.waveId!, action: o.action === 'start' ? 'resume' : o.action as WaveOrder['action'], reason: o.reason, issuedAtMs: o.issuedAtMs }
}

function checkId (value: string | undefined, re: RegExp, what: string): string {
  if (value === undefined || !re.test(value)) throw new StoremeshError('E_INVALID_ARGUMENT', `${what} is missing or malformed: ${String(value)}`)
  return value
}

/** A request checked and normalised; E_INVALID_ARGUMENT when it is not an order. */
export function checkOrderRequest (req: OrderRequest): OrderRequest {
  const actions: readonly string[] = req.kind === 'wave' ? WAVE_ORDER_ACTIONS : req.kind === 'bundle' ? BUNDLE_ORDER_ACTIONS : req.kind === 'device' ? ['rollback'] : req.kind === 'prestage' ? ['prestage'] : []
  if (!actions.includes(req.action)) throw new StoremeshError('E_INVALID_ARGUMENT', `a ${String(req.kind)} order cannot be ${String(req.action)}`)
  const out: OrderRequest = { kind: req.kind, action: req.action, by: checkId(req.by, ISSUER_RE, 'the issuer (--by)'), reason: String(req.reason ?? '').slice(0, MAX_REASON_CHARS) }
  if (req.orderId !== undefined) out.orderId = checkId(req.orderId, ORDER_ID_RE, 'the order id')
  if (req.kind === 'wave') out.waveId = checkId(req.waveId, WAVE_ID_RE, 'the wave id')
  if (req.kind === 'bundle') out.bundleId = checkId(req.bundleId, BUNDLE_ID_RE, 'the bundle id')
  if (req.kind === 'device') {
    out.hubId = checkId(req.hubId, HUB_ID_RE, 'the store (hub id)')
    out.deviceId = checkId(req.deviceId, DEVICE_ID_RE, 'the device id')
  }
  if (req.kind === 'prestage') {
    // a bundle, for one store, a wave's stores, or (neither) every store
    out.bundleId = checkId(req.bundleId, BUNDLE_ID_RE, 'the bundle id')
    if (req.waveId !== undefined && req.hubId !== undefined) throw new StoremeshError('E_INVALID_ARGUMENT', 'a prestage order names a wave or a store, not both')
    if (req.waveId !== undefined) out.waveId = checkId(req.waveId, WAVE_ID_RE, 'the wave id')
    if (req.hubId !== undefined) out.hubId = checkId(req.hubId, HUB_ID_RE, 'the store (hub id)')
    if (req.deviceId !== undefined) throw new StoremeshError('E_INVALID_ARGUMENT', 'a prestage order names no device')
  }
  return out
}

function sameTarget (o: FleetOrder, r: OrderRequest): boolean {
  return o.kind === r.kind && o.action === r.action && o.waveId === r.waveId && o.bundleId === r.bundleId && o.hubId === r.hubId && o.deviceId === r.deviceId
}

/** The wave state an operator's order leaves (the wave logic may refine it). */
const WAVE_STATE_AFTER: Readonly<Record<string, string>> = { start: 'installing', resume: 'installing', pause: 'paused', halt: 'halted' }

/** What an order does to the wave's stores: [to, from states]. */
const STORE_STATE_AFTER: Readonly<Record<string, [string, string[]]>> = {
  start: ['installing', ['halted', 'paused']],
  resume: ['installing', ['halted', 'paused']],
  pause: ['paused', ['planned', 'prestaging', 'prestaged', 'installing']],
  halt: ['halted', ['planned', 'prestaging', 'prestaged', 'installing', 'paused']]
}

/** An existing order that makes this request a repeat, or undefined; E_CONFLICT when it cannot be. */
async function equivalent (tx: SqlQueryable, r: OrderRequest): Promise<FleetOrder | undefined> {
  if (r.kind === 'wave') {
    const wave = await tx.query<{ state: string, state_reason: string }>('SELECT state, state_reason FROM waves WHERE wave_id = $1 FOR UPDATE', [r.waveId])
    if (wave.length === 0) throw new StoremeshError('E_WAVE_UNKNOWN', `no wave ${r.waveId!} in the fleet ledger`, { waveId: r.waveId })
    const state = wave[0]!.state
    const cur = (await ordersInForce(tx, [r.waveId!]))[0]
    if (r.action === 'start' && state === 'halted') {
      throw new StoremeshError('E_CONFLICT', `wave ${r.waveId!} is halted (${wave[0]!.state_reason}): only an explicit resume clears a halt`, { waveId: r.waveId })
    }
    if (r.action === 'start' && state === 'paused') throw new StoremeshError('E_CONFLICT', `wave ${r.waveId!} is paused: resume it`, { waveId: r.waveId })
    if (r.action === 'pause' && state === 'halted') throw new StoremeshError('E_CONFLICT', `wave ${r.waveId!} is halted: a pause would lift the halt`, { waveId: r.waveId })
    const running = cur !== undefined && (cur.action === 'start' || cur.action === 'resume')
    if ((r.action === 'start' || r.action === 'resume') && running && state !== 'planned' && state !== 'paused' && state !== 'halted') return cur
    if ((r.action === 'pause' || r.action === 'halt') && cur?.action === r.action) return cur
    return undefined
  }
  if (r.kind === 'bundle') {
    const cur = (await tx.query(`SELECT ${ORDER_COLUMNS} FROM orders WHERE kind = 'bundle' AND bundle_id = $1 ORDER BY issued_ms DESC LIMIT 1`, [r.bundleId])).map(orderOfRow)[0]
    if (r.action === 'hold' && cur?.action === 'hold') return cur
    // releasing a bundle that is not held: nothing to do, and nothing to store
    if (r.action === 'release' && (cur === undefined || cur.action === 'release')) throw new StoremeshError('E_CONFLICT', `bundle ${r.bundleId!} is not held`, { bundleId: r.bundleId })
    return undefined
  }
  if (r.kind === 'prestage') return await equivalentPrestage(tx, r)
  const hub = await tx.query('SELECT 1 FROM hubs WHERE hub_id = $1', [r.hubId])
  if (hub.length === 0) throw new StoremeshError('E_STORE_UNKNOWN', `no store ${r.hubId!} in the fleet ledger`, { store: r.hubId })
  const seen = await tx.query('SELECT 1 FROM device_outcomes WHERE hub_id = $1 AND device_id = $2 LIMIT 1', [r.hubId, r.deviceId])
  if (seen.length === 0) throw new StoremeshError('E_DEVICE_UNKNOWN', `store ${r.hubId!} never reported device ${r.deviceId!}`, { store: r.hubId, deviceId: r.deviceId })
  const open = await tx.query(`SELECT ${ORDER_COLUMNS} FROM orders o WHERE kind = 'device' AND hub_id = $1 AND device_id = $2
    AND NOT EXISTS (SELECT 1 FROM order_acks a WHERE a.order_id = o.order_id) ORDER BY issued_ms DESC LIMIT 1`, [r.hubId, r.deviceId])
  return open.map(orderOfRow)[0]
}

/**
 * A prestage order for the same bundle and target (store, wave or every store) that a
 * store it concerns has not acked yet: a repeat. Once every such store acked it, a new
 * one is a new order (the operator pulls again, say after an eviction).
 */
async function equivalentPrestage (tx: SqlQueryable, r: OrderRequest): Promise<FleetOrder | undefined> {
  if (r.waveId !== undefined && (await tx.query('SELECT 1 FROM waves WHERE wave_id = $1', [r.waveId])).length === 0) {
    throw new StoremeshError('E_WAVE_UNKNOWN', `no wave ${r.waveId} in the fleet ledger`, { waveId: r.waveId })
  }
  if (r.hubId !== undefined && (await tx.query('SELECT 1 FROM hubs WHERE hub_id = $1', [r.hubId])).length === 0) {
    throw new StoremeshError('E_STORE_UNKNOWN', `no store ${r.hubId} in the fleet ledger`, { store: r.hubId })
  }
  const targets = r.hubId !== undefined
    ? 'SELECT $3::text AS hub_id'
    : r.waveId !== undefined ? 'SELECT hub_id FROM wave_stores WHERE wave_id = $2' : 'SELECT hub_id FROM hubs'
  const rows = await tx.query(`SELECT ${ORDER_COLUMNS} FROM orders o WHERE kind = 'prestage' AND bundle_id = $1
    AND wave_id IS NOT DISTINCT FROM $2 AND hub_id IS NOT DISTINCT FROM $3
    AND (NOT EXISTS (${targets}) OR EXISTS (SELECT 1 FROM (${targets}) t WHERE NOT EXISTS (SELECT 1 FROM order_acks a WHERE a.order_id = o.order_id AND a.hub_id = t.hub_id AND a.acked_ms IS NOT NULL)))
    ORDER BY issued_ms DESC LIMIT 1`, [r.bundleId, r.waveId ?? null, r.hubId ?? null])
  return rows.map(orderOfRow)[0]
}

/** Stores an operator's order unless it repeats one (in the caller's transaction). */
export async function issueFleetOrder (tx: SqlQueryable, request: OrderRequest, now: number): Promise<IssueResult> {
  const r = checkOrderRequest(request)
  if (r.orderId !== undefined) {
    const byId = (await tx.query(`SELECT ${ORDER_COLUMNS} FROM orders WHERE order_id = $1`, [r.orderId])).map(orderOfRow)[0]
    if (byId !== undefined) {
      if (!sameTarget(byId, r)) throw new StoremeshError('E_CONFLICT', `order ${r.orderId} exists and is a different order (${byId.kind} ${byId.action})`, { orderId: r.orderId })
      return { order: byId, created: false }
    }
  }
  const repeat = await equivalent(tx, r)
  if (repeat !== undefined) return { order: repeat, created: false }
  let issuedAtMs = now
  if (r.kind === 'wave') {
    const cur = (await ordersInForce(tx, [r.waveId!]))[0]
    // later than the order it replaces, whatever the clocks of two super hubs did
    issuedAtMs = Math.max(now, (cur?.issuedAtMs ?? 0) + 1)
  }
  const order: FleetOrder = {
    orderId: r.orderId ?? newOrderId(), kind: r.kind, action: r.action, reason: r.reason ?? '', issuedBy: r.by, source: 'operator', issuedAtMs,
    ...(r.waveId !== undefined ? { waveId: r.waveId } : {}),
    ...(r.bundleId !== undefined ? { bundleId: r.bundleId } : {}),
    ...(r.hubId !== undefined ? { hubId: r.hubId } : {}),
    ...(r.deviceId !== undefined ? { deviceId: r.deviceId } : {})
  }
  await tx.query(`INSERT INTO orders (${ORDER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'operator', $10)`,
    [order.orderId, order.kind, order.action, order.waveId ?? null, order.bundleId ?? null, order.hubId ?? null, order.deviceId ?? null, order.reason, order.issuedBy, order.issuedAtMs])
  if (r.kind === 'wave') {
    await tx.query('UPDATE waves SET state = $2, state_reason = $3, updated_ms = $4 WHERE wave_id = $1',
      [r.waveId, WAVE_STATE_AFTER[r.action], r.action === 'start' || r.action === 'resume' ? '' : `${r.action} by ${r.by}: ${order.reason}`, now])
    const [to, from] = STORE_STATE_AFTER[r.action]!
    await tx.query('UPDATE wave_stores SET state = $2, updated_ms = $3 WHERE wave_id = $1 AND state = ANY($4::text[])', [r.waveId, to, now, from])
  }
  return { order, created: true }
}
