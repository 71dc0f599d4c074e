/**
 * Install leases, `/storemesh/lease/1.0.0` (DESIGN.md section 4, protocols/lease/SPEC.md):
 * a store hub grants at most `maxConcurrentPerHub` install slots at once; leases
 * expire unless renewed, so a lost device never blocks a slot longer than its TTL.
 *
 * A service layer beside swarm/, wan/, policy/ and install/: it depends on net/
 * (framing, protocol ids) and interface/, and the roles compose it. The wire protocol
 * is in protocol/ (index, constants, messages, the class), the hub's table and the
 * device's keeper beside it:
 *
 * ```ts
 * // store hub
 * const table = await LeaseTable.open({ maxConcurrentPerHub: policy.spec.rollout.maxConcurrentPerHub,
 *   statePath: join(dataDir, LEASE_STATE_FILE) })
 * const hub = await createStoremeshNode({ swarmKey, services: { lease: leaseProtocol({ authority: table }) } })
 *
 * // device
 * const node = await createStoremeshNode({ swarmKey, services: { lease: leaseProtocol() } })
 * const keeper = new LeaseKeeper({ deviceId, client: node.services.lease, hub: () => hubPeerId })
 * facts.lease = keeper.facts()                              // what the hub.lease gate reads
 * await keeper.withLease({ bundleId, waveId }, async () => installer.run())
 * ```
 */
export {
  DEFAULT_LEASE_TTL_MS, LEASE_STATE_FILE, defaultLeaseKeeperOptions, defaultLeaseTableOptions, type LeaseKeeperOptions, type LeaseTableOptions
} from './constants.js'
export {
  LEASE_PROTOCOL, LEASE_PROTOCOL_NAME, LEASE_PROTOCOL_VERSION, DEFAULT_LEASE_TIMEOUT_MS, MAX_LEASE_REQUEST_BYTES, MAX_LEASE_RESPONSE_BYTES,
  decodeLeaseRequest, decodeLeaseResponse, encodeLeaseRequest, encodeLeaseResponse, parseLeaseRequest, parseLeaseResponse,
  LEASE_OPS, LEASE_REASONS, type LeaseOp, type LeaseReason, type LeaseRequest, type LeaseResponse,
  LeaseProtocol, leaseProtocol, type LeaseAuthority, type LeaseClient, type LeaseContext, type LeaseProtocolComponents, type LeaseProtocolInit,
  type LeaseRequestOptions, type LeaseServer, type LeaseTarget
} from './protocol/index.js'
export { LeaseTable, type LeaseEvent, type LeaseRecord, type LeaseTableInit, type LeaseTableRecovery } from './lease-table.js'
export { LeaseKeeper, type LeaseFacts, type LeaseKeeperInit, type LeaseRef, type WaitForLeaseOptions } from './lease-keeper.js'
