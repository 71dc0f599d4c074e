/**
 * The fleet-wide auto-halt of a report group (fleet-ingest.ts step 4, docs/fleet.md
 * "Exactly once"): a wave whose rollback ratio passes its limit, after its minimum
 * outcomes, gets a halt order row.
 *
 * Deciding inside the group's transaction under the wave's advisory lock made every
 * group that carried a rollback wait for the one before it to commit: the groups of a
 * wave ran one at a time (73% of PostgreSQL's statement time in bench:fleet was that
 * wait). Now the check runs once the group committed (haltsAfterCommit): each wave
 * that an entry of the group names, applied or resent, is summed without a
 * lock, seeing every group that committed before. Of two groups that committed side by
 * side, each under the limit alone, the one that checks last sees both. Only a wave
 * over its limit is locked, summed again and halted (haltsFor), when no halt is in
 * force, so two groups or two super hubs never both halt it. The halt is added to the
 * group's answers before they are sent. A crash between the commit and the check is
 * covered by the hubs' resend: a replayed report still names its entries' waves, and
 * the check runs for them. Any entry, not only a rollback: a wave already over its ratio
 * but under its minimum outcomes reaches the minimum through an `updated` entry, and is
 * halted by that group's check rather than by the wave runner's next tick.
 */
import { emptyCounts, rollbackRatio } from '../ledger/condense.js'
import { num, type SqlDb, type SqlQueryable } from './db/sql.js'
import type { IngestContext, IngestInput, IngestOutcome } from './fleet-ingest.js'
import { inForceForWaveSql, newOrderId, orderOfRow, toWaveOrder, type FleetOrder } from './fleet-orders.js'

const waveLockKey = (waveId: string): string => `storemesh-wave:${waveId}`

interface WaveState { waveId: string, updated: number, rolledBack: number, limit: number, minOutcomes: number, current?: FleetOrder }

/**
 * Per wave: its sums, its limit and its order in force, in one statement: the check runs
 * after every group that carries entries, and on a loaded machine each round trip
 * costs more than the statement.
 */
async function readWaves (q: SqlQueryable, waves: readonly string[], ctx: Pick<IngestContext, 'haltOnRollbackRatio' | 'minOutcomesForHalt'>): Promise<WaveState[]> {
  const rows = await q.query<{ wave_id: string, updated: unknown, rolled_back: unknown, halt_on_rollback_ratio: unknown, min_outcomes_for_halt: unknown, current_order: Record<string, unknown> | null }>(
    `SELECT k.wave_id, s.updated, s.rolled_back, w.halt_on_rollback_ratio, w.min_outcomes_for_halt, to_jsonb(o) AS current_order FROM unnest($1::text[]) AS k (wave_id)
      LEFT JOIN waves w ON w.wave_id = k.wave_id
      LEFT JOIN LATERAL (SELECT sum(updated) AS updated, sum(rolled_back) AS rolled_back FROM wave_hub_counts c WHERE c.wave_id = k.wave_id) s ON true
      LEFT JOIN LATERAL (${inForceForWaveSql('k.wave_id')}) o ON true`, [[...waves]])
  return rows.map(r => ({
    waveId: r.wave_id,
    updated: num(r.updated ?? 0),
    rolledBack: num(r.rolled_back ?? 0),
    limit: r.halt_on_rollback_ratio != null ? num(r.halt_on_rollback_ratio) : ctx.haltOnRollbackRatio(r.wave_id),
    minOutcomes: r.min_outcomes_for_halt != null ? num(r.min_outcomes_for_halt) : ctx.minOutcomesForHalt(r.wave_id),
    ...(r.current_order !== null ? { current: orderOfRow(r.current_order) } : {})
  }))
}

function overLimit (w: WaveState): boolean {
  const ratio = rollbackRatio({ ...emptyCounts(), updated: w.updated, rolledBack: w.rolledBack })
  return ratio !== undefined && w.updated + w.rolledBack >= w.minOutcomes && ratio > w.limit && w.current?.action !== 'halt'
}

/**
 * The halts these waves need now, written in `tx`: read unlocked first; only a wave
 * over its limit is locked (in wave order, so two checks never wait crosswise), read
 * again and halted.
 */
export async function haltsFor (tx: SqlQueryable, waves: readonly string[], ctx: IngestContext): Promise<FleetOrder[]> {
  if (waves.length === 0) return []
  const over = (await readWaves(tx, waves, ctx)).filter(overLimit).map(w => w.waveId).sort()
  if (over.length === 0) return []
  for (const w of over) await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [waveLockKey(w)])
  const out: FleetOrder[] = []
  for (const w of (await readWaves(tx, over, ctx)).filter(overLimit)) {
    const ratio = rollbackRatio({ ...emptyCounts(), updated: w.updated, rolledBack: w.rolledBack })!
    const order: FleetOrder = {
      orderId: newOrderId(),
      kind: 'wave',
      action: 'halt',
      waveId: w.waveId,
      reason: `rollback ratio ${ratio.toFixed(4)} > ${w.limit} (${w.rolledBack} of ${w.updated + w.rolledBack} devices rolled back)`,
      issuedBy: ctx.via,
      source: 'auto',
      // later than the order it replaces, whatever the clocks did
      issuedAtMs: Math.max(ctx.now, (w.current?.issuedAtMs ?? 0) + 1)
    }
    await tx.query(`INSERT INTO orders (order_id, kind, action, wave_id, reason, issued_by, source, issued_ms)
      VALUES ($1, 'wave', 'halt', $2, $3, $4, 'auto', $5)`, [order.orderId, w.waveId, order.reason, order.issuedBy, order.issuedAtMs])
    await tx.query(`UPDATE waves SET state = 'halted', state_reason = $2, updated_ms = $3 WHERE wave_id = $1`, [w.waveId, order.reason, ctx.now])
    await tx.query(`UPDATE wave_stores SET state = 'halted', updated_ms = $2 WHERE wave_id = $1 AND state IN ('planned', 'prestaging', 'prestaged', 'installing', 'paused')`, [w.waveId, ctx.now])
    out.push(order)
  }
  return out
}

/**
 * Once the group committed: the waves its reports' entries name (polls name none). A halt
 * written here is added to every committed report's result and answer (the ledger
 * logs it and wakes held polls with it).
 */
export async function haltsAfterCommit (db: SqlDb, inputs: readonly IngestInput[], outcomes: IngestOutcome[], ctx: IngestContext): Promise<void> {
  const halted = new Set<string>()
  for (const o of outcomes) if (o.ok) for (const h of o.result.halts) halted.add(h.waveId!)
  const waves = new Set<string>()
  inputs.forEach((input, i) => {
    if (outcomes[i]?.ok !== true) return
    for (const d of input.batch.entries) if (!halted.has(d.waveId)) waves.add(d.waveId)
  })
  if (waves.size === 0) return
  // an unlocked read outside any transaction first: nearly always under the limit, and then nothing is locked
  if (!(await readWaves(db, [...waves], ctx)).some(overLimit)) return
  const halts = await db.transaction(async tx => await haltsFor(tx, [...waves].sort(), ctx))
  if (halts.length === 0) return
  const waves2 = new Set(halts.map(h => h.waveId!))
  for (const o of outcomes) {
    if (!o.ok) continue
    const r = o.result
    r.halts = [...r.halts, ...halts]
    r.orders = [...halts, ...r.orders.filter(x => !waves2.has(x.waveId!))]
    r.answer = [...halts.map(toWaveOrder), ...r.answer.filter(x => !waves2.has(x.waveId))]
  }
}
