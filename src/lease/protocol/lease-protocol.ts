/**
 * `/storemesh/lease/1.0.0` (protocols/lease/SPEC.md): one request, one response per
 * stream. One class owns the handler (hub) and the client (device), in the shape of
 * js-libp2p's protocol-ping: it takes only the registrar and the connection manager,
 * so a test can drive it over an in-memory stream pair with `handleStream()` /
 * `requestOverStream()`.
 *
 * The handler needs no table of its own: it is given a `LeaseAuthority` (the hub's
 * LeaseTable) and only frames, bounds and checks the messages.
 *
 * ```ts
 * const table = await LeaseTable.open({ maxConcurrentPerHub: 4, statePath })
 * const hub = await createStoremeshNode({ swarmKey, services: { lease: leaseProtocol({ authority: table }) } })
 * const device = await createStoremeshNode({ swarmKey, services: { lease: leaseProtocol() } })
 * const res = await device.services.lease.request(hubAddr, { op: 'acquire', deviceId, bundleId, waveId })
 * ```
 */
import type { Logger, Startable, Stream } from '@libp2p/interface'
import { StoremeshError } from '../../interface/errors.js'
import { handleOneShotProtocol, openProtocolStream, requestOverStream, serveOneRequest, withTimeout } from '../../net/request-response.js'
import { DEFAULT_LEASE_TIMEOUT_MS, DEFAULT_MAX_LEASE_STREAMS, LEASE_PROTOCOL, MAX_LEASE_REQUEST_BYTES, MAX_LEASE_RESPONSE_BYTES } from './constants.js'
import type { LeaseClient, LeaseProtocolComponents, LeaseProtocolInit, LeaseRequestOptions, LeaseTarget } from './index.js'
import {
  decodeLeaseRequest, decodeLeaseResponse, encodeLeaseRequest, encodeLeaseResponse, ERROR_REASONS,
  type LeaseRequest, type LeaseResponse
} from './messages.js'

export class LeaseProtocol implements Startable, LeaseClient {
  readonly protocol = LEASE_PROTOCOL
  readonly #components: LeaseProtocolComponents
  readonly #init: LeaseProtocolInit
  readonly #log: Logger
  readonly #timeoutMs: number
  #started = false

  constructor (components: LeaseProtocolComponents, init: LeaseProtocolInit = {}) {
    this.#components = components
    this.#init = init
    this.#log = components.logger.forComponent('storemesh:lease')
    this.#timeoutMs = init.timeoutMs ?? DEFAULT_LEASE_TIMEOUT_MS
  }

  readonly [Symbol.toStringTag] = 'storemesh/lease'

  async start (): Promise<void> {
    if (this.#init.authority !== undefined) {
      const max = this.#init.maxStreams ?? DEFAULT_MAX_LEASE_STREAMS
      await handleOneShotProtocol(this.#components.registrar, this.protocol, max, async (s, peer) => await this.handleStream(s, peer))
    }
    this.#started = true
  }

  async stop (): Promise<void> {
    if (this.#init.authority !== undefined) await this.#components.registrar.unhandle(this.protocol)
    this.#started = false
  }

  isStarted (): boolean {
    return this.#started
  }

  /**
   * The hub side of one stream: read one bounded request, answer, half-close. A
   * malformed request gets a `bad-request` answer and no lease; an oversize or
   * truncated frame resets the stream (framing lost). Never throws.
   */
  async handleStream (stream: Stream, peer?: string): Promise<void> {
    const authority = this.#init.authority
    await serveOneRequest(stream, {
      maxRequestBytes: MAX_LEASE_REQUEST_BYTES,
      maxResponseBytes: MAX_LEASE_RESPONSE_BYTES,
      timeoutMs: this.#timeoutMs,
      log: this.#log,
      what: 'lease request',
      peer,
      assertReady: () => { if (authority === undefined) throw new StoremeshError('E_INTERNAL', 'no lease authority configured') }
    }, async (bytes) => {
      let req: LeaseRequest
      try {
        req = decodeLeaseRequest(bytes)
      } catch (err) {
        this.#log('malformed lease request from %s: %s', peer ?? 'peer', (err as Error).message)
        return encodeLeaseResponse({ granted: false, active: authority!.activeCount, limit: authority!.limit, reason: 'bad-request', detail: (err as Error).message })
      }
      const bound = peer !== undefined ? this.#init.deviceIdOf?.(peer) : undefined
      if (bound !== undefined && bound !== req.deviceId) {
        // a stolen or rogue key holder takes no lease in another device's name (protocols/identity/SPEC.md section 8)
        this.#log('lease %s for %s refused: %s is certified for %s', req.op, req.deviceId, peer ?? 'peer', bound ?? 'no device')
        if (peer !== undefined) this.#init.onUnbound?.(peer, `E_CERT_MISMATCH lease ${req.op} for ${req.deviceId}: certified for ${bound ?? 'no device'}`)
        return encodeLeaseResponse({ granted: false, active: authority!.activeCount, limit: authority!.limit, reason: 'wrong-peer', detail: `E_CERT_MISMATCH this peer is certified for ${bound ?? 'no device'}` })
      }
      return encodeLeaseResponse(await authority!.respond(req, peer !== undefined ? { peer } : {}))
    })
  }

  /**
   * One exchange with the hub. Returns its answer, granted or not. Throws
   * E_NOT_CONNECTED (cannot open the stream), E_TIMEOUT / E_ABORTED, E_WIRE_* (the
   * answer broke the framing or the schema; the stream is reset), E_PEER_ERROR (the hub
   * answered bad-request or hub-error).
   */
  async request (hub: LeaseTarget, req: LeaseRequest, options: LeaseRequestOptions = {}): Promise<LeaseResponse> {
    const signal = withTimeout(options.timeoutMs ?? this.#timeoutMs, options.signal)
    const stream = await openProtocolStream(this.#components.connectionManager, hub, this.protocol, signal)
    return await this.requestOverStream(stream, req, { ...options, signal })
  }

  /** The client side over an already open stream (tests use an in-memory pair). */
  async requestOverStream (stream: Stream, req: LeaseRequest, options: LeaseRequestOptions = {}): Promise<LeaseResponse> {
    // a malformed answer: fail closed, the stream goes too
    const res = await requestOverStream(stream, () => encodeLeaseRequest(req), {
      maxRequestBytes: MAX_LEASE_REQUEST_BYTES,
      maxResponseBytes: MAX_LEASE_RESPONSE_BYTES,
      timeoutMs: options.timeoutMs ?? this.#timeoutMs,
      signal: options.signal,
      decode: decodeLeaseResponse,
      doing: () => `asking for a lease (${req.op})`,
      label: 'lease',
      abortWhileClosing: true
    })
    if (ERROR_REASONS.has(res.reason)) {
      throw new StoremeshError('E_PEER_ERROR', `hub answered ${res.reason} to lease ${req.op}`, { reason: res.reason, detail: res.detail, device: req.deviceId })
    }
    return res
  }
}
