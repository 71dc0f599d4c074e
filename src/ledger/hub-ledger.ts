/**
 * The store hub's wave ledger, a level database at `<data>/ledger`
 * (protocols/report/SPEC.md "Hub ledger"; its keys are laid out in hub-ledger-keys.ts).
 *
 * Every accepted batch is one atomic, fsynced write, and is acked only after it: a
 * device deletes what the hub acked, so the hub must never lose an acked entry.
 * Entries are idempotent by (deviceId, seq); condensation is idempotent and does not
 * depend on arrival order, so a resend after a restart changes no count.
 *
 * The outbox coalesces: a device that changes state again before the super hub acked
 * the previous change replaces that outbox entry, so a week without WAN holds at most
 * one entry per (wave, device), not one per journal event.
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { DeviceFacts, JournalEntry } from '../interface/types.js'
import { isBundleId } from '../interface/ids.js'
import { Mutex } from '../store/mutex.js'
import { classify, emptyCounts, mergeContribution, moveDevice, rollbackRatio, type DeviceWaveRecord, type WaveCounts } from './condense.js'
import { DEVICE_LAST_SEEN_WRITE_MS, DEFAULT_BATCH_ENTRIES, DEFAULT_MAX_BATCH_BYTES, DEFAULT_MAX_EVENTS_PER_DEVICE, HUB_LEDGER_DIR_NAME } from './constants.js'
import { MAX_ORDERS } from './report/constants.js'
import { commit, del, getCounter, getRecord, openLedgerDb, put, scan, writeUnsynced, type LedgerDb, type Op } from './db.js'
import { closeOrderOps, deviceOrderRecords, isCommitEntry, openOrders, planIssue, type DeviceOrderRecord, type IssueResult } from './device-orders.js'
import { entryBytes, newestOrders, type DeviceAction, type DeviceBatch, type LedgerDelta, type ReportAck, type WaveOrder } from './report/messages.js'
import { eventPrefix, eventKey, deviceKey, statePrefix, stateKey, countsKey, outboxKey, orderKey, parseWaveBundleKey, waveBundleKey, WAVE_BUNDLE_PREFIX, KEY_EPOCH, KEY_OUTBOX_NEXT, KEY_OUTBOX_ACKED } from './hub-ledger-keys.js'
import { deviceStoreOf, newerStore, type DeviceStoreState } from './device-store.js'
import { checkOrder, fleetFactsOf, isHaltOrder, isPauseOrder, supersedes } from './orders.js'
import type { DeviceRecord, DeviceWaveStatus, HubLedgerOptions, OutboxStatus, ReadOutboxOptions, StoredOrder, WaveSummary } from './hub-ledger-types.js'

export class HubLedger {
  readonly #db: LedgerDb
  readonly #mutex = new Mutex()
  readonly #now: () => number
  readonly #maxEvents: number
  readonly #onOrder: HubLedgerOptions['onOrder']
  readonly #onOutbox: HubLedgerOptions['onOutbox']
  readonly #onEntries: HubLedgerOptions['onEntries']
  readonly #orders = new Map<string, StoredOrder>()
  /** last-seen times newer than the stored ones (DEVICE_LAST_SEEN_WRITE_MS) */
  readonly #lastSeen = new Map<string, number>()
  #outboxNext = 1
  #outboxAcked = 0
  /** new with the database: lets the super hub tell a rebuilt hub from a replay */
  readonly epoch: string

  private constructor (db: LedgerDb, epoch: string, options: HubLedgerOptions) {
    this.#db = db
    this.epoch = epoch
    this.#now = options.now ?? Date.now
    this.#maxEvents = Math.max(1, options.maxEventsPerDevice ?? DEFAULT_MAX_EVENTS_PER_DEVICE)
    this.#onOrder = options.onOrder
    this.#onOutbox = options.onOutbox
    this.#onEntries = options.onEntries
  }

  /** Opens `<dataDir>/ledger`; a second process gets E_DATA_DIR_IN_USE. */
  static async open (dataDir: string, options: HubLedgerOptions = {}): Promise<HubLedger> {
    const db = await openLedgerDb(join(dataDir, HUB_LEDGER_DIR_NAME), 'hub ledger')
    try {
      let epoch = await db.get(KEY_EPOCH)
      if (epoch === undefined) {
        epoch = randomBytes(16).toString('hex')
        await commit(db, [put(KEY_EPOCH, epoch)])
      }
      const ledger = new HubLedger(db, epoch, options)
      ledger.#outboxNext = Math.max(1, await getCounter(db, KEY_OUTBOX_NEXT))
      ledger.#outboxAcked = await getCounter(db, KEY_OUTBOX_ACKED)
      for await (const [, stored] of scan<StoredOrder>(db, 'r!')) ledger.#orders.set(stored.order.waveId, stored)
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
   * Stores a device's batch and condenses it, in one durable write. Entries already
   * held (same device and seq) are skipped. Answers the highest seq of the batch (all
   * of it is stored now) and the orders in force, for the device's policy facts.
   */
  async acceptDeviceBatch (batch: DeviceBatch, ctx: { peer?: string } = {}): Promise<ReportAck> {
    return await this.#mutex.run(async () => {
      const now = this.#now()
      const { deviceId } = batch
      const stored = await getRecord<DeviceRecord>(this.#db, deviceKey(deviceId))
      const dev: DeviceRecord = stored !== undefined ? { ...stored } : { maxSeq: 0, prunedThrough: 0, lastReportMs: now }
      const ops: Op[] = []
      const records = new Map<string, DeviceWaveRecord | undefined>()
      const counts = new Map<string, WaveCounts>()
      const events: JournalEntry[] = []
      const waveBundles = new Set<string>()
      let next = this.#outboxNext
      let ackedSeq = 0
      for (const entry of batch.entries) {
        ackedSeq = Math.max(ackedSeq, entry.seq)
        if (await this.#isDuplicate(dev, deviceId, entry.seq)) continue
        events.push(entry)
        dev.maxSeq = Math.max(dev.maxSeq, entry.seq)
        if (isCommitEntry(entry)) dev.lastCommitSeq = Math.max(dev.lastCommitSeq ?? 0, entry.seq)
        const storeReport = deviceStoreOf(entry)
        if (storeReport !== undefined) dev.store = newerStore(dev.store, storeReport)
        const c = classify(entry)
        if (c === undefined) continue
        const waveId = entry.waveId!
        if (entry.bundleId !== undefined && isBundleId(entry.bundleId) && !waveBundles.has(`${waveId}!${entry.bundleId}`)) {
          waveBundles.add(`${waveId}!${entry.bundleId}`)
          ops.push(put(waveBundleKey(waveId, entry.bundleId), true))
        }
        const before = records.has(waveId) ? records.get(waveId) : await getRecord<DeviceWaveRecord>(this.#db, stateKey(waveId, deviceId))
        const { record, changed } = mergeContribution(before, c, now)
        if (record === before) continue
        if (changed) {
          const cnt = counts.get(waveId) ?? (await getRecord<WaveCounts>(this.#db, countsKey(waveId))) ?? emptyCounts()
          moveDevice(cnt, before, record)
          counts.set(waveId, cnt)
          if (before?.outboxSeq !== undefined && before.outboxSeq > this.#outboxAcked) ops.push(del(outboxKey(before.outboxSeq)))
          record.outboxSeq = next
          const delta: LedgerDelta = {
            seq: next, waveId, deviceId, state: record.state, version: record.version, atMs: now,
            ...(record.gate !== undefined ? { gate: record.gate } : {})
          }
          ops.push(put(outboxKey(next), delta))
          next++
        }
        records.set(waveId, record)
      }
      for (const [waveId, record] of records) ops.push(put(stateKey(waveId, deviceId), record))
      for (const [waveId, cnt] of counts) ops.push(put(countsKey(waveId), cnt))
      ops.push(...await closeOrderOps(this.#db, deviceId, events, now))
      ops.push(...await this.#prune(dev, deviceId))
      // entries of this batch below the pruned floor are condensed but not kept
      for (const e of events) if (e.seq > dev.prunedThrough) ops.push(put(eventKey(deviceId, e.seq), e))
      dev.lastReportMs = now
      if (ctx.peer !== undefined) dev.peer = ctx.peer
      if (stored !== undefined && ops.length === 0 && events.length === 0 && dev.peer === stored.peer) {
        // a plain poll: nothing an ack promises, only the last-seen time moves
        this.#lastSeen.set(deviceId, now)
        if (now - stored.lastReportMs >= DEVICE_LAST_SEEN_WRITE_MS) await writeUnsynced(this.#db, [put(deviceKey(deviceId), dev)])
      } else {
        ops.push(put(deviceKey(deviceId), dev))
        if (next !== this.#outboxNext) ops.push(put(KEY_OUTBOX_NEXT, String(next)))
        await commit(this.#db, ops)
        this.#lastSeen.delete(deviceId)
      }
      const queued = next !== this.#outboxNext
      this.#outboxNext = next
      if (queued) this.#onOutbox?.()
      if (events.length > 0) this.#onEntries?.()
      const deviceOrders = openOrders(await deviceOrderRecords(this.#db, deviceId))
      return { status: 'ok', ackedSeq, orders: this.#orderList(), ...(deviceOrders.length > 0 ? { deviceOrders } : {}) }
    })
  }

  async #isDuplicate (dev: DeviceRecord, deviceId: string, seq: number): Promise<boolean> {
    if (seq <= dev.prunedThrough) return true
    // keys only exist at or below maxSeq: anything above is new without a read
    if (seq > dev.maxSeq) return false
    return (await this.#db.get(eventKey(deviceId, seq))) !== undefined
  }

  /** Deletes stored raw entries beyond the newest maxEventsPerDevice and raises the floor. */
  async #prune (dev: DeviceRecord, deviceId: string): Promise<Op[]> {
    const floor = dev.maxSeq - this.#maxEvents
    if (floor <= dev.prunedThrough) return []
    const ops: Op[] = []
    for await (const key of this.#db.keys({ gt: eventKey(deviceId, dev.prunedThrough), lte: eventKey(deviceId, floor) })) ops.push(del(key))
    dev.prunedThrough = floor
    return ops
  }

  // --- outbox (store hub → super hub) ----------------------------------------------------

  /** Unacked outbox entries, oldest first, within the limits (at least one when any). */
  async readOutbox (options: ReadOutboxOptions = {}): Promise<LedgerDelta[]> {
    const limit = options.limit ?? DEFAULT_BATCH_ENTRIES
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_BATCH_BYTES
    const out: LedgerDelta[] = []
    let bytes = 0
    for await (const [, delta] of scan<LedgerDelta>(this.#db, 'o!', { gt: outboxKey(this.#outboxAcked), limit })) {
      const size = entryBytes(delta) + 1
      if (out.length > 0 && bytes + size > maxBytes) break
      out.push(delta)
      bytes += size
    }
    return out
  }

  /**
   * The super hub stored everything up to `seq`: delete those entries. Idempotent; a
   * seq beyond the newest entry is clamped (the super hub may know a higher watermark).
   */
  async ackOutbox (seq: number): Promise<void> {
    await this.#mutex.run(async () => {
      const upTo = Math.min(seq, this.#outboxNext - 1)
      if (upTo <= this.#outboxAcked) return
      const ops: Op[] = []
      for await (const key of this.#db.keys({ gt: outboxKey(this.#outboxAcked), lte: outboxKey(upTo) })) ops.push(del(key))
      ops.push(put(KEY_OUTBOX_ACKED, String(upTo)))
      await commit(this.#db, ops)
      this.#outboxAcked = upTo
    })
  }

  async outboxStatus (): Promise<OutboxStatus> {
    let pending = 0
    for await (const _ of this.#db.keys({ gt: outboxKey(this.#outboxAcked), lt: 'o!\xff' })) pending++
    return { nextSeq: this.#outboxNext, ackedSeq: this.#outboxAcked, pending }
  }

  // --- orders ------------------------------------------------------------------------------------

  /** Persists the orders that supersede those in force; returns those that did. */
  async applyOrders (orders: readonly WaveOrder[], source: StoredOrder['source']): Promise<WaveOrder[]> {
    const changed = await this.#mutex.run(async () => {
      const ops: Op[] = []
      const won = new Map<string, StoredOrder>()
      for (const order of orders) {
        const current = won.get(order.waveId) ?? this.#orders.get(order.waveId)
        if (!supersedes(order, current?.order)) continue
        won.set(order.waveId, { order, source, receivedAtMs: this.#now() })
      }
      for (const [waveId, stored] of won) ops.push(put(orderKey(waveId), stored))
      await commit(this.#db, ops)
      for (const [waveId, stored] of won) this.#orders.set(waveId, stored)
      return [...won.values()].map(s => s.order)
    })
    for (const order of changed) this.#onOrder?.(order, source)
    return changed
  }

  /** The level database, for records kept beside the ledger under their own prefix (fleet-order-book.ts). */
  get database (): LedgerDb {
    return this.#db
  }

  /** An order of the store's own operator (API, CLI). E_INVALID_ARGUMENT when malformed. */
  async issueOrder (order: WaveOrder): Promise<boolean> {
    return (await this.applyOrders([checkOrder(order)], 'local')).length > 0
  }

  order (waveId: string): WaveOrder | undefined {
    return this.#orders.get(waveId)?.order
  }

  orders (): StoredOrder[] {
    return [...this.#orders.values()]
  }

  #orderList (): WaveOrder[] {
    return newestOrders([...this.#orders.values()].map(s => s.order), MAX_ORDERS)
  }

  /** A halt is in force for the wave (policy `fleet.halt`); read from memory, persisted on disk. */
  isWaveHalted (waveId: string): boolean {
    return isHaltOrder(this.order(waveId))
  }

  /** A pause is in force for the wave (policy `wave.paused`). */
  isWavePaused (waveId: string): boolean {
    return isPauseOrder(this.order(waveId))
  }

  /** The `fleet` facts of DeviceFacts for one wave, from the order in force. */
  fleetFacts (waveId: string): DeviceFacts['fleet'] {
    return fleetFactsOf(this.order(waveId))
  }

  // --- device orders ------------------------------------------------------------------------

  /**
   * An operator's order to one device (`device rollback --id`), idempotent: a repeat
   * while the order is open, or after it rolled the device back with no install since,
   * changes nothing (SPEC.md "Device orders").
   */
  async issueDeviceOrder (want: { deviceId: string, action: DeviceAction, reason: string }): Promise<IssueResult> {
    return await this.#mutex.run(async () => {
      const records = await deviceOrderRecords(this.#db, want.deviceId)
      const dev = await getRecord<DeviceRecord>(this.#db, deviceKey(want.deviceId))
      const plan = planIssue(records, want, dev?.lastCommitSeq ?? 0, this.#now())
      if ('existing' in plan) return plan.existing
      await commit(this.#db, [plan.op])
      return { changed: true, record: plan.create }
    })
  }

  /** The device's orders, open and closed, oldest first. */
  async deviceOrders (deviceId: string): Promise<DeviceOrderRecord[]> {
    return await deviceOrderRecords(this.#db, deviceId)
  }

  // --- queries (API, metrics, dashboard) --------------------------------------------------------

  async waveCounts (waveId: string): Promise<WaveCounts> {
    return (await getRecord<WaveCounts>(this.#db, countsKey(waveId))) ?? emptyCounts()
  }

  /** Every wave this store saw a device state or an order for, by wave id. */
  async waves (): Promise<WaveSummary[]> {
    const ids = new Set<string>(this.#orders.keys())
    const counts = new Map<string, WaveCounts>()
    for await (const [key, c] of scan<WaveCounts>(this.#db, 'c!')) {
      const waveId = key.slice(2)
      ids.add(waveId)
      counts.set(waveId, c)
    }
    return [...ids].sort().map(waveId => {
      const c = counts.get(waveId) ?? emptyCounts()
      const order = this.order(waveId)
      return {
        waveId, counts: c, rollbackRatio: rollbackRatio(c), halted: isHaltOrder(order), paused: isPauseOrder(order),
        ...(order !== undefined ? { order } : {})
      }
    })
  }

  /** Devices of a wave with their condensed state, by device id; page with `after`. */
  async devices (waveId: string, options: { after?: string, limit?: number } = {}): Promise<DeviceWaveStatus[]> {
    const out: DeviceWaveStatus[] = []
    const gt = options.after !== undefined ? stateKey(waveId, options.after) : undefined
    for await (const [key, r] of scan<DeviceWaveRecord>(this.#db, statePrefix(waveId), { ...(gt !== undefined ? { gt } : {}), limit: options.limit ?? 1000 })) {
      out.push({
        deviceId: key.slice(statePrefix(waveId).length), state: r.state, version: r.version, updatedAtMs: r.updatedAtMs,
        ...(r.gate !== undefined ? { gate: r.gate } : {})
      })
    }
    return out
  }

  /** The device's condensed state in every wave it has one in, by wave id. */
  async deviceWaves (deviceId: string): Promise<Array<{ waveId: string, state: DeviceWaveRecord['state'], gate?: string }>> {
    const out: Array<{ waveId: string, state: DeviceWaveRecord['state'], gate?: string }> = []
    for await (const [key] of scan<WaveCounts>(this.#db, 'c!')) {
      const waveId = key.slice(2)
      const r = await getRecord<DeviceWaveRecord>(this.#db, stateKey(waveId, deviceId))
      if (r !== undefined) out.push({ waveId, state: r.state, ...(r.gate !== undefined ? { gate: r.gate } : {}) })
    }
    return out
  }

  /** The bundles devices reported about in each wave: bundle id to its wave ids. */
  async waveBundles (): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>()
    for await (const [key] of scan<boolean>(this.#db, WAVE_BUNDLE_PREFIX)) {
      const k = parseWaveBundleKey(key)
      if (k !== undefined) out.set(k.bundleId, [...(out.get(k.bundleId) ?? []), k.waveId])
    }
    return out
  }

  /** Every device's newest store report (devices that sent none are left out). */
  async deviceStores (): Promise<Array<{ deviceId: string, store: DeviceStoreState }>> {
    const out: Array<{ deviceId: string, store: DeviceStoreState }> = []
    for await (const [key, d] of scan<DeviceRecord>(this.#db, 'd!')) if (d.store !== undefined) out.push({ deviceId: key.slice(2), store: d.store })
    return out
  }

  async device (deviceId: string): Promise<DeviceRecord | undefined> {
    const rec = await getRecord<DeviceRecord>(this.#db, deviceKey(deviceId))
    const seen = this.#lastSeen.get(deviceId)
    return rec !== undefined && seen !== undefined && seen > rec.lastReportMs ? { ...rec, lastReportMs: seen } : rec
  }

  /** The device's newest stored journal entries after `afterSeq`, oldest first. */
  async deviceEvents (deviceId: string, options: { afterSeq?: number, limit?: number } = {}): Promise<JournalEntry[]> {
    const out: JournalEntry[] = []
    const gt = eventKey(deviceId, options.afterSeq ?? 0)
    for await (const [, e] of scan<JournalEntry>(this.#db, eventPrefix(deviceId), { gt, limit: options.limit ?? 1000 })) out.push(e)
    return out
  }
}
