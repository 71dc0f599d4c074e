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
import type { AbortOptions, ComponentLogger, Logger, PeerId, Startable, Stream, StreamHandler, StreamHandlerOptions } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { StoremeshError, isStoremeshError } from '../interface/errors.js'
import { readBounded, writeMessage } from '../net/framing.js'
import { DEFAULT_LEASE_TIMEOUT_MS, DEFAULT_MAX_LEASE_STREAMS, LEASE_PROTOCOL, MAX_LEASE_REQUEST_BYTES, MAX_LEASE_RESPONSE_BYTES } from './constants.js'
import type { LeaseAuthority } from './lease-table.js'
import {
  decodeLeaseRequest, decodeLeaseResponse, encodeLeaseRequest, encodeLeaseResponse, ERROR_REASONS,
  type LeaseRequest, type LeaseResponse
} from './messages.js'

export interface LeaseProtocolComponents {
  registrar: {
    handle(protocol: string, handler: StreamHandler, options?: StreamHandlerOptions): Promise<void>
    unhandle(protocol: string): Promise<void>
  }
  connectionManager: {
    openStream(peer: PeerId | Multiaddr | Multiaddr[], protocol: string, options?: AbortOptions): Promise<Stream>
  }
  logger: ComponentLogger
}

/** The hub side: answers requests and says how full it is (for bad-request answers). */
export interface LeaseServer extends LeaseAuthority {
  readonly activeCount: number
  readonly limit: number
}

export interface LeaseProtocolInit {
  /** serve requests with this (the hub's LeaseTable); absent: client only, no handler */
  authority?: LeaseServer
  /** @default DEFAULT_LEASE_TIMEOUT_MS, the whole exchange on either side */
  timeoutMs?: number
  /** @default DEFAULT_MAX_LEASE_STREAMS, per connection and direction */
  maxStreams?: number
}

export type LeaseTarget = PeerId | Multiaddr | Multiaddr[]

export interface LeaseRequestOptions extends AbortOptions {
  timeoutMs?: number
}

/** What a device needs of the protocol; LeaseKeeper takes this, tests can fake it. */
export interface LeaseClient {
  request(hub: LeaseTarget, req: LeaseRequest, options?: LeaseRequestOptions): Promise<LeaseResponse>
}

/** E_TIMEOUT when the signal fired by its clock, E_ABORTED when a caller aborted. */
function abortedError (signal: AbortSignal, what: string, cause: unknown): StoremeshError {
  const timedOut = (signal.reason as Error | undefined)?.name === 'TimeoutError'
  return new StoremeshError(timedOut ? 'E_TIMEOUT' : 'E_ABORTED', `${timedOut ? 'timed out' : 'aborted'} ${what}`, {}, { cause })
}

function withTimeout (timeoutMs: number, signal?: AbortSignal): AbortSignal {
  const t = AbortSignal.timeout(timeoutMs)
  return signal === undefined ? t : AbortSignal.any([signal, t])
}

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
      await this.#components.registrar.handle(this.protocol, (stream, connection) => {
        void this.handleStream(stream, connection.remotePeer.toString())
      }, { maxInboundStreams: max, maxOutboundStreams: max })
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
    const signal = AbortSignal.timeout(this.#timeoutMs)
    try {
      if (authority === undefined) throw new StoremeshError('E_INTERNAL', 'no lease authority configured')
      const bytes = await readBounded(stream, { maxBytes: MAX_LEASE_REQUEST_BYTES, signal })
      let answer: LeaseResponse
      let req: LeaseRequest | undefined
      try {
        req = decodeLeaseRequest(bytes)
      } catch (err) {
        this.#log('malformed lease request from %s: %s', peer ?? 'peer', (err as Error).message)
        answer = { granted: false, active: authority.activeCount, limit: authority.limit, reason: 'bad-request', detail: (err as Error).message }
      }
      if (req !== undefined) answer = await authority.respond(req, peer !== undefined ? { peer } : {})
      await writeMessage(stream, encodeLeaseResponse(answer!), { signal })
      await stream.close({ signal })
    } catch (err) {
      // readBounded/writeMessage already reset the stream on wire errors
      this.#log('lease request from %s failed: %s', peer ?? 'peer', isStoremeshError(err) ? err.toLine() : String(err))
      if (stream.status === 'open') stream.abort(err as Error)
    }
  }

  /**
   * One exchange with the hub. Returns its answer, granted or not. Throws
   * E_NOT_CONNECTED (cannot open the stream), E_TIMEOUT / E_ABORTED, E_WIRE_* (the
   * answer broke the framing or the schema; the stream is reset), E_PEER_ERROR (the hub
   * answered bad-request or hub-error).
   */
  async request (hub: LeaseTarget, req: LeaseRequest, options: LeaseRequestOptions = {}): Promise<LeaseResponse> {
    const signal = withTimeout(options.timeoutMs ?? this.#timeoutMs, options.signal)
    let stream: Stream
    try {
      stream = await this.#components.connectionManager.openStream(hub, this.protocol, { signal })
    } catch (err) {
      if (signal.aborted) throw abortedError(signal, `opening ${this.protocol}`, err)
      throw new StoremeshError('E_NOT_CONNECTED', `cannot open ${this.protocol}: ${(err as Error).message}`, {}, { cause: err })
    }
    return await this.requestOverStream(stream, req, { ...options, signal })
  }

  /** The client side over an already open stream (tests use an in-memory pair). */
  async requestOverStream (stream: Stream, req: LeaseRequest, options: LeaseRequestOptions = {}): Promise<LeaseResponse> {
    const signal = withTimeout(options.timeoutMs ?? this.#timeoutMs, options.signal)
    let res: LeaseResponse
    try {
      await writeMessage(stream, encodeLeaseRequest(req), { signal })
      await stream.close({ signal })
      res = decodeLeaseResponse(await readBounded(stream, { maxBytes: MAX_LEASE_RESPONSE_BYTES, signal }))
    } catch (err) {
      // a malformed answer: fail closed, the stream goes too
      if (stream.status === 'open' || stream.status === 'closing') stream.abort(err as Error)
      if (isStoremeshError(err)) throw err
      if (signal.aborted) throw abortedError(signal, `asking for a lease (${req.op})`, err)
      throw new StoremeshError('E_WIRE_MALFORMED', `lease exchange failed: ${(err as Error).message}`, {}, { cause: err })
    }
    if (ERROR_REASONS.has(res.reason)) {
      throw new StoremeshError('E_PEER_ERROR', `hub answered ${res.reason} to lease ${req.op}`, { reason: res.reason, detail: res.detail, device: req.deviceId })
    }
    return res
  }
}

/** Factory for `services: { lease: leaseProtocol({ authority: table }) }` (hub) or `leaseProtocol()` (device). */
export function leaseProtocol (init: LeaseProtocolInit = {}): (components: LeaseProtocolComponents) => LeaseProtocol {
  return (components) => new LeaseProtocol(components, init)
}
