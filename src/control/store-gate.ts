/**
 * Per-store gating in the report answers (docs/fleet-waves.md "What a store is told").
 * For a wave the runner drives (waves.machine set, not done) each store hub gets its own
 * order, by this precedence:
 *
 *   halt  > pause  > gate  > resume
 *
 *   halt, pause   the wave order in force (an operator's or an auto-halt): every store
 *   gate          the store's batch has not started (or it is not in the plan yet): a
 *                 `pause` with reason `wave-batch-not-started`, so its devices' install
 *                 gate (`wave.paused`) holds and says why; they still fetch and verify
 *   resume        the store's batch started (wave_stores.started_ms)
 *
 * A done wave lifts every gate. Waves no runner drives are answered with their order in force, as before. Times: a
 * hub keeps per wave the newest order (src/ledger/orders.ts supersedes(): later wins,
 * equal times go to the stronger), so the gate is dated at the wave's last order (or its
 * creation) and a started store's resume 1 ms later: a new operator order is always
 * dated after the one in force (fleet-orders.ts), so it replaces both, and at an equal
 * time a pause or halt outranks the resume.
 */
import { BATCH_NOT_STARTED_REASON } from '../ledger/orders.js'
import type { WaveOrder } from '../ledger/report/messages.js'
import { num, optNum, type SqlQueryable } from './db/sql.js'
import { toWaveOrder, type FleetOrder } from './fleet-orders.js'

export const BATCH_NOT_STARTED = BATCH_NOT_STARTED_REASON

/** The orders for one store hub's answer: the waves' orders in force, each gated for this store. */
export async function storeOrders (tx: SqlQueryable, hubId: string, inForce: readonly FleetOrder[]): Promise<WaveOrder[]> {
  return (await storeOrdersOf(tx, [hubId], inForce)).get(hubId) ?? []
}

/**
 * The same for every hub of a report group, by one query: a group of 64 reports
 * asked once, not 64 times (docs/fleet.md "Ingest in groups").
 */
export async function storeOrdersOf (tx: SqlQueryable, hubIds: readonly string[], inForce: readonly FleetOrder[]): Promise<Map<string, WaveOrder[]>> {
  const managed = await tx.query<{ wave_id: string, state: string, created_ms: unknown, hub_id: string | null, started_ms: unknown }>(`SELECT w.wave_id, w.state, w.created_ms, s.hub_id, s.started_ms
    FROM waves w LEFT JOIN wave_stores s ON s.wave_id = w.wave_id AND s.hub_id = ANY($1::text[])
    WHERE w.machine IS NOT NULL`, [[...hubIds]])
  // per managed wave: the hubs with a wave_stores row (the others have not started)
  const waves = new Map<string, { state: string, createdMs: number, started: Map<string, number | undefined> }>()
  for (const m of managed) {
    let w = waves.get(m.wave_id)
    if (w === undefined) waves.set(m.wave_id, w = { state: m.state, createdMs: num(m.created_ms), started: new Map() })
    if (m.hub_id !== null) w.started.set(m.hub_id, optNum(m.started_ms))
  }
  const byWave = new Map(inForce.map(o => [o.waveId!, o]))
  const out = new Map<string, WaveOrder[]>()
  for (const hubId of hubIds) {
    const orders = new Map<string, WaveOrder>(inForce.map(o => [o.waveId!, toWaveOrder(o)]))
    for (const [waveId, m] of waves) {
      const cur = byWave.get(waveId)
      if (cur?.action === 'halt' || cur?.action === 'pause') continue
      const base = Math.max(m.createdMs, cur?.issuedAtMs ?? 0)
      // a done wave holds no store (one that never started gets the resume that lifts its gate)
      orders.set(waveId, m.started.get(hubId) === undefined && m.state !== 'done'
        ? { waveId, action: 'pause', reason: BATCH_NOT_STARTED, issuedAtMs: base }
        : { waveId, action: 'resume', reason: '', issuedAtMs: base + 1 })
    }
    out.set(hubId, [...orders.values()].sort((a, b) => b.issuedAtMs - a.issuedAtMs || a.waveId.localeCompare(b.waveId)))
  }
  return out
}
