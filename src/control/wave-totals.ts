/**
 * A wave's device totals: the sum of its per-store rows in wave_hub_counts (each
 * report moves only its own store's row, so reports of one wave never queue on one
 * counter row; docs/fleet.md "Tables").
 */
import { emptyCounts, type WaveCounts } from '../ledger/condense.js'
import { num, type SqlQueryable } from './db/sql.js'

/** A wave's totals: the sum of its stores' rows (what this transaction wrote, and what others committed). */
export async function waveTotalsOf (q: SqlQueryable, waves: readonly string[]): Promise<Map<string, WaveCounts>> {
  const out = new Map<string, WaveCounts>()
  if (waves.length === 0) return out
  const rows = await q.query(`SELECT wave_id, sum(updated) AS updated, sum(rolled_back) AS rolled_back, sum(failed) AS failed, sum(pending) AS pending,
      sum(blocked) AS blocked, sum(total) AS total FROM wave_hub_counts WHERE wave_id = ANY($1::text[]) GROUP BY wave_id`, [waves])
  for (const r of rows) {
    out.set(String(r.wave_id), { ...emptyCounts(), updated: num(r.updated), rolledBack: num(r.rolled_back), failed: num(r.failed), pending: num(r.pending), blocked: num(r.blocked), total: num(r.total) })
  }
  for (const [col, field] of [['by_gate', 'blockedByGate'], ['by_failure', 'failedByReason']] as const) {
    const maps = await q.query(`SELECT wave_id, e.key, sum(e.value::text::numeric) AS n FROM wave_hub_counts, jsonb_each(${col}) e
      WHERE wave_id = ANY($1::text[]) GROUP BY wave_id, e.key HAVING sum(e.value::text::numeric) <> 0`, [waves])
    for (const m of maps) {
      const c = out.get(String(m.wave_id))
      if (c !== undefined) c[field][String(m.key)] = num(m.n)
    }
  }
  return out
}
