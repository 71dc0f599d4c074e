/**
 * `/storemesh/report/1.0.0` and `/storemesh/report/1.1.0` (DESIGN.md sections 4 and 9,
 * protocols/report/SPEC.md): devices send their journal to the store hub, store hubs
 * their condensed ledger to the super hub; every answer carries the ack and the wave
 * orders (and, on 1.1.0, the asking device's own orders). Shape of js-libp2p's
 * protocol-ping: interface, Init, factory.
 *
 * ```ts
 * // store hub: serves devices
 * const hub = await createStoremeshNode({ swarmKey, services: { report: reportProtocol({ devices: hubLedger }) } })
 * // super hub: serves hubs
 * const sup = await createStoremeshNode({ swarmKey, services: { report: reportProtocol({ hubs: superLedger }) } })
 * // device: client only; a node built with fixed services mounts it with reportProtocolOn(node)
 * const ack = await dev.services.report.send(hubAddr, { type: 'device-events', deviceId, entries })
 * ```
 *
 * Where to look: constants.ts (ids, limits, syntax), messages.ts (the zod schemas of
 * batches, answers and orders), report-protocol.ts (the class, handler and client).
 * The ledgers and uplinks that use it are one folder up; the framing is
 * src/net/length-prefixed.ts.
 */
import type { AbortOptions, Libp2p } from '@libp2p/interface'
import type { ProtocolTarget, RequestResponseComponents } from '../../net/request-response.js'
import type { HeldSlotsInit, ChangeFeed } from './long-poll.js'
import type { DeviceBatch, HubBatch, ReportAck } from './messages.js'
import type { Have, PollExtras, ReportAckV12, ReportRequestV12, TrustNews } from './messages-v12.js'
import { ReportProtocol } from './report-protocol.js'

export {
  REPORT_PROTOCOL, REPORT_PROTOCOL_NAME, REPORT_PROTOCOL_VERSION, REPORT_PROTOCOL_V1_1, REPORT_PROTOCOL_V1_1_VERSION,
  REPORT_PROTOCOL_V1_2, REPORT_PROTOCOL_V1_2_VERSION, MAX_REPORT_WAIT_MS, DEFAULT_REPORT_WAIT_MS, MAX_FLEET_ORDERS, MAX_HOLDINGS_BUNDLES,
  MAX_REPORT_REQUEST_BYTES, MAX_REPORT_RESPONSE_BYTES, MAX_BATCH_ENTRIES, MAX_ORDERS, MAX_DEVICE_ORDERS, MAX_WIRE_ENTRY_BYTES, MAX_REASON_CHARS,
  DEFAULT_REPORT_TIMEOUT_MS, DEFAULT_MAX_REPORT_STREAMS
} from './constants.js'
export {
  DEVICE_WAVE_STATES, WAVE_ACTIONS, DEVICE_ACTIONS, decodeReportRequest, decodeReportResponse, encodeReportRequest, encodeReportResponse,
  entryBytes, newestOrders, parseJournalEntry, parseLedgerDelta, parseReportRequest, parseReportResponse, parseWaveOrder, parseDeviceOrder,
  toWireEntry, journalEntrySchema, ledgerDeltaSchema, reportRequestSchema, reportResponseSchemaV1, reportResponseSchemaV1_1, waveOrderSchema,
  deviceOrderSchema, type DeviceAction, type DeviceOrder, type DeviceBatch, type DeviceWaveState, type HubBatch, type LedgerDelta,
  type ReportAck, type ReportError, type ReportRequest, type ReportResponse, type ResponseVersion, type WaveAction, type WaveOrder
} from './messages.js'
export {
  FLEET_ORDER_ACTIONS, decodeReportRequestV12, decodeReportResponseV12, encodeReportRequestV12, encodeReportResponseV12, orderCursorOf,
  parseReportRequestV12, parseReportResponseV12, fleetOrderSchema, type FleetOrderAction, type FleetOrderWire, type Have, type PollExtras,
  type ReportAckV12, type ReportRequestV12, type ReportResponseV12, type TrustNews, type BundleHolding, type Holdings
} from './messages-v12.js'
export { ChangeFeed, HeldSlots, type HeldSlotsInit } from './long-poll.js'
export { ReportProtocol, protocolFor } from './report-protocol.js'

/** What a sink is told of the request beyond the batch: its 1.2.0 members (empty before 1.2.0). */
export interface SinkContext {
  peer?: string
  poll?: PollExtras
}

/** The registrar, connection manager and logger; a libp2p node's components fit. */
export type ReportProtocolComponents = RequestResponseComponents

/** The store hub side: a HubLedger fits. */
export interface DeviceReportSink {
  acceptDeviceBatch(batch: DeviceBatch, ctx: SinkContext): Promise<ReportAck | ReportAckV12>
}

/** The super hub side: a SuperLedger fits. */
export interface HubReportSink {
  acceptHubBatch(batch: HubBatch, ctx: SinkContext): Promise<ReportAck | ReportAckV12>
}

export interface ReportProtocolInit {
  /** accept device batches with this (store hub); absent: device batches get `wrong-role` */
  devices?: DeviceReportSink
  /** accept hub batches with this (super hub); absent: hub batches get `wrong-role` */
  hubs?: HubReportSink
  /** @default DEFAULT_REPORT_TIMEOUT_MS, the whole exchange on either side */
  timeoutMs?: number
  /** @default DEFAULT_MAX_REPORT_STREAMS, per connection and direction */
  maxStreams?: number
  /** what wakes held 1.2.0 requests; @default a new ChangeFeed (the protocol's `changes`) */
  changes?: ChangeFeed
  /** bounds on held 1.2.0 requests; @default DEFAULT_MAX_HELD_PER_PEER / DEFAULT_MAX_HELD_TOTAL */
  held?: HeldSlotsInit
  /**
   * Node identity (src/identity/ PeerIdentities.boundDeviceId): the device id the
   * sending peer is certified for, `null` for none, `undefined` for any. A device batch
   * for another device id gets `bad-request` (E_CERT_MISMATCH in the detail). Absent: any.
   */
  deviceIdOf?: (peerId: string) => string | null | undefined
  /**
   * Node identity (PeerIdentities.boundHubIds): the hub ids the sending peer may report
   * as, `null` for none, `undefined` for any. A hub batch under another hub id gets
   * `bad-request` (E_CERT_MISMATCH in the detail). Absent: any.
   */
  hubIdsOf?: (peerId: string) => readonly string[] | null | undefined
  /**
   * 1.2.0 `trust` in answers (roots, revocation list, timestamp statement the asker's
   * `have` lacks): src/roles/trust-exchange.ts. Absent: answers carry none.
   */
  trust?: { newsFor: (have: Have | undefined) => Promise<TrustNews | undefined> }
  /** a report refused for an id the peer is not certified for (counted as a refusal: PeerIdentities.refuseAct) */
  onUnbound?: (peerId: string, detail: string) => void
}

export type ReportTarget = ProtocolTarget

export interface ReportRequestOptions extends AbortOptions {
  timeoutMs?: number
  /**
   * The protocol the stream speaks. @default REPORT_PROTOCOL_V1_2, and for a peer found
   * not to speak it REPORT_PROTOCOL_V1_1 for device batches (the answer may carry device
   * orders), REPORT_PROTOCOL for hub batches; its 1.2.0 members are then left out
   */
  protocol?: string
}

/** What the uplinks need of the protocol; tests can fake it. */
export interface ReportClient {
  /** an answer with `orderCursor` came over 1.2.0; without, the peer spoke 1.1.0 / 1.0.0 */
  send(target: ReportTarget, req: ReportRequestV12, options?: ReportRequestOptions): Promise<ReportAckV12>
}

/** Factory for `services: { report: reportProtocol({ devices: hubLedger }) }` and the like. */
export function reportProtocol (init: ReportProtocolInit = {}): (components: ReportProtocolComponents) => ReportProtocol {
  return (components) => new ReportProtocol(components, init)
}

/** What reportProtocolOn() needs of a running libp2p node. */
export type ReportNode = Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol' | 'logger'>

/**
 * The report service mounted on a node that is already running (the roles' LanPeer
 * nodes are built with fixed services): the registrar and connection manager are the
 * node's own handle/unhandle/dialProtocol. Call start() to serve (with a sink).
 */
export function reportProtocolOn (node: ReportNode, init: ReportProtocolInit = {}): ReportProtocol {
  return new ReportProtocol({
    registrar: { handle: async (p, h, o) => { await node.handle(p, h, o) }, unhandle: async p => { await node.unhandle(p) } },
    connectionManager: { openStream: async (peer, protocol, options) => await node.dialProtocol(peer, protocol, options) },
    logger: node.logger
  }, init)
}
