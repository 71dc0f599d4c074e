/**
 * `/storemesh/identity/1.0.0` (protocols/identity/SPEC.md section 7): after the Noise
 * handshake and identify, each side asks the other for its certificate, verifies it
 * against the connection's remote peer, and keeps the verified identity in a shared
 * PeerIdentities (../peer-identities.ts) for the gater, the chunk protocol, leases and
 * reports (shape of js-libp2p's protocol-ping: interface, Init, factory).
 *
 * ```ts
 * const identities = new PeerIdentities({ trust: enrolmentKeys, requireCertificates: true })
 * const node = await createStoremeshNode({
 *   swarmKey, gater: identityGater(identities),
 *   services: { identity: identityProtocol({ identities, certificate }), chunks: chunkProtocol({ store, isAllowed: id => identities.isAllowed(id) }) }
 * })
 * ```
 *
 * Where to look: constants.ts (id, limits, defaults), messages.ts (zod schemas),
 * identity-protocol.ts (the class: handler, client, refusals).
 */
import type { ComponentLogger, Connection, Libp2pEvents, TypedEventTarget } from '@libp2p/interface'
import type { Log } from '../../interface/log.js'
import type { RequestResponseComponents } from '../../net/request-response.js'
import type { NodeCertificate } from '../certificate.js'
import type { PeerIdentities } from '../peer-identities.js'
import { IdentityProtocol } from './identity-protocol.js'

export {
  IDENTITY_PROTOCOL, IDENTITY_PROTOCOL_NAME, IDENTITY_PROTOCOL_VERSION, MAX_IDENTITY_REQUEST_BYTES, MAX_IDENTITY_RESPONSE_BYTES,
  DEFAULT_IDENTITY_TIMEOUT_MS, DEFAULT_PRESENT_TIMEOUT_MS, DEFAULT_MAX_IDENTITY_STREAMS, DEFAULT_REFRESH_INTERVAL_MS
} from './constants.js'
export {
  decodeIdentityRequest, decodeIdentityResponse, encodeIdentityRequest, encodeIdentityResponse, identityRequestSchema,
  identityResponseSchema, type IdentityRequest, type IdentityResponse
} from './messages.js'
export { IdentityProtocol } from './identity-protocol.js'

/** The registrar (with topologies), the connection manager, the event bus and the logger. */
export interface IdentityProtocolComponents extends RequestResponseComponents {
  registrar: RequestResponseComponents['registrar'] & {
    register(protocol: string, topology: { onConnect?: (peer: Connection['remotePeer'], c: Connection) => void | Promise<void>, onDisconnect?: (peer: Connection['remotePeer']) => void | Promise<void> }): Promise<string>
    unregister(id: string): void
  }
  connectionManager: RequestResponseComponents['connectionManager'] & {
    getConnections(peerId?: Connection['remotePeer']): Connection[]
  }
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

export interface IdentityProtocolInit {
  /** shared with the gater and the chunk protocol */
  identities: PeerIdentities
  /** this node's certificate; absent: it answers `null` (an uncertified node) */
  certificate?: NodeCertificate
  /** refusals and verifications are logged here. @default silentLog */
  log?: Log
  /** @default DEFAULT_IDENTITY_TIMEOUT_MS */
  timeoutMs?: number
  /** @default DEFAULT_PRESENT_TIMEOUT_MS */
  presentTimeoutMs?: number
  /** @default DEFAULT_MAX_IDENTITY_STREAMS */
  maxStreams?: number
  /** @default DEFAULT_REFRESH_INTERVAL_MS; 0: never */
  refreshIntervalMs?: number
  /** read at each refresh: a list an operator dropped in (the super hub's `<data>/revocations.json`) */
  readRevocations?: () => Promise<unknown>
}

/** Factory for `services: { identity: identityProtocol({ identities, certificate }) }`. */
export function identityProtocol (init: IdentityProtocolInit): (components: IdentityProtocolComponents) => IdentityProtocol {
  return (components) => new IdentityProtocol(components, init)
}
