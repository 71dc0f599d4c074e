/**
 * The device's side of device orders (protocols/report/SPEC.md "Device orders"): the
 * store hub repeats an open order in every answer until the device's journal reports
 * its outcome; this runner makes sure each order id runs at most once, across restarts.
 *
 * Per order, in this order, each step durable before the next:
 *   1. `<data>/device-orders.json` records the id as `accepted`
 *   2. the action runs (the installer's rollback; it persists its own state machine)
 *   3. the journal gets the outcome entry (kind `order`), which the uplink carries up
 *   4. the file records the id as `done`
 * A crash after 1 and before 3 leaves `accepted`: the order is not run again (the
 * installer resumes what it started on its own); its outcome is reported as
 * `interrupted`. A crash after 3 and before 4 reports the outcome twice at most; the
 * hub closes the order on the first and ignores the second.
 */
import { join } from 'node:path'
import { readFileLimited, writeFileAtomic } from '../interface/atomic-file.js'
import { toStoremeshError } from '../interface/errors.js'
import { silentLog, type Log } from '../interface/log.js'
import type { JournalEntry } from '../interface/types.js'
import { DEFAULT_DEVICE_ORDERS_KEPT, DEVICE_ORDERS_FILE } from './constants.js'
import { orderOutcomeEvent, type OrderOutcome } from './device-orders.js'
import { ORDER_ID_RE } from './report/constants.js'
import type { DeviceOrder } from './report/messages.js'

const FILE_SCHEMA = 'storemesh/device-orders/1'
const MAX_FILE_BYTES = 256 * 1024

interface SeenOrder {
  orderId: string
  state: 'accepted' | 'done'
  outcome?: OrderOutcome
  atMs: number
}

export interface OrderResult {
  outcome: OrderOutcome
  detail: string
  /** the wave, bundle and version the action touched, for the journal entry */
  waveId?: string
  bundleId?: string
  version?: string
}

export interface DeviceOrderRunnerInit {
  dataDir: string
  deviceId: string
  journal: { append(event: Omit<JournalEntry, 'seq' | 'at'>): Promise<unknown> }
  /** runs one order; a throw is reported as `failed` with the error's line */
  execute: (order: DeviceOrder, signal: AbortSignal) => Promise<OrderResult>
  /** an outcome was journaled: push it now (DeviceUplink.kick) */
  onOutcome?: (order: DeviceOrder, result: OrderResult) => void
  /** @default DEFAULT_DEVICE_ORDERS_KEPT */
  keep?: number
  now?: () => number
  log?: Log
}

export class DeviceOrderRunner {
  readonly #init: DeviceOrderRunnerInit
  readonly #path: string
  readonly #seen = new Map<string, SeenOrder>()
  readonly #queue: DeviceOrder[] = []
  readonly #abort = new AbortController()
  #running: Promise<void> | undefined
  /** the order being run now (no longer in the queue) */
  #current: string | undefined

  private constructor (init: DeviceOrderRunnerInit) {
    this.#init = init
    this.#path = join(init.dataDir, DEVICE_ORDERS_FILE)
  }

  /** Loads `<data>/device-orders.json` (a missing or unreadable file starts empty, logged). */
  static async open (init: DeviceOrderRunnerInit): Promise<DeviceOrderRunner> {
    const r = new DeviceOrderRunner(init)
    try {
      const buf = await readFileLimited(r.#path, MAX_FILE_BYTES)
      if (buf !== undefined) {
        const doc = JSON.parse(buf.toString('utf8')) as { schema?: string, orders?: SeenOrder[] }
        if (doc.schema === FILE_SCHEMA && Array.isArray(doc.orders)) {
          for (const o of doc.orders) if (typeof o.orderId === 'string' && ORDER_ID_RE.test(o.orderId)) r.#seen.set(o.orderId, o)
        }
      }
    } catch (err) {
      init.log?.warn(`device orders: cannot read ${r.#path}, starting empty: ${toStoremeshError(err).toLine()}`)
    }
    return r
  }

  /** What this device did with an order id, if anything. */
  seen (orderId: string): { state: 'accepted' | 'done', outcome?: OrderOutcome } | undefined {
    const s = this.#seen.get(orderId)
    return s === undefined ? undefined : { state: s.state, ...(s.outcome !== undefined ? { outcome: s.outcome } : {}) }
  }

  /**
   * Orders from the hub's answer. New ones for this device are queued and run one at a
   * time in the background; ids already done or queued are ignored. Never blocks.
   */
  offer (orders: readonly DeviceOrder[]): void {
    for (const o of orders) {
      if (o.deviceId !== this.#init.deviceId) continue
      if (this.#seen.get(o.orderId)?.state === 'done') continue
      if (this.#current === o.orderId || this.#queue.some(q => q.orderId === o.orderId)) continue
      this.#queue.push(o)
    }
    if (this.#running === undefined && this.#queue.length > 0 && !this.#abort.signal.aborted) {
      this.#running = this.#drain().finally(() => { this.#running = undefined })
    }
  }

  /** Resolves once every queued order ran (tests). */
  async idle (): Promise<void> {
    while (this.#running !== undefined) await this.#running
  }

  async stop (): Promise<void> {
    this.#abort.abort()
    await this.#running?.catch(() => {})
  }

  async #drain (): Promise<void> {
    const log = this.#init.log ?? silentLog
    while (this.#queue.length > 0 && !this.#abort.signal.aborted) {
      const order = this.#queue.shift()!
      if (this.#seen.get(order.orderId)?.state === 'done') continue
      this.#current = order.orderId
      try {
        await this.#runOne(order)
      } catch (err) {
        // journal or file write failed: the order stays open at the hub and comes back
        log.warn(`device order ${order.orderId}: ${toStoremeshError(err).toLine()}`)
      } finally {
        this.#current = undefined
      }
    }
  }

  async #runOne (order: DeviceOrder): Promise<void> {
    const log = this.#init.log ?? silentLog
    const now = this.#init.now ?? Date.now
    let result: OrderResult
    if (this.#seen.get(order.orderId)?.state === 'accepted') {
      result = { outcome: 'interrupted', detail: `order ${order.orderId} was started before a restart; not run again (the installer resumes what it began)` }
    } else {
      await this.#record({ orderId: order.orderId, state: 'accepted', atMs: now() })
      log.info(`device order ${order.orderId}: ${order.action} (${order.reason})`)
      try {
        result = await this.#init.execute(order, this.#abort.signal)
      } catch (err) {
        result = { outcome: 'failed', detail: toStoremeshError(err).toLine() }
      }
    }
    const ids = {
      ...(result.waveId !== undefined ? { waveId: result.waveId } : {}),
      ...(result.bundleId !== undefined ? { bundleId: result.bundleId } : {}),
      ...(result.version !== undefined ? { version: result.version } : {})
    }
    await this.#init.journal.append(orderOutcomeEvent(order, result.outcome, result.detail, ids))
    await this.#record({ orderId: order.orderId, state: 'done', outcome: result.outcome, atMs: now() })
    log.info({ wave: result.waveId, bundle: result.bundleId }, `device order ${order.orderId}: ${result.outcome}: ${result.detail}`)
    this.#init.onOutcome?.(order, result)
  }

  async #record (s: SeenOrder): Promise<void> {
    this.#seen.delete(s.orderId)
    this.#seen.set(s.orderId, s)
    const keep = this.#init.keep ?? DEFAULT_DEVICE_ORDERS_KEPT
    while (this.#seen.size > keep) this.#seen.delete(this.#seen.keys().next().value!)
    await writeFileAtomic(this.#path, JSON.stringify({ schema: FILE_SCHEMA, orders: [...this.#seen.values()] }) + '\n')
  }
}
