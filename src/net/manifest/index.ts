/**
 * `/storemesh/manifest/1.0.0` (DESIGN.md section 4, protocols/manifest/SPEC.md): ask a
 * peer for the signed manifest of a bundle id, or the newest one for a device class
 * (shape of js-libp2p's protocol-ping: interface, Init, factory).
 *
 * ```ts
 * // serving side (store hub, super hub, any peer with a store)
 * const node = await createStoremeshNode({ swarmKey, services: { manifest: manifestProtocol({ lookup, trust }) } })
 * // asking side: the answer is verified against the trust keys before it is returned
 * const info = await node.services.manifest.fetch(hubAddr, { deviceClass: 'pos' })
 * ```
 *
 * Where to look: constants.ts (id, limits, status bytes), messages.ts (the request's
 * zod schema and the response's status byte), manifest-protocol.ts (the class, handler
 * and client). The framing is src/net/length-prefixed.ts, the one-shot exchange
 * src/net/request-response.ts, shared by lease and report.
 */
import type { AbortOptions, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { BundleInfo, TrustOptions } from '../../interface/types.js'
import type { RequestResponseComponents } from '../request-response.js'
import { ManifestProtocol } from './manifest-protocol.js'
import type { ManifestRequest } from './messages.js'

export {
  MANIFEST_PROTOCOL, MANIFEST_PROTOCOL_V1_1, MANIFEST_PROTOCOL_NAME, MANIFEST_PROTOCOL_VERSION, MAX_MANIFEST_REQUEST_BYTES, MAX_MANIFEST_RESPONSE_BYTES,
  MAX_REASON_BYTES, DEFAULT_MANIFEST_TIMEOUT_MS, DEFAULT_MAX_MANIFEST_STREAMS, STATUS, type Status
} from './constants.js'
export {
  decodeManifestRequest, decodeManifestRequestV1_1, decodeManifestResponse, encodeManifestRequest, encodeManifestRequestV1_1,
  encodeManifestResponse, manifestRequestSchema, manifestRequestSchemaV1_1, parseManifestRequest,
  type ManifestRequest, type ManifestRequestV1_1, type ManifestResponse, type RootsRequest
} from './messages.js'
export { ManifestProtocol } from './manifest-protocol.js'

export interface LookupContext {
  /** the asking peer, as a string */
  peer?: string
  signal: AbortSignal
}

/** Returns the manifest file bytes (bundle.json), or undefined when not held. */
export type ManifestLookup = (req: ManifestRequest, ctx: LookupContext) => Promise<Uint8Array | undefined>

/**
 * 1.1.0: the roots of trust newer than `afterVersion` as chain bytes (protocols/root/
 * SPEC.md "Chain"), or undefined when the peer has none newer. Opaque here: the asker
 * walks and verifies them (src/identity/root/).
 */
export type RootsLookup = (afterVersion: number, ctx: LookupContext) => Promise<Uint8Array | undefined>

/** The registrar, connection manager and logger; a libp2p node's components fit. */
export type ManifestProtocolComponents = RequestResponseComponents

export interface ManifestProtocolInit {
  /** serve requests with this; without it no handler is registered (client only) */
  lookup?: ManifestLookup
  /** answers 1.1.0's `{rootsAfter}`; without it such requests are answered not-found */
  roots?: RootsLookup
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

/** What a peer that asks for manifests needs (ManifestProtocol is one). */
export interface ManifestClient {
  /** Asks `peer` and returns the manifest verified against the trust keys (see ManifestProtocol.fetch). */
  fetch(peer: PeerId | Multiaddr | Multiaddr[], req: ManifestRequest, options?: FetchManifestOptions): Promise<BundleInfo>
  /** 1.1.0: the peer's roots newer than `afterVersion`, unverified chain bytes; undefined when none (or a 1.0.0-only peer) */
  fetchRoots(peer: PeerId | Multiaddr | Multiaddr[], afterVersion: number, options?: AbortOptions & { timeoutMs?: number }): Promise<Uint8Array | undefined>
}

/** Factory for `services: { manifest: manifestProtocol({ lookup, trust }) }`. */
export function manifestProtocol (init: ManifestProtocolInit = {}): (components: ManifestProtocolComponents) => ManifestProtocol {
  return (components) => new ManifestProtocol(components, init)
}
