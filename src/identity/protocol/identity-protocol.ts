/**
 * `/storemesh/identity/1.0.0` (protocols/identity/SPEC.md sections 5–7): one class owns
 * the handler (answer with our certificate) and the client (ask each new connection for
 * the peer's, verify it against the connection's remote peer, refuse on failure).
 *
 * A refusal is one log line with the stable code, a count by reason in the shared
 * PeerIdentities (`storemesh_peer_refusals_total{reason}`), every connection to the
 * peer closed, and the peer remembered so the gater denies it. With certificates
 * required, a connection not verified within `presentTimeoutMs` is refused too.
 */
import type { Connection, Logger, PeerId, Startable, Stream } from '@libp2p/interface'
import { isStoremeshError, StoremeshError, toStoremeshError } from '../../interface/errors.js'
import { silentLog, type Log } from '../../interface/log.js'
import { handleOneShotProtocol, requestOverStream, serveOneRequest, withTimeout } from '../../net/request-response.js'
import type { RevocationList } from '../revocation.js'
import { missingCertificateError, type PeerIdentities } from '../peer-identities.js'
import type { VerifiedIdentity } from '../verify.js'
import {
  DEFAULT_IDENTITY_TIMEOUT_MS, DEFAULT_MAX_IDENTITY_STREAMS, DEFAULT_PRESENT_TIMEOUT_MS, DEFAULT_REFRESH_INTERVAL_MS, IDENTITY_PROTOCOL,
  MAX_IDENTITY_REQUEST_BYTES, MAX_IDENTITY_RESPONSE_BYTES
} from './constants.js'
import type { IdentityProtocolComponents, IdentityProtocolInit } from './index.js'
import { decodeIdentityRequest, decodeIdentityResponse, encodeIdentityRequest, encodeIdentityResponse, type IdentityResponse } from './messages.js'

/** An answer that arrived and broke the limit or the schema: the peer's fault, not the network's. */
function isGarbage (e: StoremeshError): boolean {
  return e.code === 'E_WIRE_MESSAGE_TOO_LARGE' || (e.code === 'E_WIRE_MALFORMED' && e.meta.message === 'identity response')
}

export class IdentityProtocol implements Startable {
  readonly protocol = IDENTITY_PROTOCOL
  readonly identities: PeerIdentities
  readonly #components: IdentityProtocolComponents
  readonly #init: IdentityProtocolInit
  readonly #debug: Logger
  readonly #log: Log
  readonly #timeoutMs: number
  readonly #inflight = new Set<string>()
  /** connection id → the deadline by which it must be verified (certificates required) */
  readonly #deadlines = new Map<string, NodeJS.Timeout>()
  #abort = new AbortController()
  #topologyId: string | undefined
  #refreshTimer: NodeJS.Timeout | undefined
  #refreshing: Promise<void> | undefined
  #started = false

  constructor (components: IdentityProtocolComponents, init: IdentityProtocolInit) {
    this.#components = components
    this.#init = init
    this.identities = init.identities
    this.#debug = components.logger.forComponent('storemesh:identity')
    this.#log = (init.log ?? silentLog).child({ component: 'identity' })
    this.#timeoutMs = init.timeoutMs ?? DEFAULT_IDENTITY_TIMEOUT_MS
  }

  readonly [Symbol.toStringTag] = 'storemesh/identity'

  async start (): Promise<void> {
    this.#abort = new AbortController()
    const max = this.#init.maxStreams ?? DEFAULT_MAX_IDENTITY_STREAMS
    await handleOneShotProtocol(this.#components.registrar, this.protocol, max, async (s, peer) => await this.handleStream(s, peer))
    // identify tells the registrar which peers speak the protocol: ask those
    this.#topologyId = await this.#components.registrar.register(this.protocol, {
      onConnect: (_peer, connection) => { void this.check(connection) },
      onDisconnect: (peer) => { this.identities.forget(peer.toString()) }
    })
    if (this.identities.requireCertificates) {
      this.#components.events.addEventListener('connection:open', this.#onOpen)
      this.#components.events.addEventListener('connection:close', this.#onClose)
    }
    const everyMs = this.#init.refreshIntervalMs ?? DEFAULT_REFRESH_INTERVAL_MS
    if (everyMs > 0) {
      this.#refreshTimer = setInterval(() => { this.#refreshing ??= this.refresh().finally(() => { this.#refreshing = undefined }) }, everyMs)
      this.#refreshTimer.unref()
    }
    this.#started = true
  }

  async stop (): Promise<void> {
    this.#abort.abort(new StoremeshError('E_ABORTED', 'the identity protocol stopped'))
    clearInterval(this.#refreshTimer)
    this.#refreshTimer = undefined
    this.#components.events.removeEventListener('connection:open', this.#onOpen)
    this.#components.events.removeEventListener('connection:close', this.#onClose)
    for (const t of this.#deadlines.values()) clearTimeout(t)
    this.#deadlines.clear()
    if (this.#topologyId !== undefined) this.#components.registrar.unregister(this.#topologyId)
    await this.#components.registrar.unhandle(this.protocol)
    this.#started = false
  }

  isStarted (): boolean {
    return this.#started
  }

  /** The verified identity of a connected peer (leases and reports bind to it). */
  identityOf (peerId: string): VerifiedIdentity | undefined {
    return this.identities.identityOf(peerId)
  }

  /** A list that came another way (the report answers): in force when newer; revoked peers are refused now. */
  adoptRevocations (list: RevocationList | unknown): boolean {
    const before = this.identities.revocationVersion
    try {
      for (const who of this.identities.adoptRevocations(list)) {
        this.#refuseById(who.peerId, new StoremeshError('E_CERT_REVOKED', `certificate ${who.serial} of device ${who.deviceId} is revoked`,
          { serial: who.serial, device: who.deviceId, revocations: this.identities.revocationVersion }))
      }
    } catch (err) {
      const e = toStoremeshError(err)
      if (e.code === 'E_REVOCATION_ROLLBACK') this.#debug('ignored an older revocation list: %s', e.toLine())
      else this.#log.warn({ code: e.code }, `revocation list ignored: ${e.toLine()}`)
      return false
    }
    const after = this.identities.revocationVersion
    if (after !== before) this.#log.info({ version: after }, `revocation list version ${after} in force`)
    return after !== before
  }

  /**
   * One round of the periodic re-check: refuse peers whose certificate expired while
   * connected, adopt a list dropped into the data dir, and ask our hubs (lists flow
   * down: super hub → hub → devices) whether they hold a newer list. Never throws.
   */
  async refresh (): Promise<void> {
    for (const who of this.identities.expiredPeers()) {
      this.#refuseById(who.peerId, new StoremeshError('E_CERT_EXPIRED', `certificate ${who.serial} of device ${who.deviceId} expired while connected`,
        { serial: who.serial, device: who.deviceId }))
    }
    if (this.#init.readRevocations !== undefined) {
      try {
        const list = await this.#init.readRevocations()
        if (list !== undefined) this.adoptRevocations(list)
      } catch (err) {
        this.#log.warn(`cannot read the revocation list: ${toStoremeshError(err).toLine()}`)
      }
    }
    const upstream = this.#components.connectionManager.getConnections().filter(c => {
      const role = this.identities.identityOf(c.remotePeer.toString())?.role
      return c.status === 'open' && (role === 'hub' || role === 'super-hub')
    })
    await Promise.all(upstream.map(async c => {
      try {
        const res = await this.#ask(c)
        if (res.revocations !== undefined) this.adoptRevocations(res.revocations)
      } catch (err) {
        this.#debug('refresh from %p failed: %s', c.remotePeer, toStoremeshError(err).toLine())
      }
    }))
  }

  /** Our side of one stream: read `{want}`, answer with our certificate (and a newer list). Never throws. */
  async handleStream (stream: Stream, peer?: string): Promise<void> {
    await serveOneRequest(stream, {
      maxRequestBytes: MAX_IDENTITY_REQUEST_BYTES,
      maxResponseBytes: MAX_IDENTITY_RESPONSE_BYTES,
      timeoutMs: this.#timeoutMs,
      log: this.#debug,
      what: 'identity request',
      peer
    }, async (bytes) => {
      const req = decodeIdentityRequest(bytes)
      const list = this.identities.revocationList
      const res: IdentityResponse = { certificate: (this.#init.certificate as unknown as Record<string, unknown> | undefined) ?? null }
      if (list !== undefined && list.signed.version > (req.revocationsVersion ?? 0)) res.revocations = list as unknown as Record<string, unknown>
      return encodeIdentityResponse(res)
    })
  }

  /**
   * Asks the peer of `connection` for its certificate and verifies it; refuses the peer
   * on a bad one (or on none, when certificates are required). Resolves to the identity,
   * or undefined. Never throws.
   */
  async check (connection: Connection): Promise<VerifiedIdentity | undefined> {
    const peer = connection.remotePeer.toString()
    const known = this.identities.identityOf(peer)
    if (known !== undefined || this.#inflight.has(peer) || this.#abort.signal.aborted) return known
    this.#inflight.add(peer)
    try {
      let res: IdentityResponse
      try {
        res = await this.#ask(connection)
      } catch (err) {
        if (this.#abort.signal.aborted) return undefined
        const e = toStoremeshError(err)
        // garbage in the answer is a bad certificate; a timeout, a reset stream or a closed
        // connection (the peer refusing us) is none
        if (isGarbage(e)) this.#refuse(connection.remotePeer, new StoremeshError('E_CERT_INVALID', `bad identity answer: ${e.message}`, { peer }))
        else if (this.identities.requireCertificates) this.#refuse(connection.remotePeer, missingCertificateError(peer, e.toLine()))
        else this.#debug('no certificate from %p: %s', connection.remotePeer, e.toLine())
        return undefined
      }
      if (res.revocations !== undefined) this.adoptRevocations(res.revocations)
      if (res.certificate === null) {
        if (this.identities.requireCertificates) this.#refuse(connection.remotePeer, missingCertificateError(peer, 'it has none'))
        else this.#debug('%p has no certificate', connection.remotePeer)
        return undefined
      }
      try {
        const who = this.identities.verify(peer, res.certificate)
        this.#log.debug({ peer, device: who.deviceId }, `peer ${peer} is ${who.role} ${who.deviceId} of store ${who.storeId}`)
        return who
      } catch (err) {
        if (!isStoremeshError(err)) throw err
        this.#refuse(connection.remotePeer, err)
        return undefined
      }
    } finally {
      this.#inflight.delete(peer)
    }
  }

  async #ask (connection: Connection): Promise<IdentityResponse> {
    const signal = withTimeout(this.#timeoutMs, this.#abort.signal)
    const stream = await connection.newStream(this.protocol, { signal })
    return await requestOverStream(stream, () => encodeIdentityRequest({ want: 'certificate', revocationsVersion: this.identities.revocationVersion }), {
      maxRequestBytes: MAX_IDENTITY_REQUEST_BYTES,
      maxResponseBytes: MAX_IDENTITY_RESPONSE_BYTES,
      timeoutMs: this.#timeoutMs,
      signal,
      decode: decodeIdentityResponse,
      doing: () => `asking ${connection.remotePeer.toString()} for its certificate`,
      label: 'identity',
      abortWhileClosing: true
    })
  }

  #refuse (peer: PeerId, err: unknown): void {
    const e = this.identities.refuse(peer.toString(), err)
    this.#log.warn({ peer: e.peerId, code: e.error.code, reason: e.reason }, `refused peer ${e.peerId}: ${e.error.toLine()}`)
    for (const c of this.#components.connectionManager.getConnections(peer)) {
      c.close({ signal: AbortSignal.timeout(1000) }).catch(() => { c.abort(e.error) })
    }
  }

  #refuseById (peerId: string, err: StoremeshError): void {
    const c = this.#components.connectionManager.getConnections().find(x => x.remotePeer.toString() === peerId)
    if (c !== undefined) this.#refuse(c.remotePeer, err)
    else this.identities.refuse(peerId, err)
  }

  readonly #onOpen = (evt: CustomEvent<Connection>): void => {
    const connection = evt.detail
    const ms = this.#init.presentTimeoutMs ?? DEFAULT_PRESENT_TIMEOUT_MS
    const timer = setTimeout(() => {
      this.#deadlines.delete(connection.id)
      const peer = connection.remotePeer.toString()
      if (connection.status !== 'open' || this.identities.identityOf(peer) !== undefined || this.identities.isDenied(peer)) return
      this.#refuse(connection.remotePeer, missingCertificateError(peer, `not verified within ${ms} ms of connecting`))
    }, ms)
    timer.unref()
    this.#deadlines.set(connection.id, timer)
  }

  readonly #onClose = (evt: CustomEvent<Connection>): void => {
    const t = this.#deadlines.get(evt.detail.id)
    if (t !== undefined) clearTimeout(t)
    this.#deadlines.delete(evt.detail.id)
  }
}
