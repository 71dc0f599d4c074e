/**
 * The device half of a report group's ingest (fleet-ingest.ts step 3): the devices'
 * rows of every report in the group moved with one statement per table, and the
 * per-(wave, hub) counts moved with them. A device counts once per wave wherever it
 * reported from; the highest journal seq (version) wins when it moved stores.
 *
 * Locks are taken in key order (devices by (wave, device), counts by (wave, hub)) so
 * two groups that touch the same rows wait for each other instead of deadlocking.
 */
import { countDevice, emptyCounts, type WaveCounts } from '../ledger/condense.js'
import type { DeviceWaveState, LedgerDelta } from '../ledger/report/messages.js'
import { num, type SqlQueryable } from './db/sql.js'

/** One fresh outbox entry with the hub that reported it. */
export interface HubDelta { hubId: string, d: LedgerDelta }

type DeviceRow = { hub_id: string, state: DeviceWaveState, gate: string | null, version: unknown }
type Keyed = DeviceRow & { wave_id: string, device_id: string }

export const deviceKey = (waveId: string, deviceId: string): string => `${waveId}\u0000${deviceId}`
const keyOfDelta = (x: HubDelta): string => deviceKey(x.d.waveId, x.d.deviceId)
const byDeviceKey = (a: HubDelta, b: HubDelta): number => a.d.waveId < b.d.waveId ? -1 : a.d.waveId > b.d.waveId ? 1 : a.d.deviceId < b.d.deviceId ? -1 : a.d.deviceId > b.d.deviceId ? 1 : 0

/**
 * The rows of these devices, locked until commit in key order (FOR UPDATE): a concurrent
 * report of the same device waits. One primary-key probe per device (LATERAL), in the
 * order given (the caller's key order): a join of the key list with the table was
 * planned as a hash join over the whole table whenever its statistics lagged behind
 * its growth, which a fleet's first wave always does (175 ms at 100,000 rows for 320
 * keys, against 9 ms; every group paid it, so the ingest grew quadratic).
 */
async function lockDevices (tx: SqlQueryable, deltas: readonly HubDelta[]): Promise<Map<string, DeviceRow>> {
  const rows = await tx.query<Keyed>(`SELECT d.wave_id, d.device_id, d.hub_id, d.state, d.gate, d.version
    FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k (wave_id, device_id, n)
    CROSS JOIN LATERAL (SELECT * FROM device_outcomes o WHERE o.wave_id = k.wave_id AND o.device_id = k.device_id FOR UPDATE) d
    ORDER BY k.n`,
  [deltas.map(x => x.d.waveId), deltas.map(x => x.d.deviceId)])
  return new Map(rows.map(r => [deviceKey(r.wave_id, r.device_id), r]))
}

const deviceColumns = (xs: readonly HubDelta[], now: number): unknown[] => [xs.map(x => x.hubId), xs.map(x => x.d.waveId), xs.map(x => x.d.deviceId),
  xs.map(x => x.d.state), xs.map(x => x.d.gate ?? null), xs.map(x => x.d.version), xs.map(x => x.d.atMs), now]
const UNNEST_DEVICES = 'unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[]) AS k (hub_id, wave_id, device_id, state, gate, version, at_ms)'

/** Count moves per (wave, hub): the hub a device left loses it, the reporting hub gains it. */
class CountDeltas {
  readonly byKey = new Map<string, { waveId: string, hubId: string, c: WaveCounts }>()
  move (waveId: string, fromHub: string | undefined, from: { state: DeviceWaveState, gate?: string } | undefined, toHub: string, to: { state: DeviceWaveState, gate?: string }): void {
    if (from !== undefined && fromHub !== undefined) countDevice(this.#of(waveId, fromHub), from.state, from.gate, -1)
    countDevice(this.#of(waveId, toHub), to.state, to.gate, 1)
  }

  #of (waveId: string, hubId: string): WaveCounts {
    const k = deviceKey(waveId, hubId)
    let e = this.byKey.get(k)
    if (e === undefined) {
      e = { waveId, hubId, c: emptyCounts() }
      this.byKey.set(k, e)
    }
    return e.c
  }
}

/**
 * Moves the devices' rows and their waves' per-hub counts for every fresh entry of a
 * group (no two entries name the same (wave, device): the caller keeps the last per
 * hub, and a group holds no two reports about one device); returns the waves that
 * gained a rollback.
 */
export async function applyGroupDeltas (tx: SqlQueryable, input: readonly HubDelta[], now: number): Promise<string[]> {
  if (input.length === 0) return []
  const deltas = [...input].sort(byDeviceKey)
  // the store takes part in the wave from its first report (the wave logic may have planned it already)
  const pairs = [...new Map(deltas.map(x => [deviceKey(x.d.waveId, x.hubId), x])).values()]
    .sort((a, b) => a.d.waveId < b.d.waveId ? -1 : a.d.waveId > b.d.waveId ? 1 : a.hubId < b.hubId ? -1 : a.hubId > b.hubId ? 1 : 0)
  await tx.query(`WITH w AS (INSERT INTO waves (wave_id, state, created_ms, updated_ms)
      SELECT DISTINCT w, 'installing', $3::bigint, $3::bigint FROM unnest($1::text[]) AS w ON CONFLICT (wave_id) DO NOTHING)
    INSERT INTO wave_stores (wave_id, hub_id, state, updated_ms)
    SELECT w, h, 'installing', $3 FROM unnest($1::text[], $2::text[]) AS k (w, h) ON CONFLICT (wave_id, hub_id) DO NOTHING`,
  [pairs.map(x => x.d.waveId), pairs.map(x => x.hubId), now])
  const before = await lockDevices(tx, deltas)
  const counts = new CountDeltas()
  const rollbacks = new Set<string>()
  // devices no store reported yet: inserted as they are; one another group inserted meanwhile is read back locked
  const fresh = deltas.filter(x => !before.has(keyOfDelta(x)))
  if (fresh.length > 0) {
    const inserted = await tx.query<{ wave_id: string, device_id: string }>(`INSERT INTO device_outcomes (wave_id, device_id, hub_id, state, gate, version, at_ms, recorded_ms)
      SELECT k.wave_id, k.device_id, k.hub_id, k.state, k.gate, k.version, k.at_ms, $8 FROM ${UNNEST_DEVICES}
      ON CONFLICT (wave_id, device_id) DO NOTHING RETURNING wave_id, device_id`, deviceColumns(fresh, now))
    const done = new Set(inserted.map(r => deviceKey(r.wave_id, r.device_id)))
    for (const x of fresh) {
      if (!done.has(keyOfDelta(x))) continue
      counts.move(x.d.waveId, undefined, undefined, x.hubId, x.d)
      if (x.d.state === 'rolled-back') rollbacks.add(x.d.waveId)
    }
    const raced = fresh.filter(x => !done.has(keyOfDelta(x)))
    if (raced.length > 0) for (const [k, v] of await lockDevices(tx, raced)) before.set(k, v)
  }
  const changed: HubDelta[] = []
  for (const x of deltas) {
    const { d, hubId } = x
    const b = before.get(keyOfDelta(x))
    if (b === undefined) continue
    // another hub holds a newer state of this device (it moved stores): keep that one
    if (b.hub_id !== hubId && d.version < num(b.version)) continue
    changed.push(x)
    const from = { state: b.state, ...(b.gate !== null ? { gate: b.gate } : {}) }
    if (b.hub_id === hubId && from.state === d.state && from.gate === d.gate) continue
    counts.move(d.waveId, b.hub_id, from, hubId, d)
    if (d.state === 'rolled-back' && from.state !== 'rolled-back') rollbacks.add(d.waveId)
  }
  if (changed.length > 0) {
    // rows that exist and are locked: an upsert finds each through the primary key, where an UPDATE ... FROM the key list risks the same whole-table hash join
    await tx.query(`INSERT INTO device_outcomes AS o (wave_id, device_id, hub_id, state, gate, version, at_ms, recorded_ms)
      SELECT k.wave_id, k.device_id, k.hub_id, k.state, k.gate, k.version, k.at_ms, $8 FROM ${UNNEST_DEVICES}
      ON CONFLICT (wave_id, device_id) DO UPDATE SET hub_id = excluded.hub_id, state = excluded.state, gate = excluded.gate, version = excluded.version,
        at_ms = excluded.at_ms, recorded_ms = excluded.recorded_ms`, deviceColumns(changed, now))
  }
  await addCounts(tx, [...counts.byKey.values()])
  return [...rollbacks].sort()
}

async function addCounts (tx: SqlQueryable, rows: Array<{ waveId: string, hubId: string, c: WaveCounts }>): Promise<void> {
  if (rows.length === 0) return
  // in key order, so two groups touching the same rows lock them in the same order
  rows.sort((a, b) => a.waveId < b.waveId ? -1 : a.waveId > b.waveId ? 1 : a.hubId < b.hubId ? -1 : a.hubId > b.hubId ? 1 : 0)
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
