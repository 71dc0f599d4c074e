/**
 * `/storemesh/report/1.0.0` (protocols/report/SPEC.md): one batch, one answer per
 * stream. Devices send journal entries to their store hub; store hubs send condensed
 * ledger deltas to their super hub; every answer carries the ack and the wave orders
 * in force. One class owns the handler and the client, in the shape of js-libp2p's
 * protocol-ping: it takes only the registrar and the connection manager, so a test can
 * drive it over an in-memory stream pair with `handleStream()` / `requestOverStream()`.
 *
 * ```ts
 * // store hub: serves devices, reports to its super hub
 * const ledger = await HubLedger.open(dataDir)
 * const hub = await createStoremeshNode({ swarmKey, services: { report: reportProtocol({ devices: ledger }) } })
 * // super hub
 * const agg = await SuperLedger.open(dataDir, { haltOnRollbackRatio: 0.05 })
 * const sup = await createStoremeshNode({ swarmKey, services: { report: reportProtocol({ hubs: agg }) } })
 * // device: client only
 * const dev = await createStoremeshNode({ swarmKey, services: { report: reportProtocol() } })
 * ```
 */
import type { Logger, Startable, Stream } from '@libp2p/interface'
import { StoremeshError, isStoremeshError } from '../../interface/errors.js'
import { handleOneShotProtocol, openProtocolStream, requestOverStream, serveOneRequest, withTimeout } from '../../net/request-response.js'
import {
  DEFAULT_MAX_REPORT_STREAMS, DEFAULT_REPORT_TIMEOUT_MS, MAX_REPORT_REQUEST_BYTES, MAX_REPORT_RESPONSE_BYTES, MAX_REPORT_V1_2_RESPONSE_BYTES,
  MAX_REPORT_WAIT_MS, REPORT_PROTOCOL, REPORT_PROTOCOL_V1_1, REPORT_PROTOCOL_V1_2
} from './constants.js'
import type { ReportClient, ReportProtocolComponents, ReportProtocolInit, ReportRequestOptions, ReportTarget } from './index.js'
import { ChangeFeed, HeldSlots } from './long-poll.js'
import {
  decodeReportRequest, decodeReportResponse, encodeReportRequest, encodeReportResponse,
  type ReportAck, type ReportRequest, type ReportResponse
} from './messages.js'
import {
  decodeReportRequestV12, decodeReportResponseV12, encodeReportRequestV12, encodeReportResponseV12, orderCursorOf,
  type PollExtras, type ReportAckV12, type ReportRequestV12, type ReportResponseV12
} from './messages-v12.js'

/** Before 1.2.0: a device asks on 1.1.0 (its orders come back); a hub on 1.0.0, which every super hub serves. */
export function protocolFor (req: ReportRequest): string {
  return req.type === 'device-events' ? REPORT_PROTOCOL_V1_1 : REPORT_PROTOCOL
}

/** The batch without its 1.2.0 members, for a peer that speaks only 1.1.0 / 1.0.0. */
function legacyRequest (req: ReportRequestV12): ReportRequest {
  const { waitMs: _w, have: _h, ackOrders: _a, holdings: _d, ...rest } = req
  return rest
}

/** The 1.1.0 part of an answer (a sink may return 1.2.0 members whatever the asker speaks). */
function legacyAnswer (res: ReportResponseV12): ReportResponse {
  if (res.status !== 'ok') return res
  const { fleetOrders: _f, trust: _t, orderCursor: _c, ...rest } = res
  return rest
}

/** True when opening the stream failed because the peer does not speak the protocol (multistream-select). */
/** How long a peer found not to speak 1.2.0 is asked the old way before 1.2.0 is tried again. */
export const LEGACY_RECHECK_MS = 60_000

function isUnsupported (err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as Error).name === 'UnsupportedProtocolError') return true
  }
  return false
}

function describe (req: ReportRequest): string {
  return req.type === 'device-events' ? `device ${req.deviceId} (${req.entries.length} entries)` : `hub ${req.hubId} (${req.entries.length} entries)`
}

export class ReportProtocol implements Startable, ReportClient {
  readonly protocol = REPORT_PROTOCOL
  /** every id served: 1.0.0, 1.1.0 (device orders in answers to devices), 1.2.0 (long-poll, fleet orders, trust) */
  readonly protocols = [REPORT_PROTOCOL, REPORT_PROTOCOL_V1_1, REPORT_PROTOCOL_V1_2] as const
  /** bump it when orders or trust change: held requests answer (SPEC.md "Long-poll") */
  readonly changes: ChangeFeed
  readonly #components: ReportProtocolComponents
  readonly #init: ReportProtocolInit
  readonly #log: Logger
  readonly #timeoutMs: number
  readonly #held: HeldSlots
  /**
   * Peers that could not negotiate 1.2.0, and until when they are asked on 1.1.0 /
   * 1.0.0: not for the life of the process, since a peer upgraded in place, or one
   * asked while its handlers were still being registered, would never get trust news
   * or long-polls again.
   */
  readonly #legacyPeers = new Map<string, number>()
  /** ends every held request at stop */
  #stopping = new AbortController()
  #started = false

  constructor (components: ReportProtocolComponents, init: ReportProtocolInit = {}) {
    this.#components = components
    this.#init = init
    this.#log = components.logger.forComponent('storemesh:report')
    this.#timeoutMs = init.timeoutMs ?? DEFAULT_REPORT_TIMEOUT_MS
    this.changes = init.changes ?? new ChangeFeed()
    this.#held = new HeldSlots(init.held)
  }

  /** Requests held now (status, tests). */
  get heldRequests (): number {
    return this.#held.held
  }

  /** True when `target` was found not to speak 1.2.0. */
  isLegacyPeer (target: ReportTarget): boolean {
    return this.#legacyUntil(target.toString())
  }

  #legacyUntil (key: string): boolean {
    const until = this.#legacyPeers.get(key)
    if (until === undefined) return false
    if (until > Date.now()) return true
    this.#legacyPeers.delete(key)
    return false
  }

  readonly [Symbol.toStringTag] = 'storemesh/report'

  get #serving (): boolean {
    return this.#init.devices !== undefined || this.#init.hubs !== undefined
  }

  async start (): Promise<void> {
    if (this.#stopping.signal.aborted) this.#stopping = new AbortController()
    if (this.#serving) {
      const max = this.#init.maxStreams ?? DEFAULT_MAX_REPORT_STREAMS
      for (const protocol of this.protocols) {
        await handleOneShotProtocol(this.#components.registrar, protocol, max, async (s, peer) => await this.handleStream(s, peer, protocol))
      }
    }
    this.#started = true
  }

  async stop (): Promise<void> {
    this.#stopping.abort()
    if (this.#serving) for (const protocol of this.protocols) await this.#components.registrar.unhandle(protocol)
    this.#started = false
  }

  isStarted (): boolean {
    return this.#started
  }

  /**
   * The receiving side of one stream: read one bounded batch, store it, answer,
   * half-close. A batch that parses but breaks the schema gets a `bad-request` answer
   * and nothing is stored; an oversize or truncated frame resets the stream. Never throws.
   * On 1.0.0 (`protocol`, the default) the answer never carries device orders.
   */
  async handleStream (stream: Stream, peer?: string, protocol: string = REPORT_PROTOCOL): Promise<void> {
    const v12 = protocol === REPORT_PROTOCOL_V1_2
    const version = { deviceOrders: protocol !== REPORT_PROTOCOL }
    // an asker that went away (reset, closed connection) frees its held slot at once
    const gone = new AbortController()
    const onClose = (): void => { gone.abort() }
    if (v12) stream.addEventListener('close', onClose, { once: true })
    try {
      await this.#serve(stream, peer, v12, version, gone.signal)
    } finally {
      stream.removeEventListener('close', onClose)
    }
  }

  async #serve (stream: Stream, peer: string | undefined, v12: boolean, version: { deviceOrders: boolean }, gone: AbortSignal): Promise<void> {
    await serveOneRequest(stream, {
      maxRequestBytes: MAX_REPORT_REQUEST_BYTES,
      maxResponseBytes: v12 ? MAX_REPORT_V1_2_RESPONSE_BYTES : MAX_REPORT_RESPONSE_BYTES,
      // a held request may wait its whole waitMs before the answer is built
      timeoutMs: this.#timeoutMs + (v12 ? MAX_REPORT_WAIT_MS : 0),
      log: this.#log,
      what: 'report',
      peer
    }, async (bytes, signal) => v12
      ? encodeReportResponseV12(await this.#answerV12(bytes, peer, AbortSignal.any([signal, gone])))
      : encodeReportResponse(legacyAnswer(await this.#answer(bytes, peer, false)), version))
  }

  /** A report for an id the peer is not certified for: logged, counted, refused with `answer`. */
  #unbound (peer: string | undefined, answer: ReportResponse): ReportResponse {
    this.#log('report from %s refused: %s', peer ?? 'peer', answer.status === 'error' ? answer.detail : '')
    if (peer !== undefined && answer.status === 'error') this.#init.onUnbound?.(peer, answer.detail)
    return answer
  }

  /** Decodes on 1.0.0 / 1.1.0 (strict: no 1.2.0 member) or 1.2.0, and answers once. */
  async #answer (bytes: Uint8Array, peer: string | undefined, v12: boolean): Promise<ReportResponseV12> {
    let req: ReportRequestV12
    try {
      req = v12 ? decodeReportRequestV12(bytes) : decodeReportRequest(bytes)
    } catch (err) {
      this.#log('malformed report from %s: %s', peer ?? 'peer', (err as Error).message)
      return { status: 'error', reason: 'bad-request', detail: (err as Error).message }
    }
    return await this.#sinkAnswer(req, peer)
  }

  /**
   * 1.2.0: answer, and while the answer would bring the asker nothing new (same order
   * cursor, no trust news, no entries sent), hold it until the change feed moves or
   * `waitMs` ends (SPEC.md "Long-poll"), then answer with what is current.
   */
  async #answerV12 (bytes: Uint8Array, peer: string | undefined, signal: AbortSignal): Promise<ReportResponseV12> {
    // read before the first answer: a change while it is built wakes the wait at once
    let seen = this.changes.generation
    let req: ReportRequestV12
    try {
      req = decodeReportRequestV12(bytes)
    } catch (err) {
      this.#log('malformed report from %s: %s', peer ?? 'peer', (err as Error).message)
      return { status: 'error', reason: 'bad-request', detail: (err as Error).message }
    }
    let res = await this.#sinkAnswer(req, peer)
    const waitMs = req.waitMs ?? 0
    if (waitMs <= 0 || req.entries.length > 0 || !this.#nothingNew(req, res)) return res
    const release = this.#held.acquire(peer ?? 'peer')
    if (release === undefined) return res
    const end = Date.now() + waitMs
    const stop = AbortSignal.any([signal, this.#stopping.signal])
    // the acks were applied by the first answer; the rebuilt answers are plain polls
    const poll: ReportRequestV12 = { ...req, ackOrders: [] }
    delete poll.ackOrders
    try {
      for (;;) {
        const changed = await this.changes.waitPast(seen, end - Date.now(), stop)
        if (!changed || stop.aborted) break
        seen = this.changes.generation
        res = await this.#sinkAnswer(poll, peer)
        // news: this answer goes as it is (built once: a wake rebuilds every held answer, a thousand at a fleet-wide order)
        if (!this.#nothingNew(req, res)) return res
      }
      // the wait ended with nothing new: the current answer, so its cursor is the asker's next one
      return stop.aborted || res.status !== 'ok' ? res : await this.#sinkAnswer(poll, peer)
    } finally {
      release()
    }
  }

  #nothingNew (req: ReportRequestV12, res: ReportResponseV12): boolean {
    if (res.status !== 'ok') return false
    if (res.trust !== undefined && Object.keys(res.trust).length > 0) return false
    return req.have?.orderCursor === orderCursorOf(res)
  }

  /** The ledger's answer, with the trust news the asker's `have` lacks (SPEC.md "1.2.0" `trust`). */
  async #sinkAnswer (req: ReportRequestV12, peer: string | undefined): Promise<ReportResponseV12> {
    const res = await this.#ledgerAnswer(req, peer)
    if (res.status !== 'ok' || this.#init.trust === undefined) return res
    try {
      const trust = await this.#init.trust.newsFor(req.have)
      return trust !== undefined ? { ...res, trust } : res
    } catch (err) {
      // the ledger's answer (acks, orders) must still reach the asker
      this.#log.error('trust news for %s failed: %s', describe(req), isStoremeshError(err) ? err.toLine() : String(err))
      return res
    }
  }

  async #ledgerAnswer (req: ReportRequestV12, peer: string | undefined): Promise<ReportResponseV12> {
    const poll: PollExtras = {}
    if (req.waitMs !== undefined) poll.waitMs = req.waitMs
    if (req.have !== undefined) poll.have = req.have
    if (req.ackOrders !== undefined) poll.ackOrders = req.ackOrders
    if (req.holdings !== undefined) poll.holdings = req.holdings
    const ctx = { ...(peer !== undefined ? { peer } : {}), poll }
    const batch = legacyRequest(req)
    try {
      if (batch.type === 'device-events') {
        if (this.#init.devices === undefined) return { status: 'error', reason: 'wrong-role', detail: 'this peer takes no device reports' }
        const bound = peer !== undefined ? this.#init.deviceIdOf?.(peer) : undefined
        // a report only for the device the sender is certified as (protocols/identity/SPEC.md section 8)
        if (bound !== undefined && bound !== batch.deviceId) return this.#unbound(peer, { status: 'error', reason: 'bad-request', detail: `E_CERT_MISMATCH this peer is certified for ${bound ?? 'no device'}, not ${batch.deviceId}` })
        return await this.#init.devices.acceptDeviceBatch(batch, ctx)
      }
      if (this.#init.hubs === undefined) return { status: 'error', reason: 'wrong-role', detail: 'this peer takes no hub reports' }
      const hubIds = peer !== undefined ? this.#init.hubIdsOf?.(peer) : undefined
      // a store's reports only from that store's certified hub (protocols/identity/SPEC.md section 7b)
      if (hubIds !== undefined && (hubIds === null || !hubIds.includes(batch.hubId))) return this.#unbound(peer, { status: 'error', reason: 'bad-request', detail: `E_CERT_MISMATCH this peer is not certified as hub ${batch.hubId}` })
      return await this.#init.hubs.acceptHubBatch(batch, ctx)
    } catch (err) {
      this.#log.error('storing the report of %s failed: %s', describe(batch), isStoremeshError(err) ? err.toLine() : String(err))
      return { status: 'error', reason: 'ledger-error', detail: isStoremeshError(err) ? err.code : 'ledger error' }
    }
  }

  /**
   * One exchange. Returns the ack and orders. Throws E_NOT_CONNECTED (cannot open the
   * stream), E_TIMEOUT / E_ABORTED, E_WIRE_* (the answer broke the framing or the schema;
   * the stream is reset), E_PEER_ERROR (the receiver answered an error: nothing stored).
   */
  async send (target: ReportTarget, req: ReportRequestV12, options: ReportRequestOptions = {}): Promise<ReportAckV12> {
    const waitMs = Math.min(req.waitMs ?? 0, MAX_REPORT_WAIT_MS)
    const signal = withTimeout((options.timeoutMs ?? this.#timeoutMs) + waitMs, options.signal)
    const key = target.toString()
    let protocol = options.protocol ?? (this.#legacyUntil(key) ? protocolFor(req) : REPORT_PROTOCOL_V1_2)
    let stream: Stream
    try {
      stream = await openProtocolStream(this.#components.connectionManager, target, protocol, signal)
    } catch (err) {
      // a peer from before 1.2.0: remember it, and ask it the old way from now on
      if (protocol !== REPORT_PROTOCOL_V1_2 || options.protocol !== undefined || !isUnsupported(err)) throw err
      this.#legacyPeers.set(key, Date.now() + LEGACY_RECHECK_MS)
      this.#log('%s does not speak %s: asking it on %s', key, REPORT_PROTOCOL_V1_2, protocolFor(req))
      protocol = protocolFor(req)
      stream = await openProtocolStream(this.#components.connectionManager, target, protocol, signal)
    }
    const sent = protocol === REPORT_PROTOCOL_V1_2 ? req : legacyRequest(req)
    return await this.requestOverStream(stream, sent, { ...options, protocol, signal, timeoutMs: (options.timeoutMs ?? this.#timeoutMs) + waitMs })
  }

  /** The sending side over an already open stream (tests use an in-memory pair). */
  async requestOverStream (stream: Stream, req: ReportRequestV12, options: ReportRequestOptions = {}): Promise<ReportAckV12> {
    const protocol = options.protocol ?? protocolFor(req)
    const v12 = protocol === REPORT_PROTOCOL_V1_2
    const res: ReportResponseV12 = await requestOverStream<ReportResponseV12>(stream, () => v12 ? encodeReportRequestV12(req) : encodeReportRequest(req), {
      maxRequestBytes: MAX_REPORT_REQUEST_BYTES,
      maxResponseBytes: v12 ? MAX_REPORT_V1_2_RESPONSE_BYTES : MAX_REPORT_RESPONSE_BYTES,
      timeoutMs: options.timeoutMs ?? this.#timeoutMs,
      signal: options.signal,
      decode: bytes => v12 ? decodeReportResponseV12(bytes) : decodeReportResponse(bytes, { deviceOrders: protocol !== REPORT_PROTOCOL }),
      doing: () => `reporting ${describe(req)}`,
      label: 'report',
      abortWhileClosing: true
    })
    if (res.status === 'error') {
      throw new StoremeshError('E_PEER_ERROR', `peer answered ${res.reason} to the report of ${describe(req)}`, { reason: res.reason, detail: res.detail })
    }
    return res
  }
}
