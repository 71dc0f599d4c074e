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
  DEFAULT_MAX_REPORT_STREAMS, DEFAULT_REPORT_TIMEOUT_MS, MAX_REPORT_REQUEST_BYTES, MAX_REPORT_RESPONSE_BYTES, REPORT_PROTOCOL, REPORT_PROTOCOL_V1_1
} from './constants.js'
import type { ReportClient, ReportProtocolComponents, ReportProtocolInit, ReportRequestOptions, ReportTarget } from './index.js'
import {
  decodeReportRequest, decodeReportResponse, encodeReportRequest, encodeReportResponse,
  type ReportAck, type ReportRequest, type ReportResponse
} from './messages.js'

/** A device asks on 1.1.0 (its orders come back); a hub on 1.0.0, which every super hub serves. */
export function protocolFor (req: ReportRequest): string {
  return req.type === 'device-events' ? REPORT_PROTOCOL_V1_1 : REPORT_PROTOCOL
}

function describe (req: ReportRequest): string {
  return req.type === 'device-events' ? `device ${req.deviceId} (${req.entries.length} entries)` : `hub ${req.hubId} (${req.entries.length} entries)`
}

export class ReportProtocol implements Startable, ReportClient {
  readonly protocol = REPORT_PROTOCOL
  /** every id served: 1.0.0 and 1.1.0 (device orders in answers to devices) */
  readonly protocols = [REPORT_PROTOCOL, REPORT_PROTOCOL_V1_1] as const
  readonly #components: ReportProtocolComponents
  readonly #init: ReportProtocolInit
  readonly #log: Logger
  readonly #timeoutMs: number
  #started = false

  constructor (components: ReportProtocolComponents, init: ReportProtocolInit = {}) {
    this.#components = components
    this.#init = init
    this.#log = components.logger.forComponent('storemesh:report')
    this.#timeoutMs = init.timeoutMs ?? DEFAULT_REPORT_TIMEOUT_MS
  }

  readonly [Symbol.toStringTag] = 'storemesh/report'

  get #serving (): boolean {
    return this.#init.devices !== undefined || this.#init.hubs !== undefined
  }

  async start (): Promise<void> {
    if (this.#serving) {
      const max = this.#init.maxStreams ?? DEFAULT_MAX_REPORT_STREAMS
      for (const protocol of this.protocols) {
        await handleOneShotProtocol(this.#components.registrar, protocol, max, async (s, peer) => await this.handleStream(s, peer, protocol))
      }
    }
    this.#started = true
  }

  async stop (): Promise<void> {
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
    const version = { deviceOrders: protocol !== REPORT_PROTOCOL }
    await serveOneRequest(stream, {
      maxRequestBytes: MAX_REPORT_REQUEST_BYTES,
      maxResponseBytes: MAX_REPORT_RESPONSE_BYTES,
      timeoutMs: this.#timeoutMs,
      log: this.#log,
      what: 'report',
      peer
    }, async (bytes) => encodeReportResponse(await this.#answer(bytes, peer), version))
  }

  /** A report for an id the peer is not certified for: logged, counted, refused with `answer`. */
  #unbound (peer: string | undefined, answer: ReportResponse): ReportResponse {
    this.#log('report from %s refused: %s', peer ?? 'peer', answer.status === 'error' ? answer.detail : '')
    if (peer !== undefined && answer.status === 'error') this.#init.onUnbound?.(peer, answer.detail)
    return answer
  }

  async #answer (bytes: Uint8Array, peer: string | undefined): Promise<ReportResponse> {
    let req: ReportRequest
    try {
      req = decodeReportRequest(bytes)
    } catch (err) {
      this.#log('malformed report from %s: %s', peer ?? 'peer', (err as Error).message)
      return { status: 'error', reason: 'bad-request', detail: (err as Error).message }
    }
    const ctx = peer !== undefined ? { peer } : {}
    try {
      if (req.type === 'device-events') {
        if (this.#init.devices === undefined) return { status: 'error', reason: 'wrong-role', detail: 'this peer takes no device reports' }
        const bound = peer !== undefined ? this.#init.deviceIdOf?.(peer) : undefined
        // a report only for the device the sender is certified as (protocols/identity/SPEC.md section 8)
        if (bound !== undefined && bound !== req.deviceId) return this.#unbound(peer, { status: 'error', reason: 'bad-request', detail: `E_CERT_MISMATCH this peer is certified for ${bound ?? 'no device'}, not ${req.deviceId}` })
        return await this.#init.devices.acceptDeviceBatch(req, ctx)
      }
      if (this.#init.hubs === undefined) return { status: 'error', reason: 'wrong-role', detail: 'this peer takes no hub reports' }
      const hubIds = peer !== undefined ? this.#init.hubIdsOf?.(peer) : undefined
      // a store's reports only from that store's certified hub (protocols/identity/SPEC.md section 7b)
      if (hubIds !== undefined && (hubIds === null || !hubIds.includes(req.hubId))) return this.#unbound(peer, { status: 'error', reason: 'bad-request', detail: `E_CERT_MISMATCH this peer is not certified as hub ${req.hubId}` })
      return await this.#init.hubs.acceptHubBatch(req, ctx)
    } catch (err) {
      this.#log.error('storing the report of %s failed: %s', describe(req), isStoremeshError(err) ? err.toLine() : String(err))
      return { status: 'error', reason: 'ledger-error', detail: isStoremeshError(err) ? err.code : 'ledger error' }
    }
  }

  /**
   * One exchange. Returns the ack and orders. Throws E_NOT_CONNECTED (cannot open the
   * stream), E_TIMEOUT / E_ABORTED, E_WIRE_* (the answer broke the framing or the schema;
   * the stream is reset), E_PEER_ERROR (the receiver answered an error: nothing stored).
   */
  async send (target: ReportTarget, req: ReportRequest, options: ReportRequestOptions = {}): Promise<ReportAck> {
    const signal = withTimeout(options.timeoutMs ?? this.#timeoutMs, options.signal)
    const protocol = options.protocol ?? protocolFor(req)
    const stream = await openProtocolStream(this.#components.connectionManager, target, protocol, signal)
    return await this.requestOverStream(stream, req, { ...options, protocol, signal })
  }

  /** The sending side over an already open stream (tests use an in-memory pair). */
  async requestOverStream (stream: Stream, req: ReportRequest, options: ReportRequestOptions = {}): Promise<ReportAck> {
    const res = await requestOverStream(stream, () => encodeReportRequest(req), {
      maxRequestBytes: MAX_REPORT_REQUEST_BYTES,
      maxResponseBytes: MAX_REPORT_RESPONSE_BYTES,
      timeoutMs: options.timeoutMs ?? this.#timeoutMs,
      signal: options.signal,
      decode: bytes => decodeReportResponse(bytes, { deviceOrders: (options.protocol ?? protocolFor(req)) !== REPORT_PROTOCOL }),
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
