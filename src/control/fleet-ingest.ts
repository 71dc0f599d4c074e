/**
 * Hub reports into the fleet ledger, a group of them in one transaction (docs/fleet.md
 * "Exactly once", "Ingest in groups"). A group holds reports of distinct hubs that name
 * no device twice (ingest-queue.ts forms them); a group of one is a single report.
 *
 *   1. the hubs' rows are locked (FOR UPDATE, in hub order): two super hubs on one
 *      database take the same hub's reports one after the other, never side by side;
 *   2. entries at or below a hub's acked_seq (same epoch) are resends and are skipped;
 *      each report's (hub, epoch, last seq) goes into hub_reports ON CONFLICT DO
 *      NOTHING, so a report replayed whole changes nothing;
 *   3. the devices' rows of the whole group are moved with one statement per table
 *      (fleet-ingest-devices.ts), and the counts per (wave, hub) with them;
 *   4. the halt check (a wave's rollback ratio) runs after the commit, once per group,
 *      in fleet-halt-check.ts: under the limit it locks nothing;
 *   5. acked_seq moves last. A crash anywhere before COMMIT leaves nothing: no hub of
 *      the group got an ack and each sends the same entries again.
 *
 * A hub that is not admitted fails alone (E_HUB_UNKNOWN in its outcome); the others of
 * the group go on.
 */
import { StoremeshError } from '../interface/errors.js'
import type { HubBatch, LedgerDelta, WaveOrder } from '../ledger/report/messages.js'
import type { Holdings } from '../ledger/report/index.js'
import { num, type SqlQueryable } from './db/sql.js'
import { applyGroupDeltas, deviceKey, type HubDelta } from './fleet-ingest-devices.js'
import { IN_FORCE_SQL, orderOfRow, type FleetOrder } from './fleet-orders.js'
import { storeOrdersOf } from './store-gate.js'
import { pendingFleetOrdersOf, recordOrderAcksOf } from './fleet-delivery.js'
import { recordHoldingsOf } from './fleet-holdings.js'

export type HubAdmission = 'open' | 'registered'

export interface IngestContext {
  now: number
  /** the super hub that took the report (hub_reports.via) */
  via: string
  admission: HubAdmission
  /** the wave's limit when its row has none (the super hub's flag or default) */
  haltOnRollbackRatio: (waveId: string) => number
  minOutcomesForHalt: (waveId: string) => number
}

/** One report of a group, with what the sender proved. */
export interface IngestInput {
  batch: HubBatch
  /** the sender's certificate names this hub id (protocols/identity/SPEC.md section 7b) */
  certified: boolean
  peer?: string
  /** a 1.2.0 report: its acks of fleet orders are recorded and its pending fleet orders answered, in the group's transaction */
  fleet?: { ackOrders: readonly string[], holdings?: Holdings }
}

export interface IngestResult {
  ackedSeq: number
  /** outbox entries applied now (0 for a replay) */
  applied: number
  /** every entry was at or below the acked seq */
  replayed: boolean
  /** halt orders this report's group caused (filled after the commit: fleet-halt-check.ts haltsAfterCommit) */
  halts: FleetOrder[]
  /** wave orders in force after it */
  orders: FleetOrder[]
  /** the answer's orders for this store: `orders` gated per store (store-gate.ts) */
  answer: WaveOrder[]
  /** 1.2.0 (`fleet` in the input): the fleet orders this hub has not acked, oldest first */
  fleet?: FleetOrder[]
  /** the store's reported holdings were newer than the recorded ones (pre-staging may have moved) */
  holdingsMoved?: boolean
}

export type IngestOutcome = { ok: true, result: IngestResult } | { ok: false, error: StoremeshError }

interface HubState { epoch: string, ackedSeq: number, lastReportMs?: number, peer?: string, isNew: boolean }
type HubRow = { hub_id: string, epoch: string, acked_seq: unknown, last_report_ms: unknown, peer: string | null }

/** A hub's last_report_ms is rewritten at most this often by polls that change nothing else. @default 10 s */
export const LAST_SEEN_REFRESH_MS = 10_000

/**
 * The hubs' rows, locked for the reports that carry entries. A poll with none reads
 * its row unlocked: it applies nothing, and a transaction that writes nothing is not
 * flushed to disk, so a thousand hubs polling for orders cost reads only. Hubs not yet
 * known are admitted here (or refused: E_HUB_UNKNOWN in `refused`).
 */
async function lockHubs (tx: SqlQueryable, inputs: readonly IngestInput[], ctx: IngestContext): Promise<{ hubs: Map<string, HubState>, refused: Map<string, StoremeshError> }> {
  const read = async (ids: string[], lock: boolean): Promise<HubRow[]> => ids.length === 0
    ? []
    : await tx.query<HubRow>(`SELECT hub_id, epoch, acked_seq, last_report_ms, peer FROM hubs WHERE hub_id = ANY($1::text[]) ORDER BY hub_id${lock ? ' FOR UPDATE' : ''}`, [ids])
  const sorted = [...inputs].sort((a, b) => a.batch.hubId < b.batch.hubId ? -1 : a.batch.hubId > b.batch.hubId ? 1 : 0)
  const locked = sorted.filter(i => i.batch.entries.length > 0).map(i => i.batch.hubId)
  const polls = sorted.filter(i => i.batch.entries.length === 0).map(i => i.batch.hubId)
  const rows = new Map<string, HubRow>()
  for (const r of [...await read(locked, true), ...await read(polls, false)]) rows.set(r.hub_id, r)
  const refused = new Map<string, StoremeshError>()
  const admit: IngestInput[] = []
  for (const i of sorted) {
    if (rows.has(i.batch.hubId)) continue
    if (ctx.admission === 'registered' && !i.certified) {
      const id = i.batch.hubId
      refused.set(id, new StoremeshError('E_HUB_UNKNOWN', `hub ${id} is not registered in the fleet (storemesh fleet hub add --id ${id}) and presented no certificate for it`, { hubId: id }))
    } else admit.push(i)
  }
  const isNew = new Set(admit.map(i => i.batch.hubId))
  if (admit.length > 0) {
    // the rows this statement inserted come back with it (ours until commit: no one else can lock them), so a
    // fleet's first reports cost one round trip here, not two; a hub another transaction admitted meanwhile is read again
    const inserted = await tx.query<HubRow>(`INSERT INTO hubs (hub_id, admitted_by, created_ms) SELECT h, a, $3 FROM unnest($1::text[], $2::text[]) AS k (h, a)
      ON CONFLICT (hub_id) DO NOTHING RETURNING hub_id, epoch, acked_seq, last_report_ms, peer`,
    [admit.map(i => i.batch.hubId), admit.map(i => i.certified ? 'certificate' : 'first-report'), ctx.now])
    for (const r of inserted) rows.set(r.hub_id, r)
    const raced = admit.map(i => i.batch.hubId).filter(id => !rows.has(id))
    if (raced.length > 0) for (const r of [...await read(raced.filter(id => locked.includes(id)), true), ...await read(raced.filter(id => polls.includes(id)), false)]) rows.set(r.hub_id, r)
  }
  const hubs = new Map<string, HubState>()
  for (const i of sorted) {
    const row = rows.get(i.batch.hubId)
    if (row === undefined) continue
    const seen = { isNew: isNew.has(row.hub_id), ...(row.last_report_ms !== null ? { lastReportMs: num(row.last_report_ms) } : {}), ...(row.peer !== null ? { peer: row.peer } : {}) }
    // a new epoch is a new outbox (the hub's ledger was rebuilt): its seq starts again
    hubs.set(row.hub_id, row.epoch === i.batch.epoch ? { ...seen, epoch: row.epoch, ackedSeq: num(row.acked_seq) } : { ...seen, epoch: i.batch.epoch, ackedSeq: 0 })
  }
  return { hubs, refused }
}

/** The last fresh entry per (wave, device): a hub's later outbox entry replaces its earlier one. */
function freshEntries (entries: readonly LedgerDelta[], ackedSeq: number): LedgerDelta[] {
  const out = new Map<string, LedgerDelta>()
  for (const d of entries) if (d.seq > ackedSeq) out.set(deviceKey(d.waveId, d.deviceId), d)
  return [...out.values()]
}

/** A group may hold each hub once and each (wave, device) in one report only (see ingest-queue.ts). */
export function groupConflicts (inputs: readonly IngestInput[]): boolean {
  const hubs = new Set<string>()
  const devices = new Map<string, string>()
  for (const { batch } of inputs) {
    if (hubs.has(batch.hubId)) return true
    hubs.add(batch.hubId)
    for (const d of batch.entries) {
      const k = deviceKey(d.waveId, d.deviceId)
      const other = devices.get(k)
      if (other !== undefined && other !== batch.hubId) return true
      devices.set(k, batch.hubId)
    }
  }
  return false
}

/** One report in its own transaction's worth of work (a group of one). */
export async function ingestHubBatch (tx: SqlQueryable, batch: HubBatch, ctx: IngestContext & { certified: boolean, peer?: string }): Promise<IngestResult> {
  const [out] = await ingestHubBatches(tx, [{ batch, certified: ctx.certified, ...(ctx.peer !== undefined ? { peer: ctx.peer } : {}) }], ctx)
  if (!out!.ok) throw out!.error
  return out!.result
}

/** Applies a group of reports in the caller's transaction; one outcome per input, in input order. */
export async function ingestHubBatches (tx: SqlQueryable, inputs: readonly IngestInput[], ctx: IngestContext): Promise<IngestOutcome[]> {
  if (groupConflicts(inputs)) throw new StoremeshError('E_LEDGER', 'a report group names one hub or one device twice')
  const { hubs, refused } = await lockHubs(tx, inputs, ctx)
  const work = inputs.filter(i => hubs.has(i.batch.hubId)).map(i => {
    const hub = hubs.get(i.batch.hubId)!
    return { i, hub, lastSeq: i.batch.entries.at(-1)?.seq ?? 0, ackedSeq: hub.ackedSeq, applied: 0 }
  })
  const toLog = work.filter(w => w.lastSeq > w.hub.ackedSeq)
  if (toLog.length > 0) {
    const logged = await tx.query<{ hub_id: string }>(`INSERT INTO hub_reports (hub_id, epoch, last_seq, first_seq, entries, received_ms, via)
      SELECT h, e, l, f, n, $6, $7 FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::int[]) AS k (h, e, l, f, n)
      ON CONFLICT DO NOTHING RETURNING hub_id`,
    [toLog.map(w => w.i.batch.hubId), toLog.map(w => w.i.batch.epoch), toLog.map(w => w.lastSeq), toLog.map(w => w.i.batch.entries[0]!.seq),
      toLog.map(w => w.i.batch.entries.length), ctx.now, ctx.via])
    const done = new Set(logged.map(r => r.hub_id))
    const deltas: HubDelta[] = []
    for (const w of toLog) {
      if (!done.has(w.i.batch.hubId)) continue
      w.applied = w.i.batch.entries.filter(d => d.seq > w.hub.ackedSeq).length
      for (const d of freshEntries(w.i.batch.entries, w.hub.ackedSeq)) deltas.push({ hubId: w.i.batch.hubId, d })
      w.ackedSeq = w.lastSeq
    }
    await applyGroupDeltas(tx, deltas, ctx.now)
  }
  const seen = work.filter(w => {
    const stale = w.hub.lastReportMs === undefined || ctx.now - w.hub.lastReportMs >= LAST_SEEN_REFRESH_MS
    return w.hub.isNew || w.ackedSeq !== w.hub.ackedSeq || stale || (w.i.peer !== undefined && w.i.peer !== w.hub.peer)
  })
  if (seen.length > 0) {
    await tx.query(`UPDATE hubs SET epoch = k.e, acked_seq = k.s, last_report_ms = $4, peer = COALESCE(k.p, hubs.peer)
      FROM unnest($1::text[], $2::text[], $3::bigint[], $5::text[]) AS k (h, e, s, p) WHERE hubs.hub_id = k.h`,
    [seen.map(w => w.i.batch.hubId), seen.map(w => w.hub.epoch), seen.map(w => w.ackedSeq), ctx.now, seen.map(w => w.i.peer ?? null)])
  }
  // the halt check runs after the commit, once per group (fleet-halt-check.ts): it needs no lock while the wave is under its limit
  const halts: FleetOrder[] = []
  const orders = await deliverOrders(tx, work.map(w => w.i.batch.hubId), ctx.now)
  // one statement each for the whole group, not one per report (the answers are built from them below)
  const gated = await storeOrdersOf(tx, work.map(w => w.i.batch.hubId), orders)
  const v12 = work.filter(w => w.i.fleet !== undefined)
  await recordOrderAcksOf(tx, v12.map(w => ({ hubId: w.i.batch.hubId, orderIds: w.i.fleet!.ackOrders })), ctx.now)
  const fleet = await pendingFleetOrdersOf(tx, v12.map(w => w.i.batch.hubId))
  // what each store holds: pre-staging and availability read it (fleet-holdings.ts)
  const holdingsMoved = await recordHoldingsOf(tx, v12.flatMap(w => w.i.fleet!.holdings !== undefined ? [{ hubId: w.i.batch.hubId, holdings: w.i.fleet!.holdings }] : []), ctx.now)
  const byHub = new Map(work.map(w => [w.i.batch.hubId, w]))
  const out: IngestOutcome[] = []
  for (const { batch } of inputs) {
    const err = refused.get(batch.hubId)
    if (err !== undefined) {
      out.push({ ok: false, error: err })
      continue
    }
    const w = byHub.get(batch.hubId)!
    // each store's answer gated for it (store-gate.ts): in the group's transaction, so it sees this group's writes
    const result: IngestResult = { ackedSeq: w.ackedSeq, applied: w.applied, replayed: batch.entries.length > 0 && w.applied === 0, halts, orders, answer: gated.get(batch.hubId) ?? [] }
    const pending = fleet.get(batch.hubId)
    if (pending !== undefined) result.fleet = pending
    if (holdingsMoved.has(batch.hubId)) result.holdingsMoved = true
    out.push({ ok: true, result })
  }
  return out
}

/**
 * The wave orders in force, for the answers, and their delivery to these hubs in the
 * same statement: first handed over (delivered_ms), then acknowledged (acked_ms) by the
 * hub's next report. Orders already acknowledged are not written again.
 */
async function deliverOrders (tx: SqlQueryable, hubIds: readonly string[], now: number): Promise<FleetOrder[]> {
  const rows = await tx.query(`WITH f AS (${IN_FORCE_SQL}),
    todo AS (SELECT f.order_id, h.hub_id FROM f CROSS JOIN unnest($1::text[]) AS h (hub_id)
      LEFT JOIN order_acks a ON a.order_id = f.order_id AND a.hub_id = h.hub_id
      WHERE a.order_id IS NULL OR (a.acked_ms IS NULL AND a.delivered_ms < $2)),
    w AS (INSERT INTO order_acks (order_id, hub_id, delivered_ms) SELECT order_id, hub_id, $2 FROM todo ORDER BY hub_id, order_id
      ON CONFLICT (order_id, hub_id) DO UPDATE SET acked_ms = excluded.delivered_ms WHERE order_acks.acked_ms IS NULL)
    SELECT * FROM f`, [[...hubIds].sort(), now])
  return rows.map(orderOfRow).sort((a, b) => b.issuedAtMs - a.issuedAtMs || a.waveId!.localeCompare(b.waveId!))
}
