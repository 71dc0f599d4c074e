/**
 * The loop both uplinks share (protocols/report/SPEC.md "Uplinks", "Long-poll"): push
 * what is waiting; at once again while more is waiting; otherwise
 *
 *   - on a 1.2.0 peer, ask again at once with `waitMs`: the peer holds the request
 *     until something for us changes, so the idle uplink is one held request, not a
 *     timer. A kick (new entries) ends a held request at once so they go up now.
 *   - on an older peer, or when a held request came back early with nothing new (the
 *     peer's hold slots were full), wait the poll interval, longer while nothing
 *     changes (`idlePollMaxMs`);
 *
 * and after a failure a jittered exponential back-off (src/interface/backoff.ts).
 */
import { StoremeshError, toStoremeshError } from '../interface/errors.js'
import { Mutex } from '../store/mutex.js'
import { backoffDelayMs, Waker } from '../interface/backoff.js'
import { defaultUplinkOptions, type UplinkOptions } from './constants.js'
import { MAX_BATCH_ENTRIES, MAX_REPORT_REQUEST_BYTES, MAX_REPORT_WAIT_MS } from './report/constants.js'
import { entryBytes, type ReportAck, type ReportTarget } from './report/index.js'

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
  /** the last idle exchange was a long-poll the peer held (report 1.2.0) */
  longPolling?: boolean
}

export interface PushResult {
  sent: number
  /** more is waiting: push again at once */
  more: boolean
  /** the answer carried something new (orders that changed); idle polls slow down only without it */
  changed?: boolean
  /** the peer speaks 1.2.0 (the answer had an order cursor): idle requests may be held */
  v12?: boolean
}

export interface LoopInit {
  options?: Partial<UplinkOptions>
  random?: () => number
  now?: () => number
  /** each failed exchange, for logs */
  onError?: (err: StoremeshError) => void
}

const KICKED = 'kicked'

export abstract class PushLoop {
  protected readonly options: UplinkOptions
  readonly #random: () => number
  readonly #now: () => number
  readonly #onError: LoopInit['onError']
  readonly #waker = new Waker()
  readonly #mutex = new Mutex()
  #abort: AbortController | undefined
  #loop: Promise<void> | undefined
  /** the held request in flight, ended by a kick */
  #held: AbortController | undefined
  readonly #status: UplinkStatus = { running: false, consecutiveFailures: 0, lastAckedSeq: 0, entriesAcked: 0 }

  constructor (init: LoopInit) {
    this.options = { ...defaultUplinkOptions, idlePollMaxMs: init.options?.pollIntervalMs ?? defaultUplinkOptions.pollIntervalMs, ...init.options }
    this.options.idlePollMaxMs = Math.max(this.options.idlePollMaxMs, this.options.pollIntervalMs)
    this.options.maxBatchBytes = Math.min(this.options.maxBatchBytes, MAX_REPORT_REQUEST_BYTES - 4096)
    this.options.batchEntries = Math.max(1, Math.min(this.options.batchEntries, MAX_BATCH_ENTRIES))
    this.options.longPollWaitMs = Math.max(0, Math.min(this.options.longPollWaitMs, MAX_REPORT_WAIT_MS))
    this.#random = init.random ?? Math.random
    this.#now = init.now ?? Date.now
    this.#onError = init.onError
  }

  /**
   * One exchange: send what is waiting (or nothing, to fetch orders), apply the ack.
   * `waitMs` > 0: an idle request may ask the peer to hold it that long.
   */
  protected abstract pushOnce (signal: AbortSignal, waitMs: number): Promise<PushResult>

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
   * Something new to send: push now instead of at the next poll (a held request is
   * ended). With `{ reconnected: true }` (the peer just connected) a back-off wait is
   * cut short too.
   */
  kick (options: { reconnected?: boolean } = {}): void {
    this.#held?.abort(KICKED)
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
    // a held poll would keep the mutex for its whole wait
    this.#held?.abort(KICKED)
    let total = 0
    // bounded by what is waiting: every round but the last acks at least one entry
    for (;;) {
      const r = await this.#exchange(signal, 0)
      total += r.sent
      if (!r.more) break
    }
    return total
  }

  async #exchange (signal: AbortSignal, waitMs: number): Promise<PushResult> {
    return await this.#mutex.run(async () => {
      const held = waitMs > 0 ? new AbortController() : undefined
      this.#held = held
      const s = held !== undefined ? AbortSignal.any([signal, held.signal]) : signal
      try {
        const r = await this.pushOnce(s, waitMs)
        this.#status.consecutiveFailures = 0
        this.#status.lastSuccessAtMs = this.#now()
        delete this.#status.lastError
        return r
      } catch (err) {
        const e = toStoremeshError(err)
        // a stop is not a failure of the peer; nor is a held poll we ended ourselves
        if (signal.aborted) throw e
        if (held?.signal.aborted === true) return { sent: 0, more: true }
        this.#status.consecutiveFailures++
        this.#status.lastError = e.toLine()
        this.#onError?.(e)
        throw e
      } finally {
        if (this.#held === held) this.#held = undefined
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
    // the last exchange sent nothing: the next may be held
    let idle = false
    let v12 = false
    while (!signal.aborted) {
      let r: PushResult
      const startedMs = this.#now()
      const waitMs = idle ? this.options.longPollWaitMs : 0
      this.#status.longPolling = v12 && waitMs > 0
      try {
        r = await this.#exchange(signal, waitMs)
        idleStreak = r.sent > 0 || r.changed === true ? 0 : Math.min(idleStreak + 1, 32)
      } catch {
        idleStreak = 0
        idle = false
        this.#status.longPolling = false
        if (signal.aborted) break
        const delay = backoffDelayMs(this.#status.consecutiveFailures, {
          baseMs: this.options.retryBaseMs, maxMs: this.options.retryMaxMs, jitterFraction: this.options.retryJitterFraction
        }, this.#random)
        await this.#waker.wait(delay, signal, { backoff: true })
        continue
      }
      idle = r.sent === 0
      v12 = r.v12 === true
      const longPoll = v12 && this.options.longPollWaitMs > 0
      if (r.more) continue
      if (longPoll) {
        // not held yet (entries went up, or the first poll learnt the cursor): the next one is
        if (waitMs === 0) continue
        // held, or it brought news: the hold was the wait, ask again now
        if (r.changed === true || this.#now() - startedMs >= this.options.pollIntervalMs) continue
        // back early with nothing new (the peer's hold slots were full): the timer below
      }
      const { pollIntervalMs, idlePollMaxMs } = this.options
      const sleepMs = Math.min(idlePollMaxMs, pollIntervalMs * 2 ** Math.max(0, idleStreak - 2))
      // a kick (new work, a reconnect) ends the wait and restarts the pace
      if (await this.#waker.wait(sleepMs, signal) === 'woken') idleStreak = 0
    }
  }
}

/** Packs entries in order up to the byte and count limits; at least one when any. */
export function pack<T> (items: readonly T[], maxBytes: number): T[] {
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
export function ackOf (res: ReportAck, sent: ReadonlyArray<{ seq: number }>, peer: string): number {
  if (sent.length === 0) return 0
  const first = sent[0]!.seq
  const last = sent[sent.length - 1]!.seq
  if (res.ackedSeq < first) {
    throw new StoremeshError('E_PEER_ERROR', `${peer} acked ${res.ackedSeq}, below the first entry sent (${first})`, { ackedSeq: res.ackedSeq, first })
  }
  return Math.min(res.ackedSeq, last)
}

export async function targetOf (get: () => ReportTarget | undefined | Promise<ReportTarget | undefined>, what: string): Promise<ReportTarget> {
  const t = await get()
  if (t === undefined) throw new StoremeshError('E_NOT_CONNECTED', `no ${what} known yet`)
  return t
}
