/**
 * The two pushers of the wave ledger (protocols/report/SPEC.md "Uplinks"):
 *
 *   DeviceUplink  device journal → store hub; acks the journal with what the hub stored
 *   HubUplink     hub ledger outbox → super hub; acks the outbox, persists the orders
 *
 * Each is a loop (push-loop.ts) that pushes whenever the peer answers: after a success
 * it sends the rest at once; with nothing to send it long-polls a 1.2.0 peer (one held
 * request) or asks again every `pollIntervalMs` (the answer carries halt and pause
 * orders), less often while the answers bring nothing new (`idlePollMaxMs`); after a
 * failure it waits a jittered exponential back-off. Nothing lives only in memory: the
 * source (journal or outbox) keeps every entry until the receiver acked it, so an
 * outage or a restart of either side only delays entries, never loses them.
 */
import type { JournalEntry } from '../interface/types.js'
import { MAX_ORDER_ACKS } from './report/constants.js'
import { DEFAULT_DEVICE_IDLE_POLL_MAX_MS, DEFAULT_DEVICE_POLL_INTERVAL_MS, DEVICE_IDLE_POLL_FACTOR } from './constants.js'
import { HoldingsSender, refusedHoldings, type HoldingsSource } from './holdings-sender.js'
import { ackOf, pack, PushLoop, targetOf, type LoopInit, type PushResult } from './push-loop.js'
import {
  toWireEntry, type DeviceOrder, type FleetOrderWire, type Have, type TrustNews, type LedgerDelta, type ReportAckV12, type ReportClient, type ReportRequestV12, type ReportTarget, type WaveOrder
} from './report/index.js'

export type { PushResult, UplinkStatus } from './push-loop.js'

/**
 * Where an uplink keeps the signed documents of 1.2.0 answers (protocols/report/SPEC.md
 * "1.2.0"): it says what it holds (`have`) and verifies and keeps what is newer.
 */
export interface TrustSink {
  /** versions held: root, revocation list, timestamp statement's issuedAt ms */
  have(): Promise<Omit<Have, 'orderCursor'>> | Omit<Have, 'orderCursor'>
  /** verifies each document with its own verifier and keeps the newer; true when anything was kept */
  accept(news: TrustNews): Promise<boolean>
}

/** The 1.2.0 members of the next request: what we hold, and how long the peer may hold us. */
async function pollMembers (waitMs: number, cursor: string | undefined, trust: TrustSink | undefined): Promise<Pick<ReportRequestV12, 'waitMs' | 'have'>> {
  const have: Have = { ...(await trust?.have()) }
  if (cursor !== undefined) have.orderCursor = cursor
  return { ...(waitMs > 0 ? { waitMs } : {}), ...(Object.keys(have).length > 0 ? { have } : {}) }
}

/** Trust news goes to the sink; a bad document is logged by the caller's onError, the rest of the answer still counts. */
async function acceptTrust (res: ReportAckV12, trust: TrustSink | undefined): Promise<boolean> {
  if (trust === undefined || res.trust === undefined) return false
  return await trust.accept(res.trust)
}

/** What the device uplink needs of the journal (src/install/journal.ts Journal fits). */
export interface JournalSource {
  /** entries not acked yet from `seq` on, oldest first */
  readFrom(seq: number, options?: { limit?: number }): Promise<JournalEntry[]>
  ack(seq: number): Promise<void>
}

export interface DeviceUplinkInit extends LoopInit {
  deviceId: string
  journal: JournalSource
  client: ReportClient
  /** the store hub to report to; undefined while none is known (counts as a failure) */
  hub: () => ReportTarget | undefined | Promise<ReportTarget | undefined>
  /** the orders in force at the hub, after every exchange: the device's fleet facts */
  onOrders?: (orders: WaveOrder[]) => void | Promise<void>
  /**
   * This device's open orders (report 1.1.0), after every exchange that carried any.
   * Hand them to a DeviceOrderRunner: the hub repeats an order until its outcome
   * arrives, so this must not block on running it.
   */
  onDeviceOrders?: (orders: DeviceOrder[]) => void
  /** roots, revocations and timestamps in the hub's 1.2.0 answers */
  trust?: TrustSink
}

export class DeviceUplink extends PushLoop {
  readonly #init: DeviceUplinkInit

  #ordersKey = ''
  #cursor: string | undefined

  /**
   * `options.pollIntervalMs` defaults to DEFAULT_DEVICE_POLL_INTERVAL_MS (the LAN is
   * cheap; orders come back sooner); idle polls slow down to DEVICE_IDLE_POLL_FACTOR
   * intervals, at most DEFAULT_DEVICE_IDLE_POLL_MAX_MS.
   */
  constructor (init: DeviceUplinkInit) {
    const pollIntervalMs = init.options?.pollIntervalMs ?? DEFAULT_DEVICE_POLL_INTERVAL_MS
    const idlePollMaxMs = Math.max(pollIntervalMs, Math.min(pollIntervalMs * DEVICE_IDLE_POLL_FACTOR, DEFAULT_DEVICE_IDLE_POLL_MAX_MS))
    super({ ...init, options: { pollIntervalMs, idlePollMaxMs, ...init.options } })
    this.#init = init
  }

  protected async pushOnce (signal: AbortSignal, waitMs: number): Promise<PushResult> {
    const { journal, deviceId } = this.#init
    const hub = await targetOf(this.#init.hub, 'store hub')
    const waiting = await journal.readFrom(0, { limit: this.options.batchEntries })
    const entries = pack(waiting.map(toWireEntry), this.options.maxBatchBytes)
    const req: ReportRequestV12 = { type: 'device-events', deviceId, entries, ...await pollMembers(entries.length === 0 ? waitMs : 0, this.#cursor, this.#init.trust) }
    const res = await this.#init.client.send(hub, req, { signal, timeoutMs: this.options.timeoutMs })
    const acked = ackOf(res, entries, 'the store hub')
    if (acked > 0) {
      await journal.ack(acked)
      this.noteAck(acked, entries.filter(e => e.seq <= acked).length)
    }
    await this.#init.onOrders?.(res.orders)
    const mine = (res.deviceOrders ?? []).filter(o => o.deviceId === deviceId)
    if (mine.length > 0) this.#init.onDeviceOrders?.(mine)
    const trusted = await acceptTrust(res, this.#init.trust)
    const more = entries.length > 0 && (await journal.readFrom(0, { limit: 1 })).length > 0
    const ordersKey = JSON.stringify(res.orders)
    const changed = ordersKey !== this.#ordersKey || mine.length > 0 || trusted || res.orderCursor !== this.#cursor
    this.#ordersKey = ordersKey
    this.#cursor = res.orderCursor
    return { sent: entries.length, more, changed, v12: res.orderCursor !== undefined }
  }
}

/**
 * Where a store hub keeps the fleet orders of 1.2.0 answers: durably, before it acks
 * them (the next request's `ackOrders`) and before it acts on them.
 */
export interface FleetOrderSink {
  /** stores the orders not yet held (one durable write) and acts on the new ones; the ids held afterwards */
  storeFleetOrders(orders: readonly FleetOrderWire[]): Promise<void>
}

/** What the hub uplink needs of the hub ledger (HubLedger fits). */
export interface OutboxSource {
  readonly epoch: string
  readOutbox(options?: { limit?: number, maxBytes?: number }): Promise<LedgerDelta[]>
  ackOutbox(seq: number): Promise<void>
  applyOrders(orders: readonly WaveOrder[], source: 'super'): Promise<unknown>
}

export interface HubUplinkInit extends LoopInit {
  /** this hub's name at the super hub: a store label or its peer id */
  hubId: string
  ledger: OutboxSource
  client: ReportClient
  /** the super hub; undefined while the WAN is down or none is configured */
  superHub: () => ReportTarget | undefined
  /** fleet orders in the super hub's 1.2.0 answers (hold, release, prestage, device rollback) */
  fleet?: FleetOrderSink
  /** roots, revocations and timestamps in the super hub's 1.2.0 answers */
  trust?: TrustSink
  /** after an answer that changed orders or trust: wake the devices' held polls */
  onChange?: () => void
  /** the bundles this hub holds, for the request's `holdings` (holdings-sender.ts) */
  holdings?: HoldingsSource
  /** told of every answer and when its request left (store-wave-gate.ts: which waves the super hub runs) */
  answers?: AnswerSink
}

/** Hears each answer's wave orders with the send time of its request, on the sink's own (monotonic) clock. */
export interface AnswerSink {
  monoNow(): number
  noteAnswer(sentAtMonoMs: number, orders: readonly WaveOrder[]): Promise<void>
}

export class HubUplink extends PushLoop {
  readonly #init: HubUplinkInit
  readonly #holdings: HoldingsSender | undefined
  #cursor: string | undefined
  /** fleet orders stored durably, to ack in the next request */
  readonly #toAck = new Set<string>()

  constructor (init: HubUplinkInit) {
    super(init)
    this.#init = init
    this.#holdings = init.holdings !== undefined ? new HoldingsSender(init.holdings) : undefined
  }

  /** False once the super hub refused `holdings` (one from before it): status, tests. */
  get sendsHoldings (): boolean {
    return this.#holdings !== undefined && !this.#holdings.refused
  }

  protected async pushOnce (signal: AbortSignal, waitMs: number): Promise<PushResult> {
    const { ledger, hubId } = this.#init
    const target = await targetOf(this.#init.superHub, 'super hub')
    const entries = await ledger.readOutbox({ limit: this.options.batchEntries, maxBytes: this.options.maxBatchBytes })
    const ackOrders = [...this.#toAck].slice(0, MAX_ORDER_ACKS)
    const req: ReportRequestV12 = {
      type: 'hub-ledger', hubId, epoch: ledger.epoch, entries,
      ...await pollMembers(entries.length === 0 && ackOrders.length === 0 ? waitMs : 0, this.#cursor, this.#init.trust),
      ...(ackOrders.length > 0 ? { ackOrders } : {})
    }
    const held = await this.#holdings?.next()
    if (held !== undefined) {
      req.holdings = held.holdings
      // new holdings are news for the super hub: not a request to hold
      delete req.waitMs
    }
    let res: ReportAckV12
    const sentAtMonoMs = this.#init.answers?.monoNow()
    try {
      res = await this.#init.client.send(target, req, { signal, timeoutMs: this.options.timeoutMs })
      if (held !== undefined) this.#holdings!.taken(held.digest)
    } catch (err) {
      if (held === undefined || !refusedHoldings(err)) throw err
      // a super hub from before `holdings`: the same batch again without it, and never again
      this.#holdings!.refused = true
      const { holdings: _h, ...plain } = req
      res = await this.#init.client.send(target, plain, { signal, timeoutMs: this.options.timeoutMs })
    }
    for (const id of ackOrders) this.#toAck.delete(id)
    const acked = ackOf(res, entries, 'the super hub')
    if (acked > 0) {
      await ledger.ackOutbox(acked)
      this.noteAck(acked, entries.filter(e => e.seq <= acked).length)
    }
    const applied = await ledger.applyOrders(res.orders, 'super')
    if (sentAtMonoMs !== undefined) await this.#init.answers?.noteAnswer(sentAtMonoMs, res.orders)
    const fleet = res.fleetOrders ?? []
    if (fleet.length > 0 && this.#init.fleet !== undefined) {
      // durable first: an order is acked (and so never sent again) only once it is on disk
      await this.#init.fleet.storeFleetOrders(fleet)
      for (const o of fleet) this.#toAck.add(o.orderId)
    }
    const trusted = await acceptTrust(res, this.#init.trust)
    const changed = res.orderCursor !== this.#cursor || trusted || this.#toAck.size > 0
    if (trusted || fleet.length > 0 || (Array.isArray(applied) && applied.length > 0)) this.#init.onChange?.()
    this.#cursor = res.orderCursor
    const more = (entries.length > 0 && (await ledger.readOutbox({ limit: 1 })).length > 0) || this.#toAck.size > 0
    return { sent: entries.length, more, changed, v12: res.orderCursor !== undefined }
  }
}

