/**
 * `/storemesh/lease/1.0.0` (DESIGN.md section 4, protocols/lease/SPEC.md): a device asks
 * its store hub for one of the store's install slots (shape of js-libp2p's
 * protocol-ping: interface, Init, factory).
 *
 * ```ts
 * const table = await LeaseTable.open({ maxConcurrentPerHub: 4, statePath })     // src/lease/lease-table.ts
 * const hub = await createStoremeshNode({ swarmKey, services: { lease: leaseProtocol({ authority: table }) } })
 * const device = await createStoremeshNode({ swarmKey, services: { lease: leaseProtocol() } })
 * const res = await device.services.lease.request(hubAddr, { op: 'acquire', deviceId, bundleId, waveId })
 * ```
 *
 * Where to look: constants.ts (id, limits, syntax), messages.ts (the zod schemas of the
 * request and the response), lease-protocol.ts (the class, handler and client). The
 * lease table (the hub's decisions) and the keeper (the device's renewals) are one
 * folder up; the framing is src/net/length-prefixed.ts.
 */
import type { AbortOptions } from '@libp2p/interface'
import type { ProtocolTarget, RequestResponseComponents } from '../../net/request-response.js'
import { LeaseProtocol } from './lease-protocol.js'
import type { LeaseRequest, LeaseResponse } from './messages.js'

export {
  LEASE_PROTOCOL, LEASE_PROTOCOL_NAME, LEASE_PROTOCOL_VERSION, MAX_LEASE_REQUEST_BYTES, MAX_LEASE_RESPONSE_BYTES, MAX_LEASE_DETAIL_CHARS,
  MAX_WIRE_TTL_MS, DEFAULT_LEASE_TIMEOUT_MS, DEFAULT_MAX_LEASE_STREAMS
} from './constants.js'
export {
  decodeLeaseRequest, decodeLeaseResponse, encodeLeaseRequest, encodeLeaseResponse, isLeaseId, leaseRequestSchema, leaseResponseSchema,
  parseLeaseRequest, parseLeaseResponse, LEASE_OPS, LEASE_REASONS, type LeaseOp, type LeaseReason, type LeaseRequest, type LeaseResponse
} from './messages.js'
export { LeaseProtocol } from './lease-protocol.js'

/** The registrar, connection manager and logger; a libp2p node's components fit. */
export type LeaseProtocolComponents = RequestResponseComponents

export interface LeaseContext {
  /** the asking libp2p peer, as a string */
  peer?: string
}

/** What the protocol handler needs from the hub: one answer per request. */
export interface LeaseAuthority {
  respond(req: LeaseRequest, ctx?: LeaseContext): Promise<LeaseResponse>
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
  /**
   * Node identity (src/identity/ PeerIdentities.boundDeviceId): the device id the asking
   * peer is certified for, `null` for none, `undefined` for any. A request for another
   * device id is denied `wrong-peer`. Absent: any (no identities).
   */
  deviceIdOf?: (peerId: string) => string | null | undefined
  /** a request denied `wrong-peer` (counted as a refusal: PeerIdentities.refuseAct) */
  onUnbound?: (peerId: string, detail: string) => void
}

export type LeaseTarget = ProtocolTarget

export interface LeaseRequestOptions extends AbortOptions {
  timeoutMs?: number
}

/** What a device needs of the protocol; LeaseKeeper takes this, tests can fake it. */
export interface LeaseClient {
  request(hub: LeaseTarget, req: LeaseRequest, options?: LeaseRequestOptions): Promise<LeaseResponse>
}

/** Factory for `services: { lease: leaseProtocol({ authority: table }) }` (hub) or `leaseProtocol()` (device). */
export function leaseProtocol (init: LeaseProtocolInit = {}): (components: LeaseProtocolComponents) => LeaseProtocol {
  return (components) => new LeaseProtocol(components, init)
}
