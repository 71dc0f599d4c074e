/**
 * The two pushers of the wave ledger (protocols/report/SPEC.md "Uplinks"):
 *
 *   DeviceUplink  device journal → store hub; acks the journal with what the hub stored
 *   HubUplink     hub ledger outbox → super hub; acks the outbox, persists the orders
 *
 * Each is a loop that pushes whenever the peer answers: after a success it sends the
 * rest at once, then asks again every `pollIntervalMs` even with nothing to send (the
 * answer carries halt and pause orders), less often while the answers bring nothing new
 * (`idlePollMaxMs`); after a failure it waits a jittered
 * exponential back-off (src/interface/backoff.ts). Nothing lives only in memory: the
 * source (journal or outbox) keeps every entry until the receiver acked it, so an
 * outage or a restart of either side only delays entries, never loses them.
 */
import { StoremeshError, toStoremeshError } from '../interface/errors.js'
import type { JournalEntry } from '../interface/types.js'
import { Mutex } from '../store/mutex.js'
import { backoffDelayMs, Waker } from '../interface/backoff.js'
import { DEFAULT_DEVICE_IDLE_POLL_MAX_MS, DEFAULT_DEVICE_POLL_INTERVAL_MS, DEVICE_IDLE_POLL_FACTOR, defaultUplinkOptions, type UplinkOptions } from './constants.js'
import { MAX_BATCH_ENTRIES, MAX_REPORT_REQUEST_BYTES } from './report/constants.js'
import {
  entryBytes, toWireEntry, type DeviceOrder, type LedgerDelta, type ReportAck, type ReportClient, type ReportRequest, type ReportTarget, type WaveOrder
} from './report/index.js'

export interface UplinkStatus {
  running: boolean
  /** consecutive failed exchanges; 0 after a success */
  consecutiveFailures: number
  lastSuccessAtMs?: number
  /** one line: code and message */
  lastError?: string
  /** the highest seq the peer acked in this process */
  lastAckedSeq: number
  /** entries the peer acked in this process */
  entriesAcked: number
}

export interface PushResult {
  sent: number
  /** more is waiting: push again at once */
  more: boolean
  /** the answer carried something new (orders that changed); idle polls slow down only without it */
  changed?: boolean
}

interface LoopInit {
  options?: Partial<UplinkOptions>
  random?: () => number
  now?: () => number
  /** each failed exchange, for logs */
  onError?: (err: StoremeshError) => void
}

/** The loop both uplinks share: push, then wait (poll interval, or back-off after a failure). */
abstract class PushLoop {
  protected readonly options: UplinkOptions
  readonly #random: () => number
  readonly #now: () => number
  readonly #onError: LoopInit['onError']
  readonly #waker = new Waker()
  readonly #mutex = new Mutex()
  #abort: AbortController | undefined
  #loop: Promise<void> | undefined
  readonly #status: UplinkStatus = { running: false, consecutiveFailures: 0, lastAckedSeq: 0, entriesAcked: 0 }

  constructor (init: LoopInit) {
    this.options = { ...defaultUplinkOptions, idlePollMaxMs: init.options?.pollIntervalMs ?? defaultUplinkOptions.pollIntervalMs, ...init.options }
    this.options.idlePollMaxMs = Math.max(this.options.idlePollMaxMs, this.options.pollIntervalMs)
    this.options.maxBatchBytes = Math.min(this.options.maxBatchBytes, MAX_REPORT_REQUEST_BYTES - 4096)
    this.options.batchEntries = Math.max(1, Math.min(this.options.batchEntries, MAX_BATCH_ENTRIES))
    this.#random = init.random ?? Math.random
    this.#now = init.now ?? Date.now
    this.#onError = init.onError
  }

  /** One exchange: send what is waiting (or nothing, to fetch orders), apply the ack. */
  protected abstract pushOnce (signal: AbortSignal): Promise<PushResult>

  /** Starts the loop; a second call does nothing. */
  start (): void {
    if (this.#loop !== undefined) return
    const abort = new AbortController()
    this.#abort = abort
    this.#status.running = true
    this.#loop = this.#run(abort.signal).finally(() => { this.#status.running = false })
  }

  /** Stops the loop and waits for the exchange in flight to end (it is aborted). */
  async stop (): Promise<void> {
    this.#abort?.abort(new StoremeshError('E_ABORTED', 'uplink stopped'))
    await this.#loop
    this.#loop = undefined
    this.#abort = undefined
  }

  /**
   * Something new to send: push now instead of at the next poll. With
   * `{ reconnected: true }` (the peer just connected) a back-off wait is cut short too.
   */
  kick (options: { reconnected?: boolean } = {}): void {
    this.#waker.wake({ backoff: options.reconnected === true })
  }

  status (): UplinkStatus {
    return { ...this.#status }
  }

  /**
   * Pushes until nothing is left; throws the first failure. For one-shot commands and
   * tests. Each exchange has its own timeout; `signal` aborts the whole flush.
   */
  async flush (options: { signal?: AbortSignal } = {}): Promise<number> {
    const signal = options.signal ?? new AbortController().signal
    let total = 0
    // bounded by what is waiting: every round but the last acks at least one entry
    for (;;) {
      const r = await this.#exchange(signal)
      total += r.sent
      if (!r.more) break
    }
    return total
  }

  async #exchange (signal: AbortSignal): Promise<PushResult> {
    return await this.#mutex.run(async () => {
      try {
        const r = await this.pushOnce(signal)
        this.#status.consecutiveFailures = 0
        this.#status.lastSuccessAtMs = this.#now()
        delete this.#status.lastError
        return r
      } catch (err) {
        const e = toStoremeshError(err)
        // a stop is not a failure of the peer
        if (signal.aborted) throw e
        this.#status.consecutiveFailures++
        this.#status.lastError = e.toLine()
        this.#onError?.(e)
        throw e
      }
    })
  }

  protected noteAck (seq: number, entries: number): void {
    this.#status.lastAckedSeq = Math.max(this.#status.lastAckedSeq, seq)
    this.#status.entriesAcked += entries
  }

  async #run (signal: AbortSignal): Promise<void> {
    // consecutive exchanges that sent nothing and learned nothing: after two, each
    // doubles the wait, up to idlePollMaxMs
    let idleStreak = 0
    while (!signal.aborted) {
      let more = false
      try {
        const r = await this.#exchange(signal)
        more = r.more
        idleStreak = r.sent > 0 || r.changed === true ? 0 : Math.min(idleStreak + 1, 32)
      } catch {
        idleStreak = 0
        if (signal.aborted) break
        const delay = backoffDelayMs(this.#status.consecutiveFailures, {
          baseMs: this.options.retryBaseMs, maxMs: this.options.retryMaxMs, jitterFraction: this.options.retryJitterFraction
        }, this.#random)
        await this.#waker.wait(delay, signal, { backoff: true })
        continue
      }
      if (more) continue
      const { pollIntervalMs, idlePollMaxMs } = this.options
      const waitMs = Math.min(idlePollMaxMs, pollIntervalMs * 2 ** Math.max(0, idleStreak - 2))
      // a kick (new work, a reconnect) ends the wait and restarts the pace
      if (await this.#waker.wait(waitMs, signal) === 'woken') idleStreak = 0
    }
  }
}

/** Packs entries in order up to the byte and count limits; at least one when any. */
function pack<T> (items: readonly T[], maxBytes: number): T[] {
  const out: T[] = []
  let bytes = 0
  for (const item of items) {
    const size = entryBytes(item) + 1
    if (out.length > 0 && bytes + size > maxBytes) break
    out.push(item)
    bytes += size
  }
  return out
}

/** The ack to apply: never beyond what was sent, and it must cover the first entry sent. */
function ackOf (res: ReportAck, sent: ReadonlyArray<{ seq: number }>, peer: string): number {
  if (sent.length === 0) return 0
  const first = sent[0]!.seq
  const last = sent[sent.length - 1]!.seq
  if (res.ackedSeq < first) {
    throw new StoremeshError('E_PEER_ERROR', `${peer} acked ${res.ackedSeq}, below the first entry sent (${first})`, { ackedSeq: res.ackedSeq, first })
  }
  return Math.min(res.ackedSeq, last)
}

async function targetOf (get: () => ReportTarget | undefined | Promise<ReportTarget | undefined>, what: string): Promise<ReportTarget> {
  const t = await get()
  if (t === undefined) throw new StoremeshError('E_NOT_CONNECTED', `no ${what} known yet`)
  return t
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
}

export class DeviceUplink extends PushLoop {
  readonly #init: DeviceUplinkInit

  #ordersKey = ''

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

  protected async pushOnce (signal: AbortSignal): Promise<PushResult> {
    const { journal, deviceId } = this.#init
    const hub = await targetOf(this.#init.hub, 'store hub')
    const waiting = await journal.readFrom(0, { limit: this.options.batchEntries })
    const entries = pack(waiting.map(toWireEntry), this.options.maxBatchBytes)
    const req: ReportRequest = { type: 'device-events', deviceId, entries }
    const res = await this.#init.client.send(hub, req, { signal, timeoutMs: this.options.timeoutMs })
    const acked = ackOf(res, entries, 'the store hub')
    if (acked > 0) {
      await journal.ack(acked)
      this.noteAck(acked, entries.filter(e => e.seq <= acked).length)
    }
    await this.#init.onOrders?.(res.orders)
    const mine = (res.deviceOrders ?? []).filter(o => o.deviceId === deviceId)
    if (mine.length > 0) this.#init.onDeviceOrders?.(mine)
    const more = entries.length > 0 && (await journal.readFrom(0, { limit: 1 })).length > 0
    const ordersKey = JSON.stringify(res.orders)
    const changed = ordersKey !== this.#ordersKey || mine.length > 0
    this.#ordersKey = ordersKey
    return { sent: entries.length, more, changed }
  }
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
}

export class HubUplink extends PushLoop {
  readonly #init: HubUplinkInit

  constructor (init: HubUplinkInit) {
    super(init)
    this.#init = init
  }

  protected async pushOnce (signal: AbortSignal): Promise<PushResult> {
    const { ledger, hubId } = this.#init
    const target = await targetOf(this.#init.superHub, 'super hub')
    const entries = await ledger.readOutbox({ limit: this.options.batchEntries, maxBytes: this.options.maxBatchBytes })
    const req: ReportRequest = { type: 'hub-ledger', hubId, epoch: ledger.epoch, entries }
    const res = await this.#init.client.send(target, req, { signal, timeoutMs: this.options.timeoutMs })
    const acked = ackOf(res, entries, 'the super hub')
    if (acked > 0) {
      await ledger.ackOutbox(acked)
      this.noteAck(acked, entries.filter(e => e.seq <= acked).length)
    }
    await ledger.applyOrders(res.orders, 'super')
    const more = entries.length > 0 && (await ledger.readOutbox({ limit: 1 })).length > 0
    return { sent: entries.length, more }
  }
}

