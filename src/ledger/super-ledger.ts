/**
 * The super hub's aggregate of every store's wave ledger, a level database at
 * `<data>/super-ledger` (protocols/report/SPEC.md "Super hub"):
 *
 *   h!<hubId>             HubRecord: the hub's ledger epoch and the outbox seq applied
 *   s!<waveId>!<deviceId> SuperDeviceRecord: the device's state, from which hub, its version
 *   c!<waveId>            WaveCounts across all hubs, kept in the same batch as s!
 *   r!<waveId>            SuperOrder: the order in force (a halt of ours, or an operator's)
 *
 * Exactly once: a hub's outbox entries carry a seq that only grows within its epoch;
 * an entry at or below the applied seq is a resend and is skipped, and applying the
 * same state twice moves no count anyway. A device counts once per wave, wherever it
 * reported from: when two hubs disagree the higher journal seq (`version`) wins.
 *
 * A wave whose rollback ratio (src/ledger/condense.ts rollbackRatio: rolledBack /
 * (updated + rolledBack)) passes its `haltOnRollbackRatio` is halted when a batch adds
 * a rollback: the halt is stored in the same write and goes to every hub in the answer
 * to its next report. After an operator resumes the wave, the next rollback while the
 * ratio is still over the limit halts it again.
 */
import { join } from 'node:path'
import { StoremeshError } from '../interface/errors.js'
import { Mutex } from '../store/mutex.js'
import { emptyCounts, moveDevice, rollbackRatio, type WaveCounts } from './condense.js'
import { SUPER_LEDGER_DIR_NAME } from './constants.js'
import { checkRatio, haltRuleOf } from './halt-rule.js'
import { MAX_ORDERS } from './report/constants.js'
import { commit, getRecord, openLedgerDb, put, scan, type LedgerDb, type Op } from './db.js'
import { newestOrders, type DeviceWaveState, type HubBatch, type ReportAck, type WaveOrder } from './report/messages.js'
import { checkOrder, isHaltOrder, isPauseOrder, supersedes } from './orders.js'

export interface HubRecord {
  epoch: string
  /** the highest outbox seq of this epoch applied */
  ackedSeq: number
  lastReportMs: number
  peer?: string
}

export interface SuperDeviceRecord {
  hubId: string
  state: DeviceWaveState
  gate?: string
  version: number
  atMs: number
}

export interface SuperOrder {
  order: WaveOrder
  /** `auto`: this ledger halted the wave on its rollback ratio; `operator`: issueOrder() */
  source: 'auto' | 'operator'
}

export interface SuperWaveSummary {
  waveId: string
  counts: WaveCounts
  rollbackRatio: number | undefined
  /** the limit in force for this wave */
  haltOnRollbackRatio: number
  /** outcomes before that limit may halt the wave */
  minOutcomesForHalt: number
  /** where the two figures came from (the super hub's signed policies and flags; docs/fleet-waves.md) */
  rule?: Record<string, unknown>
  order?: WaveOrder
  halted: boolean
  paused: boolean
}

export interface SuperLedgerOptions {
  /**
   * The policy's `rollout.haltOnRollbackRatio`: one figure for every wave, or a lookup
   * per wave (undefined: the default). @default DEFAULT_HALT_ON_ROLLBACK_RATIO
   */
  haltOnRollbackRatio?: number | ((waveId: string) => number | undefined)
  /** devices with an outcome before a ratio may halt: one figure, or per wave. @default DEFAULT_MIN_OUTCOMES_FOR_HALT */
  minOutcomesForHalt?: number | ((waveId: string) => number | undefined)
  /** shown with each wave's summary: where its figures came from */
  describeRule?: (waveId: string) => Record<string, unknown>
  now?: () => number
  /** called after an order came into force (already persisted) */
  onOrder?: (order: WaveOrder, source: SuperOrder['source']) => void
}

const hubKey = (hubId: string): string => `h!${hubId}`
const statePrefix = (waveId: string): string => `s!${waveId}!`
const stateKey = (waveId: string, deviceId: string): string => statePrefix(waveId) + deviceId
const countsKey = (waveId: string): string => `c!${waveId}`
const orderKey = (waveId: string): string => `r!${waveId}`


export class SuperLedger {
  readonly #db: LedgerDb
  readonly #mutex = new Mutex()
  readonly #now: () => number
  readonly #threshold: (waveId: string) => number
  readonly #minOutcomes: (waveId: string) => number
  readonly #describeRule: SuperLedgerOptions['describeRule']
  readonly #onOrder: SuperLedgerOptions['onOrder']
  readonly #orders = new Map<string, SuperOrder>()

  private constructor (db: LedgerDb, options: SuperLedgerOptions) {
    this.#db = db
    this.#now = options.now ?? Date.now
    const rule = haltRuleOf(options)
    this.#threshold = rule.threshold
    this.#minOutcomes = rule.minOutcomes
    this.#describeRule = options.describeRule
    this.#onOrder = options.onOrder
  }

  /** Opens `<dataDir>/super-ledger`; a second process gets E_DATA_DIR_IN_USE. */
  static async open (dataDir: string, options: SuperLedgerOptions = {}): Promise<SuperLedger> {
    if (typeof options.haltOnRollbackRatio === 'number') checkRatio(options.haltOnRollbackRatio, 'haltOnRollbackRatio')
    const db = await openLedgerDb(join(dataDir, SUPER_LEDGER_DIR_NAME), 'super hub ledger')
    try {
      const ledger = new SuperLedger(db, options)
      for await (const [, stored] of scan<SuperOrder>(db, 'r!')) ledger.#orders.set(stored.order.waveId, stored)
      return ledger
    } catch (err) {
      await db.close()
      throw err
    }
  }

  async close (): Promise<void> {
    await this.#mutex.run(async () => { await this.#db.close() })
  }

  /**
   * Applies a hub's outbox entries in one durable write and answers the highest outbox
   * seq applied for this hub and epoch, with every order in force (newest first).
   */
  async acceptHubBatch (batch: HubBatch, ctx: { peer?: string } = {}): Promise<ReportAck> {
    const fresh = await this.#mutex.run(async () => {
      const now = this.#now()
      const { hubId } = batch
      let hub = await getRecord<HubRecord>(this.#db, hubKey(hubId))
      // a new epoch is a new outbox (the hub's ledger was rebuilt): its seq starts again
      if (hub === undefined || hub.epoch !== batch.epoch) hub = { epoch: batch.epoch, ackedSeq: 0, lastReportMs: now }
      const records = new Map<string, SuperDeviceRecord | undefined>()
      const counts = new Map<string, WaveCounts>()
      const newRollbacks = new Set<string>()
      for (const d of batch.entries) {
        if (d.seq <= hub.ackedSeq) continue
        hub.ackedSeq = d.seq
        const key = stateKey(d.waveId, d.deviceId)
        const before = records.has(key) ? records.get(key) : await getRecord<SuperDeviceRecord>(this.#db, key)
        // another hub holds a newer state of this device (it moved stores): keep that one
        if (before !== undefined && before.hubId !== hubId && d.version < before.version) continue
        const after: SuperDeviceRecord = { hubId, state: d.state, version: d.version, atMs: d.atMs, ...(d.gate !== undefined ? { gate: d.gate } : {}) }
        records.set(key, after)
        if (before !== undefined && before.state === after.state && before.gate === after.gate) continue
        const cnt = counts.get(d.waveId) ?? (await getRecord<WaveCounts>(this.#db, countsKey(d.waveId))) ?? emptyCounts()
        moveDevice(cnt, before, after)
        counts.set(d.waveId, cnt)
        if (after.state === 'rolled-back') newRollbacks.add(d.waveId)
      }
      const ops: Op[] = []
      for (const [key, r] of records) ops.push(put(key, r))
      for (const [waveId, c] of counts) ops.push(put(countsKey(waveId), c))
      const halts = this.#haltsFor(newRollbacks, counts, now)
      for (const h of halts) ops.push(put(orderKey(h.order.waveId), h))
      hub.lastReportMs = now
      if (ctx.peer !== undefined) hub.peer = ctx.peer
      ops.push(put(hubKey(hubId), hub))
      await commit(this.#db, ops)
      for (const h of halts) this.#orders.set(h.order.waveId, h)
      return { ack: { status: 'ok' as const, ackedSeq: hub.ackedSeq, orders: this.#orderList() }, halts }
    })
    for (const h of fresh.halts) this.#onOrder?.(h.order, h.source)
    return fresh.ack
  }

  #haltsFor (waves: Set<string>, counts: Map<string, WaveCounts>, now: number): SuperOrder[] {
    const out: SuperOrder[] = []
    for (const waveId of waves) {
      const c = counts.get(waveId)!
      const ratio = rollbackRatio(c)
      const limit = this.#threshold(waveId)
      const current = this.#orders.get(waveId)?.order
      if (ratio === undefined || c.updated + c.rolledBack < this.#minOutcomes(waveId) || ratio <= limit || isHaltOrder(current)) continue
      const order: WaveOrder = {
        waveId,
        action: 'halt',
        reason: `rollback ratio ${ratio.toFixed(4)} > ${limit} (${c.rolledBack} of ${c.updated + c.rolledBack} devices rolled back)`,
        // later than the order it replaces, whatever the clocks did
        issuedAtMs: Math.max(now, (current?.issuedAtMs ?? 0) + 1)
      }
      out.push({ order, source: 'auto' })
    }
    return out
  }

  /** An operator's order (halt, pause, resume). E_INVALID_ARGUMENT when malformed. */
  async issueOrder (order: WaveOrder): Promise<boolean> {
    const checked = checkOrder(order)
    const stored = await this.#mutex.run(async () => {
      if (!supersedes(checked, this.#orders.get(checked.waveId)?.order)) return undefined
      const s: SuperOrder = { order: checked, source: 'operator' }
      await commit(this.#db, [put(orderKey(checked.waveId), s)])
      this.#orders.set(checked.waveId, s)
      return s
    })
    if (stored !== undefined) this.#onOrder?.(stored.order, stored.source)
    return stored !== undefined
  }

  #orderList (): WaveOrder[] {
    return newestOrders([...this.#orders.values()].map(s => s.order), MAX_ORDERS)
  }

  order (waveId: string): WaveOrder | undefined {
    return this.#orders.get(waveId)?.order
  }

  orders (): SuperOrder[] {
    return [...this.#orders.values()]
  }

  isWaveHalted (waveId: string): boolean {
    return isHaltOrder(this.order(waveId))
  }

  haltOnRollbackRatio (waveId: string): number {
    return this.#threshold(waveId)
  }

  // --- queries ---------------------------------------------------------------------------------

  /** Devices per state in one wave, across every hub: each device once. */
  async waveTotals (waveId: string): Promise<WaveCounts> {
    return (await getRecord<WaveCounts>(this.#db, countsKey(waveId))) ?? emptyCounts()
  }

  async waves (): Promise<SuperWaveSummary[]> {
    const ids = new Set<string>(this.#orders.keys())
    const counts = new Map<string, WaveCounts>()
    for await (const [key, c] of scan<WaveCounts>(this.#db, 'c!')) {
      ids.add(key.slice(2))
      counts.set(key.slice(2), c)
    }
    return [...ids].sort().map(waveId => {
      const c = counts.get(waveId) ?? emptyCounts()
      const order = this.order(waveId)
      return {
        waveId, counts: c, rollbackRatio: rollbackRatio(c), haltOnRollbackRatio: this.#threshold(waveId), minOutcomesForHalt: this.#minOutcomes(waveId),
        ...(this.#describeRule !== undefined ? { rule: this.#describeRule(waveId) } : {}),
        halted: isHaltOrder(order), paused: isPauseOrder(order), ...(order !== undefined ? { order } : {})
      }
    })
  }

  async devices (waveId: string, options: { after?: string, limit?: number } = {}): Promise<Array<SuperDeviceRecord & { deviceId: string }>> {
    const out: Array<SuperDeviceRecord & { deviceId: string }> = []
    const gt = options.after !== undefined ? stateKey(waveId, options.after) : undefined
    for await (const [key, r] of scan<SuperDeviceRecord>(this.#db, statePrefix(waveId), { ...(gt !== undefined ? { gt } : {}), limit: options.limit ?? 1000 })) {
      out.push({ deviceId: key.slice(statePrefix(waveId).length), ...r })
    }
    return out
  }

  async hubs (): Promise<Array<HubRecord & { hubId: string }>> {
    const out: Array<HubRecord & { hubId: string }> = []
    for await (const [key, h] of scan<HubRecord>(this.#db, 'h!')) out.push({ hubId: key.slice(2), ...h })
    return out
  }
}
