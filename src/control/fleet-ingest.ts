/**
 * One hub report into the fleet ledger, in one transaction (docs/fleet.md "Exactly
 * once"):
 *
 *   1. the hub's row is locked (FOR UPDATE): two super hubs on one database take the
 *      same hub's reports one after the other, never side by side;
 *   2. entries at or below the hub's acked_seq (same epoch) are resends and are skipped;
 *      the report's (hub, epoch, last seq) goes into hub_reports ON CONFLICT DO NOTHING,
 *      so a report replayed whole changes nothing;
 *   3. per wave an advisory lock (waves in sorted order: no deadlock), then the devices'
 *      rows are read, moved and written back with the wave's counts: a device counts
 *      once per wave wherever it reported from, the highest journal seq winning;
 *   4. a wave whose rollback ratio passes its limit after its minimum outcomes gets a
 *      halt order row, in the same transaction;
 *   5. acked_seq moves last. A crash anywhere before COMMIT leaves nothing: the hub
 *      got no ack and sends the same entries again.
 */
import { StoremeshError } from '../interface/errors.js'
import { emptyCounts, moveDevice, rollbackRatio, type WaveCounts } from '../ledger/condense.js'
import type { DeviceWaveState, HubBatch, LedgerDelta } from '../ledger/report/messages.js'
import { num, type SqlQueryable } from './db/sql.js'
import { newOrderId, ordersInForce, type FleetOrder } from './fleet-orders.js'

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
  minOutcomesForHalt: number
}

export interface IngestResult {
  ackedSeq: number
  /** outbox entries applied now (0 for a replay) */
  applied: number
  /** every entry was at or below the acked seq */
  replayed: boolean
  /** halt orders this report caused */
  halts: FleetOrder[]
  /** wave orders in force after it, for the answer */
  orders: FleetOrder[]
}

type DeviceRow = { hub_id: string, state: DeviceWaveState, gate: string | null, version: unknown }

const waveLockKey = (waveId: string): string => `storemesh-wave:${waveId}`

async function lockHub (tx: SqlQueryable, batch: HubBatch, ctx: IngestContext): Promise<{ epoch: string, ackedSeq: number }> {
  const read = async (): Promise<Array<{ epoch: string, acked_seq: unknown }>> =>
    await tx.query('SELECT epoch, acked_seq FROM hubs WHERE hub_id = $1 FOR UPDATE', [batch.hubId])
  let rows = await read()
  if (rows.length === 0) {
    if (ctx.admission === 'registered' && !ctx.certified) {
      throw new StoremeshError('E_HUB_UNKNOWN', `hub ${batch.hubId} is not registered in the fleet (storemesh fleet hub add --id ${batch.hubId}) and presented no certificate for it`, { hubId: batch.hubId })
    }
    await tx.query(`INSERT INTO hubs (hub_id, admitted_by, created_ms) VALUES ($1, $2, $3) ON CONFLICT (hub_id) DO NOTHING`,
      [batch.hubId, ctx.certified ? 'certificate' : 'first-report', ctx.now])
    rows = await read()
  }
  const row = rows[0]!
  // a new epoch is a new outbox (the hub's ledger was rebuilt): its seq starts again
  return row.epoch === batch.epoch ? { epoch: row.epoch, ackedSeq: num(row.acked_seq) } : { epoch: batch.epoch, ackedSeq: 0 }
}

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
  let halts: FleetOrder[] = []
  let ackedSeq = hub.ackedSeq
  if (lastSeq > hub.ackedSeq) {
    const logged = await tx.query(`INSERT INTO hub_reports (hub_id, epoch, last_seq, first_seq, entries, received_ms, via)
      VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING last_seq`,
    [batch.hubId, batch.epoch, lastSeq, batch.entries[0]!.seq, batch.entries.length, ctx.now, ctx.via])
    if (logged.length === 1) {
      applied = batch.entries.filter(d => d.seq > hub.ackedSeq).length
      halts = await applyDeltas(tx, batch.hubId, [...fresh.values()], ctx)
      ackedSeq = lastSeq
    }
  }
  await tx.query(`UPDATE hubs SET epoch = $2, acked_seq = $3, last_report_ms = $4, peer = COALESCE($5, peer) WHERE hub_id = $1`,
    [batch.hubId, hub.epoch, ackedSeq, ctx.now, ctx.peer ?? null])
  const orders = await ordersInForce(tx)
  await recordDelivery(tx, batch.hubId, orders, ctx.now)
  return { ackedSeq, applied, replayed: batch.entries.length > 0 && applied === 0, halts, orders }
}

/** Moves the devices' rows and their waves' counts; returns the halts it caused. */
async function applyDeltas (tx: SqlQueryable, hubId: string, deltas: LedgerDelta[], ctx: IngestContext): Promise<FleetOrder[]> {
  if (deltas.length === 0) return []
  const waves = [...new Set(deltas.map(d => d.waveId))].sort()
  await tx.query(`INSERT INTO waves (wave_id, state, created_ms, updated_ms)
    SELECT w, 'installing', $2, $2 FROM unnest($1::text[]) AS w ON CONFLICT (wave_id) DO NOTHING`, [waves, ctx.now])
  for (const w of waves) await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [waveLockKey(w)])
  const before = new Map<string, DeviceRow>()
  const rows = await tx.query<DeviceRow & { wave_id: string, device_id: string }>(`SELECT d.wave_id, d.device_id, d.hub_id, d.state, d.gate, d.version
    FROM device_outcomes d JOIN unnest($1::text[], $2::text[]) AS k (wave_id, device_id) USING (wave_id, device_id)`,
  [deltas.map(d => d.waveId), deltas.map(d => d.deviceId)])
  for (const r of rows) before.set(`${r.wave_id}\u0000${r.device_id}`, r)
  const counts = new Map<string, WaveCounts>()
  for (const r of await tx.query<{ wave_id: string, counts: WaveCounts | string }>('SELECT wave_id, counts FROM wave_counts WHERE wave_id = ANY($1::text[])', [waves])) {
    counts.set(r.wave_id, typeof r.counts === 'string' ? JSON.parse(r.counts) as WaveCounts : r.counts)
  }
  const changed: LedgerDelta[] = []
  const rollbacks = new Set<string>()
  const moved = new Set<string>()
  for (const d of deltas) {
    const b = before.get(`${d.waveId}\u0000${d.deviceId}`)
    // another hub holds a newer state of this device (it moved stores): keep that one
    if (b !== undefined && b.hub_id !== hubId && d.version < num(b.version)) continue
    changed.push(d)
    const from = b !== undefined ? { state: b.state, ...(b.gate !== null ? { gate: b.gate } : {}) } : undefined
    if (from !== undefined && from.state === d.state && from.gate === d.gate) continue
    const c = counts.get(d.waveId) ?? emptyCounts()
    moveDevice(c, from, d)
    counts.set(d.waveId, c)
    moved.add(d.waveId)
    if (d.state === 'rolled-back') rollbacks.add(d.waveId)
  }
  if (changed.length > 0) {
    await tx.query(`INSERT INTO device_outcomes (wave_id, device_id, hub_id, state, gate, version, at_ms, recorded_ms)
      SELECT k.wave_id, k.device_id, $1, k.state, k.gate, k.version, k.at_ms, $8
      FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[]) AS k (wave_id, device_id, state, gate, version, at_ms)
      ON CONFLICT (wave_id, device_id) DO UPDATE SET hub_id = excluded.hub_id, state = excluded.state, gate = excluded.gate,
        version = excluded.version, at_ms = excluded.at_ms, recorded_ms = excluded.recorded_ms`,
    [hubId, changed.map(d => d.waveId), changed.map(d => d.deviceId), changed.map(d => d.state), changed.map(d => d.gate ?? null),
      changed.map(d => d.version), changed.map(d => d.atMs), ctx.now])
    // the store takes part in the wave from its first report (the wave logic may have planned it already)
    await tx.query(`INSERT INTO wave_stores (wave_id, hub_id, state, updated_ms)
      SELECT w, $2, 'installing', $3 FROM unnest($1::text[]) AS w ON CONFLICT (wave_id, hub_id) DO NOTHING`,
    [[...new Set(changed.map(d => d.waveId))], hubId, ctx.now])
  }
  if (moved.size > 0) {
    const ids = [...moved]
    await tx.query(`INSERT INTO wave_counts (wave_id, counts) SELECT * FROM unnest($1::text[], $2::jsonb[])
      ON CONFLICT (wave_id) DO UPDATE SET counts = excluded.counts`, [ids, ids.map(w => JSON.stringify(counts.get(w)))])
  }
  return await haltsFor(tx, [...rollbacks].sort(), counts, ctx)
}

async function haltsFor (tx: SqlQueryable, waves: string[], counts: Map<string, WaveCounts>, ctx: IngestContext): Promise<FleetOrder[]> {
  if (waves.length === 0) return []
  const out: FleetOrder[] = []
  const limits = await tx.query<{ wave_id: string, halt_on_rollback_ratio: unknown, min_outcomes_for_halt: unknown }>(
    'SELECT wave_id, halt_on_rollback_ratio, min_outcomes_for_halt FROM waves WHERE wave_id = ANY($1::text[])', [waves])
  const current = new Map((await ordersInForce(tx, waves)).map(o => [o.waveId!, o]))
  for (const waveId of waves) {
    const c = counts.get(waveId)!
    const row = limits.find(l => l.wave_id === waveId)
    const limit = row?.halt_on_rollback_ratio != null ? num(row.halt_on_rollback_ratio) : ctx.haltOnRollbackRatio(waveId)
    const minOutcomes = row?.min_outcomes_for_halt != null ? num(row.min_outcomes_for_halt) : ctx.minOutcomesForHalt
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

/** The answer carries these orders to the hub: first time delivered, later ones acknowledged. */
async function recordDelivery (tx: SqlQueryable, hubId: string, orders: readonly FleetOrder[], now: number): Promise<void> {
  if (orders.length === 0) return
  await tx.query(`INSERT INTO order_acks (order_id, hub_id, delivered_ms) SELECT o, $2, $3 FROM unnest($1::text[]) AS o
    ON CONFLICT (order_id, hub_id) DO UPDATE SET acked_ms = COALESCE(order_acks.acked_ms,
      CASE WHEN order_acks.delivered_ms < excluded.delivered_ms THEN excluded.delivered_ms END)`,
  [orders.map(o => o.orderId), hubId, now])
}

