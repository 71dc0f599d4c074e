/**
 * The wave runner: what drives the fleet wave state machine (src/control/waves/,
 * docs/fleet-waves.md "Who drives it"). On a timer and after every report or order it
 * steps each active wave, in ONE transaction per wave:
 *
 *   1. the wave's lock: pg_advisory_xact_lock (the same key the report ingest takes
 *      before an auto-halt, taken first so the two never wait on each other in
 *      opposite orders), then the wave row FOR UPDATE: two super hubs on one database
 *      step a wave one after the other, and the second sees what the first wrote;
 *   2. the facts from the ledger, fed to the pure transition(): the wave order in force
 *      (start / pause / resume / halt, each consumed once by its order id), stores that
 *      reported devices of the wave (waves/join.ts), stores pre-staged, device outcomes
 *      per store, and the clock (`tick`);
 *   3. what it decided, through WaveStore in the same transaction: the machine's state
 *      (waves.machine), the wave row, batches, stores (a started store's started_ms is
 *      what lifts its devices' hold: store-gate.ts), and an auto-halt order row when the
 *      machine halted on the rollback ratio and no halt is in force.
 *
 * A store counts as pre-staged once its hub's holdings (report 1.2.0) list the wave's
 * bundle complete; a hub that never reported holdings falls back to "reported devices
 * of the wave" (prestage.ts). The machine's `prestage` actions become `prestage`
 * orders to those stores, in the same transaction.
 */
import { StoremeshError, toStoremeshError } from '../interface/errors.js'
import { silentLog, type Log } from '../interface/log.js'
import { type SqlDb, type SqlQueryable } from './db/sql.js'
import { newOrderId, ordersInForce, type FleetOrder } from './fleet-orders.js'
import { orderPrestage, prestagedStores } from './prestage.js'
import { SqlWaveStore } from './wave-store.js'
import { joinStores, type WaveSelection } from './waves/join.js'
import type { WaveState } from './waves/plan.js'
import { batchRowsOf, storeRowsOf, waveRowOf } from './waves/rows.js'
import { transition, type WaveAction, type WaveEvent, type WaveRules } from './waves/state-machine.js'

/** How often the runner steps every active wave when nothing kicks it. @default 2 s */
export const DEFAULT_WAVE_TICK_MS = 2_000

/** What waves.machine holds. */
export interface RunnerDoc {
  v: 1
  state: WaveState
  selection: WaveSelection
  rules: WaveRules
  /** the wave order last turned into an event */
  consumedOrderId?: string
  /** per batch, when the runner started it */
  batchStartedAtMs: Array<number | null>
}

export interface StepResult {
  waveId: string
  /** false: nothing moved (the row was written only if a fact changed) */
  changed: boolean
  actions: WaveAction[]
  phase: WaveState['phase']
}

/** A device blocked by this gate is outside the policy's targets: not one the wave waits for. */
const OUTSIDE_COHORT_GATE = 'target.match'

export const waveLockKey = (waveId: string): string => `storemesh-wave:${waveId}`

function parseDoc (raw: unknown, waveId: string): RunnerDoc {
  const doc = (typeof raw === 'string' ? JSON.parse(raw) : raw) as RunnerDoc
  if (doc?.v !== 1 || typeof doc.state !== 'object') throw new StoremeshError('E_LEDGER', `wave ${waveId}: waves.machine is not a runner state of version 1`, { waveId })
  return doc
}

/** The event a wave order in force means for the machine, or undefined (not yet: a start with no store). */
function orderEvent (o: FleetOrder, s: WaveState): WaveEvent | undefined {
  switch (o.action) {
    case 'halt': return { type: 'halt', reason: o.reason !== '' ? o.reason : `halted by ${o.issuedBy}` }
    case 'pause': return { type: 'pause', reason: o.reason !== '' ? o.reason : `paused by ${o.issuedBy}` }
    case 'start':
    case 'resume':
      if (s.phase === 'planned') return s.batches.length > 0 ? { type: 'start' } : undefined
      return s.phase === 'paused' || s.phase === 'halted' ? { type: 'resume', ...(o.reason !== '' ? { reason: o.reason } : {}) } : { type: 'tick' }
    default: return undefined
  }
}

async function waveBundle (tx: SqlQueryable, waveId: string): Promise<string | undefined> {
  const b = (await tx.query<{ bundle_id: string | null }>('SELECT bundle_id FROM waves WHERE wave_id = $1', [waveId]))[0]?.bundle_id
  return b ?? undefined
}

/** One step of one wave in the caller's transaction. */
export async function stepWave (tx: SqlQueryable, waveId: string, nowMs: number, via: string): Promise<StepResult | undefined> {
  await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [waveLockKey(waveId)])
  const row = (await tx.query('SELECT machine FROM waves WHERE wave_id = $1 FOR UPDATE', [waveId]))[0]
  if (row === undefined || row.machine === null || row.machine === undefined) return undefined
  const doc = parseDoc(row.machine, waveId)
  let s = doc.state
  const actions: WaveAction[] = []
  let changed = false
  const apply = (e: WaveEvent): void => {
    const step = transition(s, e, nowMs, doc.rules)
    s = step.state
    actions.push(...step.actions)
    changed ||= step.changed
  }
  // stores that reported devices of the wave, and the devices they reported (not those its targets leave out)
  const seen = await tx.query<{ hub_id: string, devices: string[] }>(
    `SELECT hub_id, array_agg(device_id ORDER BY device_id) AS devices FROM device_outcomes
      WHERE wave_id = $1 AND NOT (state = 'blocked' AND gate IS NOT DISTINCT FROM $2) GROUP BY hub_id ORDER BY hub_id`, [waveId, OUTSIDE_COHORT_GATE])
  const joined = joinStores(s, seen.map(r => ({ storeId: r.hub_id, deviceIds: r.devices })), doc.selection, nowMs, doc.rules)
  if (joined.added.length > 0 || joined.grown.length > 0) { s = joined.state; changed = true }
  // the operator's (or an auto-halt's) order, once per order id
  const order = (await ordersInForce(tx, [waveId]))[0]
  if (order !== undefined && order.orderId !== doc.consumedOrderId) {
    const e = orderEvent(order, s)
    if (e !== undefined) {
      apply(e)
      doc.consumedOrderId = order.orderId
      changed = true
      if (e.type === 'halt' && s.halt !== undefined) s.halt.source = order.source === 'auto' ? 'auto' : 'operator'
    }
  }
  const bundleId = await waveBundle(tx, waveId)
  const pre = await prestagedStores(tx, s, bundleId, new Set(seen.map(r => r.hub_id)))
  if (pre.prestaged.length > 0) apply({ type: 'prestaged-stores', storeIds: pre.prestaged })
  const outcomes = await new SqlWaveStore(tx).storeOutcomes(waveId)
  const facts = outcomes.filter(o => Object.hasOwn(s.stores, o.hubId)).map(o => {
    const selected = s.stores[o.hubId]!.selected
    const updated = Math.min(o.byState.updated ?? 0, selected)
    return { storeId: o.hubId, updated, rolledBack: Math.min(o.byState.rolledBack ?? 0, selected - updated) }
  }).filter(o => o.updated !== s.stores[o.storeId]!.updated || o.rolledBack !== s.stores[o.storeId]!.rolledBack)
  if (facts.length > 0) apply({ type: 'outcomes', stores: facts })
  apply({ type: 'tick' })
  for (const a of actions) if (a.type === 'start-store') doc.batchStartedAtMs[a.batch] ??= nowMs
  // the machine's pull orders: prestageHours before each store's window, or its batch's start
  await orderPrestage(tx, waveId, bundleId, actions.flatMap(a => a.type === 'prestage' ? [a.storeId] : []), nowMs, via)
  if (!changed) return { waveId, changed, actions, phase: s.phase }
  doc.state = s
  await persist(tx, waveId, doc, actions, nowMs, via)
  return { waveId, changed, actions, phase: s.phase }
}

async function persist (tx: SqlQueryable, waveId: string, doc: RunnerDoc, actions: readonly WaveAction[], nowMs: number, via: string): Promise<void> {
  const s = doc.state
  const ws = new SqlWaveStore(tx, () => nowMs)
  const started = doc.batchStartedAtMs.map(v => v ?? undefined)
  const halt = actions.find(a => a.type === 'halt' && a.source === 'auto')
  if (halt !== undefined && halt.type === 'halt') {
    const cur = (await ordersInForce(tx, [waveId]))[0]
    if (cur?.action !== 'halt') {
      const orderId = newOrderId()
      await tx.query(`INSERT INTO orders (order_id, kind, action, wave_id, reason, issued_by, source, issued_ms)
        VALUES ($1, 'wave', 'halt', $2, $3, $4, 'auto', $5)`, [orderId, waveId, halt.reason, via, Math.max(nowMs, (cur?.issuedAtMs ?? 0) + 1)])
      doc.consumedOrderId = orderId
    }
  }
  await tx.query('UPDATE waves SET machine = $2::jsonb WHERE wave_id = $1', [waveId, JSON.stringify(doc)])
  const w = waveRowOf(s, s.phase === 'planned' && doc.consumedOrderId !== undefined)
  await ws.setWaveState(waveId, w.state, w.reason, w.currentBatch)
  await ws.putBatches(waveId, batchRowsOf(s, started))
  await ws.putStores(waveId, storeRowsOf(s, started))
}

/** The waves a runner steps: those it drives that are not done. */
async function activeWaves (db: SqlQueryable): Promise<string[]> {
  const rows = await db.query<{ wave_id: string }>(`SELECT wave_id FROM waves WHERE machine IS NOT NULL AND state <> 'done' ORDER BY wave_id`)
  return rows.map(r => r.wave_id)
}

export interface WaveRunnerOptions {
  /** the fleet database, or undefined while it is down (the step waits for the next tick) */
  db: () => SqlDb | undefined
  /** @default DEFAULT_WAVE_TICK_MS */
  tickMs?: number
  now?: () => number
  /** this super hub's name (an auto-halt's issued_by) */
  via?: string
  log?: Log
  onStep?: (r: StepResult) => void
}

/** Steps every active wave on a timer and when kicked; one pass at a time per runner. */
export class WaveRunner {
  readonly #o: WaveRunnerOptions
  readonly #log: Log
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #again = false
  #stopped = false

  constructor (options: WaveRunnerOptions) {
    const tick = options.tickMs ?? DEFAULT_WAVE_TICK_MS
    if (!Number.isSafeInteger(tick) || tick < 10) throw new StoremeshError('E_INVALID_ARGUMENT', `the wave tick must be at least 10 ms, got ${tick}`)
    this.#o = { ...options, tickMs: tick }
    this.#log = options.log ?? silentLog
  }

  start (): void {
    if (this.#timer !== undefined || this.#stopped) return
    this.#timer = setInterval(() => { this.kick() }, this.#o.tickMs)
    this.#timer.unref()
  }

  /** Steps soon (after a report or order); a kick during a pass runs one more pass after it. */
  kick (): void {
    if (this.#stopped) return
    if (this.#running !== undefined) { this.#again = true; return }
    this.#running = this.#pass().finally(() => {
      this.#running = undefined
      if (this.#again) { this.#again = false; this.kick() }
    })
  }

  /** One pass over every active wave now; resolves with what each step did. */
  async stepAll (): Promise<StepResult[]> {
    const db = this.#o.db()
    if (db === undefined) return []
    const out: StepResult[] = []
    for (const waveId of await activeWaves(db)) {
      const now = (this.#o.now ?? Date.now)()
      const r = await db.transaction(async tx => await stepWave(tx, waveId, now, this.#o.via ?? 'control'))
      if (r === undefined) continue
      out.push(r)
      if (r.changed) this.#log.info(`wave ${waveId}: ${r.phase}${r.actions.length > 0 ? ` (${r.actions.map(a => a.type === 'start-store' ? `start ${a.storeId} batch ${a.batch + 1}` : a.type).join(', ')})` : ''}`)
      this.#o.onStep?.(r)
    }
    return out
  }

  async #pass (): Promise<void> {
    try {
      await this.stepAll()
    } catch (err) {
      this.#log.warn(`wave runner: ${toStoremeshError(err).toLine()}`)
    }
  }

  async stop (): Promise<void> {
    this.#stopped = true
    if (this.#timer !== undefined) clearInterval(this.#timer)
    await this.#running
  }
}

/** For tests and status: the runner's state of a wave, or undefined when no runner drives it. */
export async function runnerDoc (db: SqlQueryable, waveId: string): Promise<RunnerDoc | undefined> {
  const row = (await db.query('SELECT machine FROM waves WHERE wave_id = $1', [waveId]))[0]
  return row?.machine === null || row?.machine === undefined ? undefined : parseDoc(row.machine, waveId)
}

