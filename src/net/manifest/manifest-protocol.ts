/**
 * `/storemesh/manifest/1.0.0` (protocols/manifest/SPEC.md): one class owns the handler
 * and the client, in the style of js-libp2p's protocol-ping. It takes only the registrar
 * and connection manager, so a test can drive it over an in-memory stream pair with
 * `handleStream()` / `requestOverStream()`.
 *
 * The server needs no store: it is given a `lookup(req)` that returns the manifest
 * file bytes. The client verifies the answer (schema, signatures against the trust
 * keys, expiry, and that it is what was asked for) before returning it.
 */
import type { AbortOptions, Logger, PeerId, Startable, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { decodeManifest, MAX_MANIFEST_BYTES } from '../../bundle/manifest.js'
import { isStoremeshError, StoremeshError } from '../../interface/errors.js'
import type { BundleInfo, TrustOptions } from '../../interface/types.js'
import { handleOneShotProtocol, openProtocolStream, requestOverStream, serveOneRequest, withTimeout } from '../request-response.js'
import {
  DEFAULT_MANIFEST_TIMEOUT_MS, DEFAULT_MAX_MANIFEST_STREAMS, MANIFEST_PROTOCOL, MANIFEST_PROTOCOL_V1_1, MAX_MANIFEST_REQUEST_BYTES,
  MAX_MANIFEST_RESPONSE_BYTES, STATUS
} from './constants.js'
import type { FetchManifestOptions, LookupContext, ManifestClient, ManifestLookup, ManifestProtocolComponents, ManifestProtocolInit } from './index.js'
import {
  decodeManifestRequest, decodeManifestRequestV1_1, decodeManifestResponse, describeManifestRequest as describe, encodeManifestRequest,
  encodeManifestRequestV1_1, encodeManifestResponse, reasonResponse, type ManifestRequest, type ManifestRequestV1_1
} from './messages.js'

export class ManifestProtocol implements Startable, ManifestClient {
  readonly protocol = MANIFEST_PROTOCOL
  readonly #components: ManifestProtocolComponents
  readonly #init: ManifestProtocolInit
  readonly #log: Logger
  readonly #timeoutMs: number
  #started = false

  constructor (components: ManifestProtocolComponents, init: ManifestProtocolInit = {}) {
    this.#components = components
    this.#init = init
    this.#log = components.logger.forComponent('storemesh:manifest')
    this.#timeoutMs = init.timeoutMs ?? DEFAULT_MANIFEST_TIMEOUT_MS
  }

  readonly [Symbol.toStringTag] = 'storemesh/manifest'

  async start (): Promise<void> {
    if (this.#init.lookup !== undefined) {
      const max = this.#init.maxStreams ?? DEFAULT_MAX_MANIFEST_STREAMS
      await handleOneShotProtocol(this.#components.registrar, this.protocol, max, async (s, peer) => await this.handleStream(s, peer))
      await handleOneShotProtocol(this.#components.registrar, MANIFEST_PROTOCOL_V1_1, max, async (s, peer) => await this.handleStream(s, peer, '1.1.0'))
    }
    this.#started = true
  }

  async stop (): Promise<void> {
    if (this.#init.lookup !== undefined) {
      await this.#components.registrar.unhandle(this.protocol)
      await this.#components.registrar.unhandle(MANIFEST_PROTOCOL_V1_1)
    }
    this.#started = false
  }

  isStarted (): boolean {
    return this.#started
  }

  /** The server side of one stream: read the request, answer, half-close. Never throws. */
  async handleStream (stream: Stream, peer?: string, version: '1.0.0' | '1.1.0' = '1.0.0'): Promise<void> {
    const lookup = this.#init.lookup
    await serveOneRequest(stream, {
      maxRequestBytes: MAX_MANIFEST_REQUEST_BYTES,
      maxResponseBytes: MAX_MANIFEST_RESPONSE_BYTES,
      timeoutMs: this.#timeoutMs,
      log: this.#log,
      what: 'manifest request',
      peer,
      assertReady: () => { if (lookup === undefined) throw new StoremeshError('E_INTERNAL', 'no manifest lookup configured') }
    }, async (reqBytes, signal) => {
      let req: ManifestRequestV1_1
      try {
        req = version === '1.1.0' ? decodeManifestRequestV1_1(reqBytes) : decodeManifestRequest(reqBytes)
      } catch (err) {
        return reasonResponse(STATUS.BAD_REQUEST, (err as Error).message)
      }
      if ('rootsAfter' in req) return await this.#answerRoots(req.rootsAfter, { peer, signal })
      return await this.#answer(lookup!, req, { peer, signal })
    })
  }

  async #answerRoots (afterVersion: number, ctx: LookupContext): Promise<Uint8Array> {
    let bytes: Uint8Array | undefined
    try {
      bytes = await this.#init.roots?.(afterVersion, ctx)
    } catch (err) {
      this.#log.error('roots lookup after %d failed: %e', afterVersion, err)
      return reasonResponse(STATUS.ERROR, 'lookup failed')
    }
    if (bytes === undefined) return reasonResponse(STATUS.NOT_FOUND, `no root newer than version ${afterVersion}`)
    if (bytes.byteLength > MAX_MANIFEST_BYTES) return reasonResponse(STATUS.ERROR, 'roots over the size limit')
    return encodeManifestResponse(STATUS.OK, bytes)
  }

  async #answer (lookup: ManifestLookup, req: ManifestRequest, ctx: LookupContext): Promise<Uint8Array> {
    let bytes: Uint8Array | undefined
    try {
      bytes = await lookup(req, ctx)
    } catch (err) {
      this.#log.error('manifest lookup for %s failed: %e', describe(req), err)
      return reasonResponse(STATUS.ERROR, 'lookup failed')
    }
    if (bytes === undefined) return reasonResponse(STATUS.NOT_FOUND, `no manifest for ${describe(req)}`)
    if (bytes.byteLength > MAX_MANIFEST_BYTES) {
      this.#log.error('manifest for %s is %d bytes, over the limit', describe(req), bytes.byteLength)
      return reasonResponse(STATUS.ERROR, 'manifest over the size limit')
    }
    return encodeManifestResponse(STATUS.OK, bytes)
  }

  /**
   * Asks `peer` for a manifest and returns it verified. Throws E_BUNDLE_NOT_FOUND
   * (peer has none), E_PEER_ERROR, E_WIRE_* / E_TIMEOUT, or the verification errors
   * of decodeManifest (E_SIGNATURE_*, E_MANIFEST_*), or E_MANIFEST_INVALID when the
   * answer is a valid manifest for something else.
   */
  async fetch (peer: PeerId | Multiaddr | Multiaddr[], req: ManifestRequest, options: FetchManifestOptions = {}): Promise<BundleInfo> {
    const signal = withTimeout(options.timeoutMs ?? this.#timeoutMs, options.signal)
    const stream = await openProtocolStream(this.#components.connectionManager, peer, this.protocol, signal)
    return await this.requestOverStream(stream, req, { ...options, signal })
  }

  /**
   * 1.1.0: asks `peer` for its roots of trust newer than `afterVersion`. Returns the
   * chain bytes unverified (the caller walks them), or undefined when the peer has
   * none newer or speaks only 1.0.0. E_PEER_ERROR, E_WIRE_* / E_TIMEOUT otherwise.
   */
  async fetchRoots (peer: PeerId | Multiaddr | Multiaddr[], afterVersion: number, options: AbortOptions & { timeoutMs?: number } = {}): Promise<Uint8Array | undefined> {
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs
    const signal = withTimeout(timeoutMs, options.signal)
    let stream: Stream
    try {
      stream = await openProtocolStream(this.#components.connectionManager, peer, MANIFEST_PROTOCOL_V1_1, signal)
    } catch (err) {
      // a 1.0.0-only peer: it has no roots to give
      if (isStoremeshError(err, 'E_NOT_CONNECTED') && (err.cause as Error | undefined)?.name === 'UnsupportedProtocolError') return undefined
      throw err
    }
    return await this.requestRootsOverStream(stream, afterVersion, { timeoutMs, signal })
  }

  async requestRootsOverStream (stream: Stream, afterVersion: number, options: AbortOptions & { timeoutMs?: number } = {}): Promise<Uint8Array | undefined> {
    const req = { rootsAfter: afterVersion }
    return await requestOverStream(stream, () => encodeManifestRequestV1_1(req), {
      maxRequestBytes: MAX_MANIFEST_REQUEST_BYTES,
      maxResponseBytes: MAX_MANIFEST_RESPONSE_BYTES,
      timeoutMs: options.timeoutMs ?? this.#timeoutMs,
      signal: options.signal,
      decode: (answer) => {
        const { status, body, reason } = decodeManifestResponse(answer)
        if (status === STATUS.OK) return body
        if (status === STATUS.NOT_FOUND) return undefined
        if (status === STATUS.BAD_REQUEST || status === STATUS.ERROR) throw new StoremeshError('E_PEER_ERROR', `peer answered ${status === STATUS.ERROR ? 'error' : 'bad request'} for ${describe(req)}`, { reason })
        throw new StoremeshError('E_WIRE_MALFORMED', `unknown manifest response status ${String(answer[0])}`)
      },
      doing: () => `asking for ${describe(req)}`,
      label: 'manifest'
    })
  }

  /** The client side over an already open stream (tests use an in-memory pair). */
  async requestOverStream (stream: Stream, req: ManifestRequest, options: FetchManifestOptions = {}): Promise<BundleInfo> {
    const trust = options.trust ?? this.#init.trust
    if (trust === undefined) throw new StoremeshError('E_INVALID_ARGUMENT', 'fetching a manifest needs trust keys')
    return await requestOverStream(stream, () => encodeManifestRequest(req), {
      maxRequestBytes: MAX_MANIFEST_REQUEST_BYTES,
      maxResponseBytes: MAX_MANIFEST_RESPONSE_BYTES,
      timeoutMs: options.timeoutMs ?? this.#timeoutMs,
      signal: options.signal,
      decode: (answer) => this.#verify(answer, req, trust),
      doing: () => `asking for ${describe(req)}`,
      label: 'manifest'
    })
  }

  #verify (answer: Uint8Array, req: ManifestRequest, trust: TrustOptions): BundleInfo {
    const { status, body, reason } = decodeManifestResponse(answer)
    if (status !== STATUS.OK) {
      if (status === STATUS.NOT_FOUND) throw new StoremeshError('E_BUNDLE_NOT_FOUND', `peer has no manifest for ${describe(req)}`, { reason })
      if (status === STATUS.BAD_REQUEST || status === STATUS.ERROR) {
        throw new StoremeshError('E_PEER_ERROR', `peer answered ${status === STATUS.ERROR ? 'error' : 'bad request'} for ${describe(req)}`, { reason })
      }
      throw new StoremeshError('E_WIRE_MALFORMED', `unknown manifest response status ${String(answer[0])}`)
    }
    const info = decodeManifest(body, trust)
    if ('bundleId' in req && info.id !== req.bundleId) {
      throw new StoremeshError('E_MANIFEST_INVALID', `asked for ${req.bundleId}, peer sent ${info.id}`, { asked: req.bundleId, got: info.id })
    }
    if ('deviceClass' in req && info.manifest.signed.deviceClass !== req.deviceClass) {
      throw new StoremeshError('E_MANIFEST_INVALID', `asked for device class ${req.deviceClass}, peer sent ${info.manifest.signed.deviceClass}`,
        { asked: req.deviceClass, got: info.manifest.signed.deviceClass })
    }
    return info
  }
}
