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
import type { WaveOrder } from '../ledger/report/messages.js'
import { num, optNum, type SqlQueryable } from './db/sql.js'
import { toWaveOrder, type FleetOrder } from './fleet-orders.js'

export const BATCH_NOT_STARTED = 'wave-batch-not-started'

/** The orders for one store hub's answer: the waves' orders in force, each gated for this store. */
export async function storeOrders (tx: SqlQueryable, hubId: string, inForce: readonly FleetOrder[]): Promise<WaveOrder[]> {
  const managed = await tx.query<{ wave_id: string, state: string, created_ms: unknown, started_ms: unknown }>(`SELECT w.wave_id, w.state, w.created_ms, s.started_ms
    FROM waves w LEFT JOIN wave_stores s ON s.wave_id = w.wave_id AND s.hub_id = $1
    WHERE w.machine IS NOT NULL`, [hubId])
  const byWave = new Map(inForce.map(o => [o.waveId!, o]))
  const out = new Map<string, WaveOrder>(inForce.map(o => [o.waveId!, toWaveOrder(o)]))
  for (const m of managed) {
    const cur = byWave.get(m.wave_id)
    if (cur?.action === 'halt' || cur?.action === 'pause') continue
    const base = Math.max(num(m.created_ms), cur?.issuedAtMs ?? 0)
    // a done wave holds no store (one that never started gets the resume that lifts its gate)
    out.set(m.wave_id, optNum(m.started_ms) === undefined && m.state !== 'done'
      ? { waveId: m.wave_id, action: 'pause', reason: BATCH_NOT_STARTED, issuedAtMs: base }
      : { waveId: m.wave_id, action: 'resume', reason: '', issuedAtMs: base + 1 })
  }
  return [...out.values()].sort((a, b) => b.issuedAtMs - a.issuedAtMs || a.waveId.localeCompare(b.waveId))
}
