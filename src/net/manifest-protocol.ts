/**
 * `/storemesh/manifest/1.0.0` (protocols/manifest/SPEC.md): ask a peer for the signed
 * manifest of a bundle id, or the newest one for a device class. One class owns the
 * handler and the client, in the style of js-libp2p's protocol-ping: it takes only the
 * registrar and connection manager, so a test can drive it over an in-memory stream
 * pair with `handleStream()` / `requestOverStream()`.
 *
 * The server needs no store: it is given a `lookup(req)` that returns the manifest
 * file bytes. The client verifies the answer (schema, signatures against the trust
 * keys, expiry, and that it is what was asked for) before returning it.
 */
import type { AbortOptions, Logger, PeerId, Startable, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { decodeManifest, MAX_MANIFEST_BYTES } from '../bundle/manifest.js'
import { StoremeshError } from '../interface/errors.js'
import type { BundleInfo, TrustOptions } from '../interface/types.js'
import { formatProtocolId } from './protocol-id.js'
import {
  handleOneShotProtocol, openProtocolStream, requestOverStream, serveOneRequest, withTimeout,
  type RequestResponseComponents
} from './request-response.js'

export const MANIFEST_PROTOCOL_NAME = 'manifest'
export const MANIFEST_PROTOCOL_VERSION = '1.0.0'
/** `/storemesh/manifest/1.0.0` */
export const MANIFEST_PROTOCOL = formatProtocolId(MANIFEST_PROTOCOL_NAME, MANIFEST_PROTOCOL_VERSION)

/** SPEC.md "Limits": a request is a tiny JSON object. */
export const MAX_MANIFEST_REQUEST_BYTES = 1024
/** SPEC.md "Limits": one status byte and a manifest of at most MAX_MANIFEST_BYTES (4 MiB). */
export const MAX_MANIFEST_RESPONSE_BYTES = 1 + MAX_MANIFEST_BYTES
/** Error responses carry a short UTF-8 reason. */
export const MAX_REASON_BYTES = 512
/** @default 30 s for the whole exchange (a 4 MiB answer on a slow store LAN) */
export const DEFAULT_MANIFEST_TIMEOUT_MS = 30_000
/** One request at a time is normal; a few allow retries while one is stuck. */
export const DEFAULT_MAX_MANIFEST_STREAMS = 4

/** Response status byte (SPEC.md "Response"). */
export const STATUS = { OK: 0, NOT_FOUND: 1, BAD_REQUEST: 2, ERROR: 3 } as const
type Status = typeof STATUS[keyof typeof STATUS]

export type ManifestRequest = { bundleId: string } | { deviceClass: string }

export interface LookupContext {
  /** the asking peer, as a string */
  peer?: string
  signal: AbortSignal
}

/** Returns the manifest file bytes (bundle.json), or undefined when not held. */
export type ManifestLookup = (req: ManifestRequest, ctx: LookupContext) => Promise<Uint8Array | undefined>

export type ManifestProtocolComponents = RequestResponseComponents

export interface ManifestProtocolInit {
  /** serve requests with this; without it no handler is registered (client only) */
  lookup?: ManifestLookup
  /** the default trust for fetch(); a call may pass its own */
  trust?: TrustOptions
  /** @default DEFAULT_MANIFEST_TIMEOUT_MS */
  timeoutMs?: number
  /** @default DEFAULT_MAX_MANIFEST_STREAMS, per connection and direction */
  maxStreams?: number
}

export interface FetchManifestOptions extends AbortOptions {
  trust?: TrustOptions
  timeoutMs?: number
}

const BUNDLE_ID_RE = /^b3:[0-9a-f]{64}$/
const DEVICE_CLASS_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

/** Strict: exactly one of the two fields, well formed; anything else is E_WIRE_MALFORMED. */
export function parseManifestRequest (x: unknown): ManifestRequest {
  const bad = (why: string): never => { throw new StoremeshError('E_WIRE_MALFORMED', `bad manifest request: ${why}`) }
  if (x === null || typeof x !== 'object' || Array.isArray(x)) return bad('not an object')
  const keys = Object.keys(x)
  if (keys.length !== 1) return bad('exactly one of bundleId or deviceClass')
  const o = x as Record<string, unknown>
  if (keys[0] === 'bundleId' && typeof o.bundleId === 'string' && BUNDLE_ID_RE.test(o.bundleId)) return { bundleId: o.bundleId }
  if (keys[0] === 'deviceClass' && typeof o.deviceClass === 'string' && DEVICE_CLASS_RE.test(o.deviceClass)) {
    return { deviceClass: o.deviceClass }
  }
  return bad(`invalid ${keys[0] ?? 'field'}`)
}

export function encodeManifestRequest (req: ManifestRequest): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(parseManifestRequest(req)))
}

export function decodeManifestRequest (bytes: Uint8Array): ManifestRequest {
  let x: unknown
  try {
    x = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch {
    throw new StoremeshError('E_WIRE_MALFORMED', 'bad manifest request: not UTF-8 JSON')
  }
  return parseManifestRequest(x)
}

function response (status: Status, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + body.byteLength)
  out[0] = status
  out.set(body, 1)
  return out
}

function reason (text: string): Uint8Array {
  return new TextEncoder().encode(text).subarray(0, MAX_REASON_BYTES)
}

function describe (req: ManifestRequest): string {
  return 'bundleId' in req ? `bundle ${req.bundleId}` : `device class ${req.deviceClass}`
}

export class ManifestProtocol implements Startable {
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
    }
    this.#started = true
  }

  async stop (): Promise<void> {
    if (this.#init.lookup !== undefined) await this.#components.registrar.unhandle(this.protocol)
    this.#started = false
  }

  isStarted (): boolean {
    return this.#started
  }

  /** The server side of one stream: read the request, answer, half-close. Never throws. */
  async handleStream (stream: Stream, peer?: string): Promise<void> {
    const lookup = this.#init.lookup
    await serveOneRequest(stream, {
      maxRequestBytes: MAX_MANIFEST_REQUEST_BYTES,
      timeoutMs: this.#timeoutMs,
      log: this.#log,
      what: 'manifest request',
      peer,
      assertReady: () => { if (lookup === undefined) throw new StoremeshError('E_INTERNAL', 'no manifest lookup configured') }
    }, async (reqBytes, signal) => {
      let req: ManifestRequest
      try {
        req = decodeManifestRequest(reqBytes)
      } catch (err) {
        return response(STATUS.BAD_REQUEST, reason((err as Error).message))
      }
      return await this.#answer(lookup!, req, { peer, signal })
    })
  }

  async #answer (lookup: ManifestLookup, req: ManifestRequest, ctx: LookupContext): Promise<Uint8Array> {
    let bytes: Uint8Array | undefined
    try {
      bytes = await lookup(req, ctx)
    } catch (err) {
      this.#log.error('manifest lookup for %s failed: %e', describe(req), err)
      return response(STATUS.ERROR, reason('lookup failed'))
    }
    if (bytes === undefined) return response(STATUS.NOT_FOUND, reason(`no manifest for ${describe(req)}`))
    if (bytes.byteLength > MAX_MANIFEST_BYTES) {
      this.#log.error('manifest for %s is %d bytes, over the limit', describe(req), bytes.byteLength)
      return response(STATUS.ERROR, reason('manifest over the size limit'))
    }
    return response(STATUS.OK, bytes)
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

  /** The client side over an already open stream (tests use an in-memory pair). */
  async requestOverStream (stream: Stream, req: ManifestRequest, options: FetchManifestOptions = {}): Promise<BundleInfo> {
    const trust = options.trust ?? this.#init.trust
    if (trust === undefined) throw new StoremeshError('E_INVALID_ARGUMENT', 'fetching a manifest needs trust keys')
    return await requestOverStream(stream, () => encodeManifestRequest(req), {
      maxResponseBytes: MAX_MANIFEST_RESPONSE_BYTES,
      timeoutMs: options.timeoutMs ?? this.#timeoutMs,
      signal: options.signal,
      decode: (answer) => this.#verify(answer, req, trust),
      doing: () => `asking for ${describe(req)}`,
      label: 'manifest'
    })
  }

  #verify (answer: Uint8Array, req: ManifestRequest, trust: TrustOptions): BundleInfo {
    const status = answer[0]
    const body = answer.subarray(1)
    if (status !== STATUS.OK) {
      const text = new TextDecoder().decode(body.subarray(0, MAX_REASON_BYTES))
      if (status === STATUS.NOT_FOUND) throw new StoremeshError('E_BUNDLE_NOT_FOUND', `peer has no manifest for ${describe(req)}`, { reason: text })
      if (status === STATUS.BAD_REQUEST || status === STATUS.ERROR) {
        throw new StoremeshError('E_PEER_ERROR', `peer answered ${status === STATUS.ERROR ? 'error' : 'bad request'} for ${describe(req)}`, { reason: text })
      }
      throw new StoremeshError('E_WIRE_MALFORMED', `unknown manifest response status ${String(status)}`)
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

/** Factory for `services: { manifest: manifestProtocol({ lookup, trust }) }`. */
export function manifestProtocol (init: ManifestProtocolInit = {}): (components: ManifestProtocolComponents) => ManifestProtocol {
  return (components) => new ManifestProtocol(components, init)
}
