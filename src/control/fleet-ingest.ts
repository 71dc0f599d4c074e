/**
 * One hub report into the fleet ledger, in one transaction (docs/fleet.md "Exactly
 * once"):
 *
 *   1. the hub's row is locked (FOR UPDATE): two super hubs on one database take the
 *      same hub's reports one after the other, never side by side;
 *   2. entries at or below the hub's acked_seq (same epoch) are resends and are skipped;
 *      the report's (hub, epoch, last seq) goes into hub_reports ON CONFLICT DO NOTHING,
 *      so a report replayed whole changes nothing;
 *   3. the devices' rows are read locked (FOR UPDATE; new ones inserted ON CONFLICT DO
 *      NOTHING and read back locked when another report got there first), moved, and
 *      the counts moved per (wave, hub): a device counts once per wave wherever it
 *      reported from, the highest journal seq winning. Reports of one wave from many
 *      stores touch different rows and run side by side;
 *   4. a report that added a rollback takes the wave's advisory lock and sums the
 *      wave's totals: past its limit after its minimum outcomes, a halt order row is
 *      written in the same transaction;
 *   5. acked_seq moves last. A crash anywhere before COMMIT leaves nothing: the hub
 *      got no ack and sends the same entries again.
 */
import { StoremeshError } from '../interface/errors.js'
import { countDevice, emptyCounts, rollbackRatio, type WaveCounts } from '../ledger/condense.js'
import type { DeviceWaveState, HubBatch, LedgerDelta, WaveOrder } from '../ledger/report/messages.js'
import { num, type SqlQueryable } from './db/sql.js'
import { IN_FORCE_SQL, newOrderId, orderOfRow, ordersInForce, type FleetOrder } from './fleet-orders.js'
import { storeOrders } from './store-gate.js'
import { waveTotalsOf } from './wave-totals.js'

export type HubAdmission = 'open' | 'registered'

export interface IngestContext {
  now: number
  /** the super hub that took the report (hub_reports.via) */
  via: string
  admission: HubAdmission
  /** the sender's certificate names this hub id (protocols/identity/SPEC.md section 7b) */
  certified: boolean
  peer?: string
  /** the wave's limit when its row has none (the super hub's flag or default) */
  haltOnRollbackRatio: (waveId: string) => number
  minOutcomesForHalt: (waveId: string) => number
}

export interface IngestResult {
  ackedSeq: number
  /** outbox entries applied now (0 for a replay) */
  applied: number
  /** every entry was at or below the acked seq */
  replayed: boolean
  /** halt orders this report caused */
  halts: FleetOrder[]
  /** wave orders in force after it */
  orders: FleetOrder[]
  /** the answer's orders for this store: `orders` gated per store (store-gate.ts) */
  answer: WaveOrder[]
}

type DeviceRow = { hub_id: string, state: DeviceWaveState, gate: string | null, version: unknown }

const waveLockKey = (waveId: string): string => `storemesh-wave:${waveId}`

interface HubState { epoch: string, ackedSeq: number, lastReportMs?: number, peer?: string, isNew: boolean }

/**
 * The hub's row, locked when the report carries entries. A poll with none reads it
 * unlocked: it applies nothing, and a transaction that writes nothing is not flushed
 * to disk, so a thousand hubs polling for orders cost reads only.
 */
async function lockHub (tx: SqlQueryable, batch: HubBatch, ctx: IngestContext): Promise<HubState> {
  const lock = batch.entries.length > 0 ? ' FOR UPDATE' : ''
  const read = async (): Promise<Array<{ epoch: string, acked_seq: unknown, last_report_ms: unknown, peer: string | null }>> =>
    await tx.query(`SELECT epoch, acked_seq, last_report_ms, peer FROM hubs WHERE hub_id = $1${lock}`, [batch.hubId])
  let rows = await read()
  const isNew = rows.length === 0
  if (isNew) {
    if (ctx.admission === 'registered' && !ctx.certified) {
      throw new StoremeshError('E_HUB_UNKNOWN', `hub ${batch.hubId} is not registered in the fleet (storemesh fleet hub add --id ${batch.hubId}) and presented no certificate for it`, { hubId: batch.hubId })
    }
    await tx.query(`INSERT INTO hubs (hub_id, admitted_by, created_ms) VALUES ($1, $2, $3) ON CONFLICT (hub_id) DO NOTHING`,
      [batch.hubId, ctx.certified ? 'certificate' : 'first-report', ctx.now])
    rows = await read()
  }
  const row = rows[0]!
  const seen = { isNew, ...(row.last_report_ms !== null ? { lastReportMs: num(row.last_report_ms) } : {}), ...(row.peer !== null ? { peer: row.peer } : {}) }
  // a new epoch is a new outbox (the hub's ledger was rebuilt): its seq starts again
  return row.epoch === batch.epoch ? { ...seen, epoch: row.epoch, ackedSeq: num(row.acked_seq) } : { ...seen, epoch: batch.epoch, ackedSeq: 0 }
}

/** A hub's last_report_ms is rewritten at most this often by polls that change nothing else. @default 10 s */
export const LAST_SEEN_REFRESH_MS = 10_000

/** The last fresh entry per (wave, device): a hub's later outbox entry replaces its earlier one. */
function freshEntries (entries: readonly LedgerDelta[], ackedSeq: number): Map<string, LedgerDelta> {
  const out = new Map<string, LedgerDelta>()
  for (const d of entries) if (d.seq > ackedSeq) out.set(`${d.waveId}\u0000${d.deviceId}`, d)
  return out
}

export async function ingestHubBatch (tx: SqlQueryable, batch: HubBatch, ctx: IngestContext): Promise<IngestResult> {
  const hub = await lockHub(tx, batch, ctx)
  const lastSeq = batch.entries.at(-1)?.seq ?? 0
  const fresh = freshEntries(batch.entries, hub.ackedSeq)
  let applied = 0
  let rollbackWaves: string[] = []
  let ackedSeq = hub.ackedSeq
  if (lastSeq > hub.ackedSeq) {
    const logged = await tx.query(`INSERT INTO hub_reports (hub_id, epoch, last_seq, first_seq, entries, received_ms, via)
      VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING last_seq`,
    [batch.hubId, batch.epoch, lastSeq, batch.entries[0]!.seq, batch.entries.length, ctx.now, ctx.via])
    if (logged.length === 1) {
      applied = batch.entries.filter(d => d.seq > hub.ackedSeq).length
      rollbackWaves = await applyDeltas(tx, batch.hubId, [...fresh.values()], ctx)
      ackedSeq = lastSeq
    }
  }
  const stale = hub.lastReportMs === undefined || ctx.now - hub.lastReportMs >= LAST_SEEN_REFRESH_MS
  if (hub.isNew || ackedSeq !== hub.ackedSeq || stale || (ctx.peer !== undefined && ctx.peer !== hub.peer)) {
    await tx.query(`UPDATE hubs SET epoch = $2, acked_seq = $3, last_report_ms = $4, peer = COALESCE($5, peer) WHERE hub_id = $1`,
      [batch.hubId, hub.epoch, ackedSeq, ctx.now, ctx.peer ?? null])
  }
  // last: the wave lock it takes is held only until the commit that follows
  const halts = await haltsFor(tx, rollbackWaves, ctx)
  const orders = await deliverOrders(tx, batch.hubId, ctx.now)
  return { ackedSeq, applied, replayed: batch.entries.length > 0 && applied === 0, halts, orders, answer: await storeOrders(tx, batch.hubId, orders) }
}

type Keyed = DeviceRow & { wave_id: string, device_id: string }

const keyOf = (waveId: string, deviceId: string): string => `${waveId}\u0000${deviceId}`

/** The rows of these devices, locked until commit (FOR UPDATE): a concurrent report of the same device waits. */
async function lockDevices (tx: SqlQueryable, deltas: readonly LedgerDelta[]): Promise<Map<string, DeviceRow>> {
  const rows = await tx.query<Keyed>(`SELECT d.wave_id, d.device_id, d.hub_id, d.state, d.gate, d.version
    FROM device_outcomes d JOIN unnest($1::text[], $2::text[]) AS k (wave_id, device_id) USING (wave_id, device_id) FOR UPDATE OF d`,
  [deltas.map(d => d.waveId), deltas.map(d => d.deviceId)])
  return new Map(rows.map(r => [keyOf(r.wave_id, r.device_id), r]))
}

const deviceColumns = (hubId: string, ds: readonly LedgerDelta[], now: number): unknown[] => [hubId, ds.map(d => d.waveId), ds.map(d => d.deviceId), ds.map(d => d.state),
  ds.map(d => d.gate ?? null), ds.map(d => d.version), ds.map(d => d.atMs), now]
const UNNEST_DEVICES = 'unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[]) AS k (wave_id, device_id, state, gate, version, at_ms)'

/** Count moves per (wave, hub): the hub a device left loses it, the reporting hub gains it. */
class CountDeltas {
  readonly byKey = new Map<string, { waveId: string, hubId: string, c: WaveCounts }>()
  move (waveId: string, fromHub: string | undefined, from: { state: DeviceWaveState, gate?: string } | undefined, toHub: string, to: { state: DeviceWaveState, gate?: string }): void {
    if (from !== undefined && fromHub !== undefined) countDevice(this.#of(waveId, fromHub), from.state, from.gate, -1)
    countDevice(this.#of(waveId, toHub), to.state, to.gate, 1)
  }

  #of (waveId: string, hubId: string): WaveCounts {
    const k = keyOf(waveId, hubId)
    let e = this.byKey.get(k)
    if (e === undefined) {
      e = { waveId, hubId, c: emptyCounts() }
      this.byKey.set(k, e)
    }
    return e.c
  }
}

/** Moves the devices' rows and their waves' per-hub counts; returns the waves that gained a rollback. */
async function applyDeltas (tx: SqlQueryable, hubId: string, deltas: LedgerDelta[], ctx: IngestContext): Promise<string[]> {
  if (deltas.length === 0) return []
  const waves = [...new Set(deltas.map(d => d.waveId))].sort()
  // the store takes part in the wave from its first report (the wave logic may have planned it already)
  await tx.query(`WITH w AS (INSERT INTO waves (wave_id, state, created_ms, updated_ms)
      SELECT w, 'installing', $3, $3 FROM unnest($1::text[]) AS w ON CONFLICT (wave_id) DO NOTHING)
    INSERT INTO wave_stores (wave_id, hub_id, state, updated_ms)
    SELECT w, $2, 'installing', $3 FROM unnest($1::text[]) AS w ON CONFLICT (wave_id, hub_id) DO NOTHING`, [waves, hubId, ctx.now])
  const before = await lockDevices(tx, deltas)
  const counts = new CountDeltas()
  const rollbacks = new Set<string>()
  // devices no store reported yet: inserted as they are; one another report inserted meanwhile is read back locked
  const fresh = deltas.filter(d => !before.has(keyOf(d.waveId, d.deviceId)))
  if (fresh.length > 0) {
    const inserted = await tx.query<{ wave_id: string, device_id: string }>(`INSERT INTO device_outcomes (wave_id, device_id, hub_id, state, gate, version, at_ms, recorded_ms)
      SELECT k.wave_id, k.device_id, $1, k.state, k.gate, k.version, k.at_ms, $8 FROM ${UNNEST_DEVICES}
      ON CONFLICT (wave_id, device_id) DO NOTHING RETURNING wave_id, device_id`, deviceColumns(hubId, fresh, ctx.now))
    const done = new Set(inserted.map(r => keyOf(r.wave_id, r.device_id)))
    for (const d of fresh) {
      if (!done.has(keyOf(d.waveId, d.deviceId))) continue
      counts.move(d.waveId, undefined, undefined, hubId, d)
      if (d.state === 'rolled-back') rollbacks.add(d.waveId)
    }
    const raced = fresh.filter(d => !done.has(keyOf(d.waveId, d.deviceId)))
    if (raced.length > 0) for (const [k, v] of await lockDevices(tx, raced)) before.set(k, v)
  }
  const changed: LedgerDelta[] = []
  for (const d of deltas) {
    const b = before.get(keyOf(d.waveId, d.deviceId))
    if (b === undefined) continue
    // another hub holds a newer state of this device (it moved stores): keep that one
    if (b.hub_id !== hubId && d.version < num(b.version)) continue
    changed.push(d)
    const from = { state: b.state, ...(b.gate !== null ? { gate: b.gate } : {}) }
    if (b.hub_id === hubId && from.state === d.state && from.gate === d.gate) continue
    counts.move(d.waveId, b.hub_id, from, hubId, d)
    if (d.state === 'rolled-back' && from.state !== 'rolled-back') rollbacks.add(d.waveId)
  }
  if (changed.length > 0) {
    await tx.query(`UPDATE device_outcomes o SET hub_id = $1, state = k.state, gate = k.gate, version = k.version, at_ms = k.at_ms, recorded_ms = $8
      FROM ${UNNEST_DEVICES} WHERE o.wave_id = k.wave_id AND o.device_id = k.device_id`, deviceColumns(hubId, changed, ctx.now))
  }
  await addCounts(tx, [...counts.byKey.values()])
  return [...rollbacks].sort()
}

async function addCounts (tx: SqlQueryable, rows: Array<{ waveId: string, hubId: string, c: WaveCounts }>): Promise<void> {
  if (rows.length === 0) return
  // in key order, so two reports touching the same rows lock them in the same order
  rows.sort((a, b) => a.waveId.localeCompare(b.waveId) || a.hubId.localeCompare(b.hubId))
  const col = (f: (c: WaveCounts) => unknown): unknown[] => rows.map(r => f(r.c))
  await tx.query(`INSERT INTO wave_hub_counts (wave_id, hub_id, updated, rolled_back, failed, pending, blocked, total, by_gate, by_failure)
    SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::int[], $6::int[], $7::int[], $8::int[], $9::jsonb[], $10::jsonb[])
    ON CONFLICT (wave_id, hub_id) DO UPDATE SET
      updated = wave_hub_counts.updated + excluded.updated, rolled_back = wave_hub_counts.rolled_back + excluded.rolled_back,
      failed = wave_hub_counts.failed + excluded.failed, pending = wave_hub_counts.pending + excluded.pending,
      blocked = wave_hub_counts.blocked + excluded.blocked, total = wave_hub_counts.total + excluded.total,
      by_gate = storemesh_jsonb_add(wave_hub_counts.by_gate, excluded.by_gate),
      by_failure = storemesh_jsonb_add(wave_hub_counts.by_failure, excluded.by_failure)`,
  [rows.map(r => r.waveId), rows.map(r => r.hubId), col(c => c.updated), col(c => c.rolledBack), col(c => c.failed), col(c => c.pending),
    col(c => c.blocked), col(c => c.total), col(c => JSON.stringify(c.blockedByGate)), col(c => JSON.stringify(c.failedByReason))])
}

async function haltsFor (tx: SqlQueryable, waves: string[], ctx: IngestContext): Promise<FleetOrder[]> {
  if (waves.length === 0) return []
  // one halt decision per wave at a time (two reports must not both halt it); only reports that add a rollback get here
  for (const w of waves) await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [waveLockKey(w)])
  const counts = await waveTotalsOf(tx, waves)
  const out: FleetOrder[] = []
  const limits = await tx.query<{ wave_id: string, halt_on_rollback_ratio: unknown, min_outcomes_for_halt: unknown }>(
    'SELECT wave_id, halt_on_rollback_ratio, min_outcomes_for_halt FROM waves WHERE wave_id = ANY($1::text[])', [waves])
  const current = new Map((await ordersInForce(tx, waves)).map(o => [o.waveId!, o]))
  for (const waveId of waves) {
    const c = counts.get(waveId) ?? emptyCounts()
    const row = limits.find(l => l.wave_id === waveId)
    const limit = row?.halt_on_rollback_ratio != null ? num(row.halt_on_rollback_ratio) : ctx.haltOnRollbackRatio(waveId)
    const minOutcomes = row?.min_outcomes_for_halt != null ? num(row.min_outcomes_for_halt) : ctx.minOutcomesForHalt(waveId)
    const ratio = rollbackRatio(c)
    const cur = current.get(waveId)
    if (ratio === undefined || c.updated + c.rolledBack < minOutcomes || ratio <= limit || cur?.action === 'halt') continue
    const order: FleetOrder = {
      orderId: newOrderId(),
      kind: 'wave',
      action: 'halt',
      waveId,
      reason: `rollback ratio ${ratio.toFixed(4)} > ${limit} (${c.rolledBack} of ${c.updated + c.rolledBack} devices rolled back)`,
      issuedBy: ctx.via,
      source: 'auto',
      // later than the order it replaces, whatever the clocks did
      issuedAtMs: Math.max(ctx.now, (cur?.issuedAtMs ?? 0) + 1)
    }
    await tx.query(`INSERT INTO orders (order_id, kind, action, wave_id, reason, issued_by, source, issued_ms)
      VALUES ($1, 'wave', 'halt', $2, $3, $4, 'auto', $5)`, [order.orderId, waveId, order.reason, order.issuedBy, order.issuedAtMs])
    await tx.query(`UPDATE waves SET state = 'halted', state_reason = $2, updated_ms = $3 WHERE wave_id = $1`, [waveId, order.reason, ctx.now])
    await tx.query(`UPDATE wave_stores SET state = 'halted', updated_ms = $2 WHERE wave_id = $1 AND state IN ('planned', 'prestaging', 'prestaged', 'installing', 'paused')`, [waveId, ctx.now])
    out.push(order)
  }
  return out
}

/**
 * The wave orders in force, for the answer, and their delivery to this hub in the same
 * statement: first handed over (delivered_ms), then acknowledged (acked_ms) by the
 * hub's next report. Orders already acknowledged are not written again.
 */
async function deliverOrders (tx: SqlQueryable, hubId: string, now: number): Promise<FleetOrder[]> {
  const rows = await tx.query(`WITH f AS (${IN_FORCE_SQL}),
    todo AS (SELECT f.order_id FROM f LEFT JOIN order_acks a ON a.order_id = f.order_id AND a.hub_id = $1
      WHERE a.order_id IS NULL OR (a.acked_ms IS NULL AND a.delivered_ms < $2)),
    w AS (INSERT INTO order_acks (order_id, hub_id, delivered_ms) SELECT order_id, $1, $2 FROM todo
      ON CONFLICT (order_id, hub_id) DO UPDATE SET acked_ms = excluded.delivered_ms WHERE order_acks.acked_ms IS NULL)
    SELECT * FROM f`, [hubId, now])
  return rows.map(orderOfRow).sort((a, b) => b.issuedAtMs - a.issuedAtMs || a.waveId!.localeCompare(b.waveId!))
}
