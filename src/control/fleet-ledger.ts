/**
 * The fleet ledger: the super hub's record of every store's and device's wave outcome
 * and of the fleet's orders, in PostgreSQL (docs/fleet.md). It takes hub reports over
 * `/storemesh/report/1.0.0` (a HubReportSink, like the level SuperLedger it replaces
 * in the super hub) and operators' orders (`storemesh fleet …`).
 *
 * The database may be away (a server restarting, a network cut): the ledger then
 * answers every report with E_DB_UNAVAILABLE, so the report protocol answers
 * `ledger-error`, the hub keeps its outbox and sends again; nothing is lost, and
 * health() says so for the status file and `storemesh_fleet_db_up`. A server that is
 * not there at start is retried in the background with back-off (fleet-db-link.ts).
 */
import { StoremeshError, toStoremeshError } from '../interface/errors.js'
import { silentLog, type Log } from '../interface/log.js'
import { emptyCounts, type WaveCounts } from '../ledger/condense.js'
import { checkRatio, haltRuleOf } from '../ledger/halt-rule.js'
import { MAX_ORDERS } from '../ledger/report/constants.js'
import { newestOrders, type HubBatch, type WaveOrder } from '../ledger/report/messages.js'
import type { ReportAckV12 } from '../ledger/report/messages-v12.js'
import type { SinkContext } from '../ledger/report/index.js'
import { ordersStamp, toFleetOrderWire } from './fleet-delivery.js'
import { FleetDbLink } from './fleet-db-link.js'
import type { FleetCounters, FleetDbHealth, FleetLedgerOptions, FleetStatus } from './fleet-ledger-types.js'
import { PG_GROUPS_IN_FLIGHT } from './fleet-ledger-constants.js'
import type { SqlDb, SqlQueryable } from './db/sql.js'
import { ingestHubBatches } from './fleet-ingest.js'
import { haltsAfterCommit } from './fleet-halt-check.js'
import { holdingsOf, hubsReportingHoldings, storesHoldingComplete, type StoreHolding } from './fleet-holdings.js'
import { IngestQueue, type IngestQueueStats } from './ingest-queue.js'
import { fleetOrderDeliveries, fleetStores, type FleetStore, type OrderDelivery } from './fleet-api-views.js'
import { issueFleetOrder, ordersInForce, toWaveOrder, type FleetOrder, type IssueResult, type OrderRequest } from './fleet-orders.js'
import { fleetHubs, fleetWaves, heldBundles, pendingOrders, waveDevices, type DeviceOutcome, type FleetHub, type FleetWaveStatus } from './fleet-status.js'

export class FleetLedger {
  readonly #o: FleetLedgerOptions
  readonly #log: Log
  readonly #now: () => number
  readonly #threshold: (waveId: string) => number
  readonly #minOutcomes: (waveId: string) => number
  readonly #link: FleetDbLink
  /** the wave orders last read, for the synchronous order() / isWaveHalted() */
  #orders = new Map<string, FleetOrder>()
  /** hub reports wait here and are applied in groups (ingest-queue.ts) */
  readonly #ingest: IngestQueue
  /** the halt orders already logged and passed to onOrder */
  readonly #announced = new Set<string>()
  readonly counters: FleetCounters = { reportsApplied: 0, reportsReplayed: 0, reportsRefused: 0, outcomesIngested: 0, reportTransactions: 0 }
  /** told after a report applied entries or an order was written (the wave runner steps then) */
  readonly #listeners = new Set<() => void>()

  private constructor (options: FleetLedgerOptions, db?: SqlDb) {
    this.#o = options
    this.#log = options.log ?? silentLog
    this.#now = options.now ?? Date.now
    const rule = haltRuleOf(options)
    this.#threshold = rule.threshold
    this.#minOutcomes = rule.minOutcomes
    this.#link = new FleetDbLink({
      ...(options.dbUrl !== undefined ? { dbUrl: options.dbUrl } : {}),
      ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
      log: this.#log,
      now: this.#now,
      onOpen: async db => await this.#refreshOrders(db)
    }, db)
    this.#ingest = new IngestQueue(async inputs => {
      this.counters.reportTransactions++
      const ctx = { now: this.#now(), via: this.#o.via ?? 'control', admission: this.#o.admission ?? 'open', haltOnRollbackRatio: this.#threshold, minOutcomesForHalt: this.#minOutcomes }
      return await this.#run(`storing the reports of ${inputs.length} hub(s) (${inputs[0]!.batch.hubId}…)`, async db => {
        const out = await db.transaction(async tx => await ingestHubBatches(tx, inputs, ctx))
        // a halt that groups committed side by side reached together (fleet-halt-check.ts)
        await haltsAfterCommit(db, inputs, out, ctx)
        return out
      })
    }, { maxInFlight: this.#link.kind === 'postgres' ? PG_GROUPS_IN_FLIGHT : 1, ...options.ingest })
  }

  /**
   * Opens the database and migrates it. A server that cannot be reached
   * (E_DB_UNAVAILABLE) is retried in the background unless `waitForDb`; any other
   * failure throws. With `background` nothing is awaited: the first open runs behind
   * (the super hub serves chunks meanwhile; reports wait as when the database is down),
   * and every failure is retried; ready() resolves once it is open.
   */
  static async open (options: FleetLedgerOptions, open: { waitForDb?: boolean, background?: boolean, lazy?: boolean } = {}): Promise<FleetLedger> {
    if (typeof options.haltOnRollbackRatio === 'number') checkRatio(options.haltOnRollbackRatio, 'haltOnRollbackRatio')
    const ledger = new FleetLedger(options)
    await ledger.#link.open(open)
    return ledger
  }

  /** Resolves once the database is open (at once when it is), or when the ledger closes; opens a lazy one. */
  async ready (): Promise<boolean> {
    return await this.#link.ready()
  }

  /** Over a database already open and migrated (tests share one PGlite per file). */
  static async over (db: SqlDb, options: FleetLedgerOptions = {}): Promise<FleetLedger> {
    const ledger = new FleetLedger(options, db)
    await ledger.#refreshOrders(db)
    return ledger
  }

  /** Runs fn on the database (fleet-db-link.ts): a lost server becomes E_DB_UNAVAILABLE. */
  async #run<T> (what: string, fn: (db: SqlDb) => Promise<T>, options: { opens?: boolean } = {}): Promise<T> {
    return await this.#link.run(what, fn, options)
  }

  async #refreshOrders (q: SqlQueryable): Promise<FleetOrder[]> {
    const orders = await ordersInForce(q)
    this.#orders = new Map(orders.map(o => [o.waveId!, o]))
    return orders
  }

  /** Not open yet and not failed: lazy (opens at the first report, order or ready()) or its first open under way. */
  get opening (): boolean {
    return this.#link.opening
  }

  health (): FleetDbHealth {
    return this.#link.health()
  }

  /** where reports' time at the ledger went: waiting for a group, and the groups' runs (ingest-queue.ts) */
  ingestStats (): IngestQueueStats {
    return { ...this.#ingest.stats }
  }

  // --- the report sink -----------------------------------------------------------------------

  /**
   * Applies a hub's report in one transaction (fleet-ingest.ts) and answers the highest
   * outbox seq applied with the wave orders in force. Throws E_HUB_UNKNOWN (not
   * admitted), E_DB_UNAVAILABLE (database away: the hub will send again), E_LEDGER.
   */
  async acceptHubBatch (batch: HubBatch, ctx: SinkContext = {}): Promise<ReportAckV12> {
    const certifiedIds = ctx.peer !== undefined ? this.#o.hubIdsOf?.(ctx.peer) : undefined
    // 1.2.0 (ctx.poll present): acks of fleet orders recorded, pending ones in the answer
    const v12 = ctx.poll !== undefined
    this.#link.wake()
    let result
    try {
      // 1.2.0: the acks of fleet orders and the store's holdings are recorded, and the
      // pending orders read, in the report's group (fleet-ingest.ts)
      const holdings = ctx.poll?.holdings
      result = await this.#ingest.submit({
        batch,
        certified: Array.isArray(certifiedIds) && certifiedIds.includes(batch.hubId),
        ...(ctx.peer !== undefined ? { peer: ctx.peer } : {}),
        ...(v12 ? { fleet: { ackOrders: ctx.poll?.ackOrders ?? [], ...(holdings !== undefined ? { holdings } : {}) } } : {})
      })
    } catch (err) {
      this.counters.reportsRefused++
      throw err
    }
    const fleet = result.fleet ?? []
    this.#orders = new Map(result.orders.map(o => [o.waveId!, o]))
    if (result.replayed) this.counters.reportsReplayed++
    else if (result.applied > 0) this.counters.reportsApplied++
    this.counters.outcomesIngested += result.applied
    for (const h of result.halts) {
      // a group's halts come back with each of its reports: logged and announced once
      if (this.#announced.has(h.orderId)) continue
      this.#announced.add(h.orderId)
      if (this.#announced.size > 1024) this.#announced.delete(this.#announced.values().next().value!)
      this.#log.warn(`wave ${h.waveId!} halted: ${h.reason}`)
      this.#o.onOrder?.(h)
    }
    if (result.halts.length > 0) this.#o.onChange?.()
    // new holdings step the wave runner too: a store may be pre-staged now
    if (result.applied > 0 || result.holdingsMoved === true) this.#changed()
    const ack: ReportAckV12 = { status: 'ok', ackedSeq: result.ackedSeq, orders: newestOrders(result.answer, MAX_ORDERS) }
    if (fleet.length > 0) ack.fleetOrders = fleet.map(toFleetOrderWire)
    return ack
  }

  // --- orders --------------------------------------------------------------------------------

  /** An operator's order; idempotent (fleet-orders.ts). E_WAVE_UNKNOWN, E_STORE_UNKNOWN, E_DEVICE_UNKNOWN, E_CONFLICT, E_INVALID_ARGUMENT. */
  async issue (request: OrderRequest): Promise<IssueResult> {
    const out = await this.#run('issuing an order', async db => await db.transaction(async tx => await issueFleetOrder(tx, request, this.#now())), { opens: true })
    if (out.created && out.order.kind === 'wave') await this.#run('reading orders', async db => await this.#refreshOrders(db))
    if (out.created) {
      this.#o.onChange?.()
      this.#changed()
    }
    return out
  }

  /**
   * A stamp that moves whenever any order is written, here or by another process on the
   * same database (fleet-delivery.ts); undefined while the database is not open (a lazy
   * ledger is not opened by it).
   */
  async ordersStamp (): Promise<string | undefined> {
    if (this.#link.db === undefined || !this.#link.health().up) return undefined
    return await this.#run('reading the orders stamp', async db => await ordersStamp(db))
  }

  /** Calls fn after each report that applied entries and each order written here; returns the unsubscribe. */
  onChange (fn: () => void): () => void {
    this.#listeners.add(fn)
    return () => { this.#listeners.delete(fn) }
  }

  #changed (): void {
    for (const fn of this.#listeners) {
      try { fn() } catch (err) { this.#log.warn(`fleet ledger listener: ${toStoremeshError(err).toLine()}`) }
    }
  }

  /** Admits a hub under `registered` admission (idempotent). */
  async registerHub (hubId: string): Promise<boolean> {
    const rows = await this.#run('registering a hub', async db => await db.query(
      `INSERT INTO hubs (hub_id, admitted_by, created_ms) VALUES ($1, 'operator', $2) ON CONFLICT (hub_id) DO NOTHING RETURNING hub_id`, [hubId, this.#now()]))
    return rows.length === 1
  }

  /** The wave order in force as last read (sync, for the composition's checks). */
  order (waveId: string): WaveOrder | undefined {
    const o = this.#orders.get(waveId)
    return o !== undefined ? toWaveOrder(o) : undefined
  }

  isWaveHalted (waveId: string): boolean {
    return this.#orders.get(waveId)?.action === 'halt'
  }

  haltOnRollbackRatio (waveId: string): number {
    return this.#threshold(waveId)
  }

  // --- queries -------------------------------------------------------------------------------

  async status (waveId?: string): Promise<FleetStatus> {
    return await this.#run('reading the fleet status', async db => ({
      db: this.health(),
      hubs: await fleetHubs(db),
      waves: await fleetWaves(db, { haltOnRollbackRatio: this.#threshold, minOutcomesForHalt: this.#minOutcomes }, waveId, this.#now()),
      pendingOrders: await pendingOrders(db),
      heldBundles: await heldBundles(db)
    }))
  }

  /** The per-wave summaries the status file and the rollout metrics read (SuperLedger's shape). */
  async waves (): Promise<FleetWaveStatus[]> {
    return await this.#run('reading waves', async db => await fleetWaves(db, { haltOnRollbackRatio: this.#threshold, minOutcomesForHalt: this.#minOutcomes }))
  }

  async hubs (): Promise<FleetHub[]> {
    return await this.#run('reading hubs', async db => await fleetHubs(db))
  }

  async waveTotals (waveId: string): Promise<WaveCounts> {
    const w = await this.#run('reading a wave', async db => await fleetWaves(db, { haltOnRollbackRatio: this.#threshold, minOutcomesForHalt: this.#minOutcomes }, waveId))
    return w[0]?.counts ?? emptyCounts()
  }

  async devices (waveId: string, options: { after?: string, limit?: number } = {}): Promise<DeviceOutcome[]> {
    return await this.#run('reading devices', async db => await waveDevices(db, waveId, options))
  }

  /** Stores with their waves and outcomes (the fleet API), paged by hub id. */
  async stores (options: { waveId?: string, after?: string, limit: number }): Promise<FleetStore[]> {
    return await this.#run('reading stores', async db => await fleetStores(db, options))
  }

  /** What these stores' hubs last reported holding (fleet-holdings.ts), and which hubs ever reported holdings. */
  async holdings (hubIds: readonly string[]): Promise<{ byHub: Map<string, StoreHolding[]>, reporting: Set<string> }> {
    return await this.#run('reading holdings', async db => {
      const byHub = new Map<string, StoreHolding[]>()
      for (const h of await holdingsOf(db, hubIds)) byHub.set(h.hubId, [...byHub.get(h.hubId) ?? [], h])
      return { byHub, reporting: await hubsReportingHoldings(db, hubIds) }
    })
  }

  /** Peer ids of the hubs that report holdings (their wan-served figures are not counted twice). */
  async peersReportingHoldings (): Promise<Set<string>> {
    const rows = await this.#run('reading holdings', async db => await db.query<{ peer: string }>('SELECT peer FROM hubs WHERE holdings_ms IS NOT NULL AND peer IS NOT NULL'))
    return new Set(rows.map(r => r.peer))
  }

  /** Per bundle, the stores whose hubs hold it complete (the `/metrics` gauge). */
  async storesHolding (): Promise<Map<string, number>> {
    return await this.#run('reading holdings', async db => await storesHoldingComplete(db))
  }

  /** Orders newest first with their delivery (the fleet API). */
  async orders (options: { waveId?: string, limit: number }): Promise<OrderDelivery[]> {
    return await this.#run('reading orders', async db => await fleetOrderDeliveries(db, options))
  }

  /** The database itself, for the wave logic's WaveStore (wave-store.ts); undefined while down. */
  get db (): SqlDb | undefined {
    return this.#link.db
  }

  async close (): Promise<void> {
    await this.#link.close()
  }
}
