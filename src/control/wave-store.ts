/**
 * The seam between the fleet ledger and the wave logic (src/control/waves/, built
 * beside this): the wave logic decides (selection, batches of at most hubBudget
 * stores, batchDelayMinutes, prestage times, halts) and keeps what it decided here.
 * States are the columns' checked lists (db/migrations/0001-fleet-ledger.ts); every
 * write is its own transaction. The ledger's report ingest moves device outcomes and
 * counts; the wave logic reads them back per store with storeOutcomes().
 */
import type { WaveCounts } from '../ledger/condense.js'
import { num, optNum, optStr, type SqlDb, type SqlQueryable } from './db/sql.js'

export const WAVE_STATES = ['planned', 'prestaging', 'installing', 'paused', 'halted', 'done'] as const
export type WaveState = typeof WAVE_STATES[number]
export const BATCH_STATES = ['planned', 'prestaging', 'installing', 'healthy', 'halted', 'done'] as const
export type BatchState = typeof BATCH_STATES[number]
export const STORE_STATES = ['planned', 'prestaging', 'prestaged', 'installing', 'healthy', 'paused', 'halted', 'done', 'failed'] as const
export type StoreState = typeof STORE_STATES[number]

export interface WaveRecord {
  waveId: string
  policyName?: string
  bundleId?: string
  state: WaveState
  stateReason: string
  currentBatch?: number
  haltOnRollbackRatio?: number
  minOutcomesForHalt?: number
  /** the wave logic's own parameters as applied, each with its source (policy / flag) */
  plan?: unknown
}

export interface BatchRecord {
  batchNo: number
  state: BatchState
  notBeforeMs?: number
  startedMs?: number
  healthyMs?: number
}

export interface WaveStoreRecord {
  hubId: string
  batchNo?: number
  state: StoreState
  devicesSelected?: number
  /** when its batch started (kept once set): until then its answers hold its devices (store-gate.ts) */
  startedMs?: number
}

export interface StoreOutcomes {
  hubId: string
  /** devices per state reported by this store in this wave */
  byState: Partial<Record<keyof Pick<WaveCounts, 'updated' | 'rolledBack' | 'failed' | 'pending' | 'blocked'>, number>>
}

export interface WaveStore {
  /** false when the wave exists (its row is left as it is) */
  createWave(wave: Omit<WaveRecord, 'state' | 'stateReason'> & { state?: WaveState }): Promise<boolean>
  getWave(waveId: string): Promise<WaveRecord | undefined>
  setWaveState(waveId: string, state: WaveState, reason: string, currentBatch?: number): Promise<void>
  /** replaces the wave's batches */
  putBatches(waveId: string, batches: readonly BatchRecord[]): Promise<void>
  /** adds or updates stores of the wave (hubs not seen yet are recorded as planned by the operator) */
  putStores(waveId: string, stores: readonly WaveStoreRecord[]): Promise<void>
  stores(waveId: string): Promise<WaveStoreRecord[]>
  batches(waveId: string): Promise<BatchRecord[]>
  storeOutcomes(waveId: string): Promise<StoreOutcomes[]>
}

const FIELD = { updated: 'updated', 'rolled-back': 'rolledBack', failed: 'failed', pending: 'pending', blocked: 'blocked' } as const

/** WaveStore on the fleet database. */
export class SqlWaveStore implements WaveStore {
  readonly #db: SqlDb | SqlQueryable
  readonly #now: () => number

  /** Over a database (each write its own transaction) or inside a caller's transaction (the wave runner's one step). */
  constructor (db: SqlDb | SqlQueryable, now: () => number = Date.now) {
    this.#db = db
    this.#now = now
  }

  async createWave (w: Omit<WaveRecord, 'state' | 'stateReason'> & { state?: WaveState }): Promise<boolean> {
    const rows = await this.#db.query(`INSERT INTO waves (wave_id, policy_name, bundle_id, state, current_batch, halt_on_rollback_ratio, min_outcomes_for_halt, plan, created_ms, updated_ms)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $9) ON CONFLICT (wave_id) DO NOTHING RETURNING wave_id`,
    [w.waveId, w.policyName ?? null, w.bundleId ?? null, w.state ?? 'planned', w.currentBatch ?? null, w.haltOnRollbackRatio ?? null,
      w.minOutcomesForHalt ?? null, w.plan !== undefined ? JSON.stringify(w.plan) : null, this.#now()])
    return rows.length === 1
  }

  async getWave (waveId: string): Promise<WaveRecord | undefined> {
    const r = (await this.#db.query('SELECT * FROM waves WHERE wave_id = $1', [waveId]))[0]
    if (r === undefined) return undefined
    const w: WaveRecord = { waveId, state: r.state as WaveState, stateReason: String(r.state_reason) }
    const s = { policyName: optStr(r.policy_name), bundleId: optStr(r.bundle_id), currentBatch: optNum(r.current_batch), haltOnRollbackRatio: optNum(r.halt_on_rollback_ratio), minOutcomesForHalt: optNum(r.min_outcomes_for_halt) }
    for (const [k, v] of Object.entries(s)) if (v !== undefined) (w as unknown as Record<string, unknown>)[k] = v
    if (r.plan !== null && r.plan !== undefined) w.plan = typeof r.plan === 'string' ? JSON.parse(r.plan) : r.plan
    return w
  }

  async setWaveState (waveId: string, state: WaveState, reason: string, currentBatch?: number): Promise<void> {
    await this.#db.query('UPDATE waves SET state = $2, state_reason = $3, current_batch = COALESCE($4, current_batch), updated_ms = $5 WHERE wave_id = $1',
      [waveId, state, reason, currentBatch ?? null, this.#now()])
  }

  async #inTx (fn: (tx: SqlQueryable) => Promise<void>): Promise<void> {
    const db = this.#db
    if ('transaction' in db) await db.transaction(fn)
    else await fn(db)
  }

  async putBatches (waveId: string, batches: readonly BatchRecord[]): Promise<void> {
    await this.#inTx(async tx => {
      await tx.query('DELETE FROM batches WHERE wave_id = $1', [waveId])
      for (const b of batches) {
        await tx.query('INSERT INTO batches (wave_id, batch_no, state, not_before_ms, started_ms, healthy_ms) VALUES ($1, $2, $3, $4, $5, $6)',
          [waveId, b.batchNo, b.state, b.notBeforeMs ?? null, b.startedMs ?? null, b.healthyMs ?? null])
      }
    })
  }

  async putStores (waveId: string, stores: readonly WaveStoreRecord[]): Promise<void> {
    if (stores.length === 0) return
    const now = this.#now()
    await this.#inTx(async tx => {
      await tx.query(`INSERT INTO hubs (hub_id, admitted_by, created_ms) SELECT h, 'operator', $2 FROM unnest($1::text[]) AS h ON CONFLICT (hub_id) DO NOTHING`,
        [stores.map(s => s.hubId), now])
      await tx.query(`INSERT INTO wave_stores (wave_id, hub_id, batch_no, state, devices_selected, updated_ms, started_ms)
        SELECT $1, k.hub_id, k.batch_no, k.state, k.devices, $6, k.started FROM unnest($2::text[], $3::int[], $4::text[], $5::int[], $7::bigint[]) AS k (hub_id, batch_no, state, devices, started)
        ON CONFLICT (wave_id, hub_id) DO UPDATE SET batch_no = excluded.batch_no, state = excluded.state, devices_selected = excluded.devices_selected, updated_ms = excluded.updated_ms,
          started_ms = COALESCE(wave_stores.started_ms, excluded.started_ms)`,
      [waveId, stores.map(s => s.hubId), stores.map(s => s.batchNo ?? null), stores.map(s => s.state), stores.map(s => s.devicesSelected ?? null), now, stores.map(s => s.startedMs ?? null)])
    })
  }

  async stores (waveId: string): Promise<WaveStoreRecord[]> {
    const rows = await this.#db.query('SELECT hub_id, batch_no, state, devices_selected, started_ms FROM wave_stores WHERE wave_id = $1 ORDER BY hub_id', [waveId])
    return rows.map(r => {
      const s: WaveStoreRecord = { hubId: String(r.hub_id), state: r.state as StoreState }
      const b = optNum(r.batch_no)
      if (b !== undefined) s.batchNo = b
      const d = optNum(r.devices_selected)
      if (d !== undefined) s.devicesSelected = d
      const st = optNum(r.started_ms)
      if (st !== undefined) s.startedMs = st
      return s
    })
  }

  async batches (waveId: string): Promise<BatchRecord[]> {
    const rows = await this.#db.query('SELECT * FROM batches WHERE wave_id = $1 ORDER BY batch_no', [waveId])
    return rows.map(r => {
      const b: BatchRecord = { batchNo: num(r.batch_no), state: r.state as BatchState }
      for (const [k, col] of [['notBeforeMs', 'not_before_ms'], ['startedMs', 'started_ms'], ['healthyMs', 'healthy_ms']] as const) {
        const v = optNum(r[col])
        if (v !== undefined) b[k] = v
      }
      return b
    })
  }

  async storeOutcomes (waveId: string): Promise<StoreOutcomes[]> {
    const rows = await this.#db.query('SELECT hub_id, state, count(*) AS n FROM device_outcomes WHERE wave_id = $1 GROUP BY hub_id, state ORDER BY hub_id', [waveId])
    const out = new Map<string, StoreOutcomes>()
    for (const r of rows) {
      const hubId = String(r.hub_id)
      const s = out.get(hubId) ?? { hubId, byState: {} }
      s.byState[FIELD[r.state as keyof typeof FIELD]] = num(r.n)
      out.set(hubId, s)
    }
    return [...out.values()]
  }
}
