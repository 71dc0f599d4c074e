/**
 * The wave ledger, `/storemesh/report/1.0.0` (DESIGN.md sections 4 and 9,
 * protocols/report/SPEC.md): devices report their journal to the store hub, the hub
 * condenses it per wave and pushes the changes to its super hub, the super hub sums
 * them across stores and halts a wave whose rollback ratio passes the policy's limit;
 * the halt comes back down in the answers and hubs obey it offline.
 *
 * ```ts
 * // store hub
 * const ledger = await HubLedger.open(dataDir)
 * const node = await createStoremeshNode({ swarmKey, services: { report: reportProtocol({ devices: ledger }) } })
 * const up = new HubUplink({ hubId: 'store-0042', ledger, client: node.services.report, superHub: () => superAddr })
 * up.start()
 * facts.fleet = ledger.fleetFacts(waveId)                  // wave.paused / fleet.halt gates
 * await ledger.waves()                                     // counts per wave and state, halt state
 *
 * // super hub
 * const agg = await SuperLedger.open(dataDir, { haltOnRollbackRatio: policy.spec.rollout.haltOnRollbackRatio })
 * const node = await createStoremeshNode({ swarmKey, services: { report: reportProtocol({ hubs: agg }) } })
 *
 * // device (src/roles/device-agent.ts does this): journal up, its own orders (rollback) down
 * const runner = await DeviceOrderRunner.open({ dataDir, deviceId, journal, execute: rollbackWithInstaller, onOutcome: () => up.kick() })
 * const up = new DeviceUplink({ deviceId, journal, client: reportProtocolOn(node), hub: findHub, onOrders, onDeviceOrders: o => runner.offer(o) })
 * up.start(); journal.append(decisionJournalEvent(decision, { waveId })); up.kick()
 * // store hub: an operator's order to one device, repeated in its answers until done
 * await ledger.issueDeviceOrder({ deviceId: 'pos-17', action: 'rollback', reason: 'scanner broken' })
 * ```
 */
export {
  HUB_LEDGER_DIR_NAME, SUPER_LEDGER_DIR_NAME, DEFAULT_HALT_ON_ROLLBACK_RATIO, DEFAULT_MAX_EVENTS_PER_DEVICE, defaultUplinkOptions,
  type UplinkOptions, DEFAULT_DEVICE_POLL_INTERVAL_MS, DEVICE_ORDERS_FILE
} from './constants.js'
export {
  REPORT_PROTOCOL, REPORT_PROTOCOL_NAME, REPORT_PROTOCOL_VERSION, REPORT_PROTOCOL_V1_1, MAX_REPORT_REQUEST_BYTES, MAX_REPORT_RESPONSE_BYTES,
  MAX_BATCH_ENTRIES, MAX_ORDERS, MAX_DEVICE_ORDERS, DEFAULT_REPORT_TIMEOUT_MS,
  DEVICE_WAVE_STATES, WAVE_ACTIONS, decodeReportRequest, decodeReportResponse, encodeReportRequest, encodeReportResponse,
  parseJournalEntry, parseReportRequest, parseReportResponse, parseWaveOrder, toWireEntry, parseDeviceOrder, DEVICE_ACTIONS,
  type DeviceAction, type DeviceOrder,
  type DeviceBatch, type DeviceWaveState, type HubBatch, type LedgerDelta, type ReportAck, type ReportError,
  type ReportRequest, type ReportResponse, type WaveAction, type WaveOrder,
  ReportProtocol, reportProtocol, reportProtocolOn, protocolFor, type ReportNode, type DeviceReportSink, type HubReportSink, type ReportClient,
  type ReportProtocolComponents, type ReportProtocolInit, type ReportRequestOptions, type ReportTarget
} from './report/index.js'
export {
  classify, countDevice, decisionJournalEvent, emptyCounts, mergeContribution, moveDevice, rollbackRatio, UNKNOWN_GATE,
  type Contribution, type DeviceWaveRecord, type WaveCounts
} from './condense.js'
export { checkOrder, fleetFactsOf, isHaltOrder, isPauseOrder, supersedes } from './orders.js'
export { HubLedger } from './hub-ledger.js'
export {
  type DeviceRecord, type DeviceWaveStatus, type HubLedgerOptions, type OutboxStatus, type ReadOutboxOptions,
  type StoredOrder, type WaveSummary
} from './hub-ledger-types.js'
export {
  SuperLedger, type HubRecord, type SuperDeviceRecord, type SuperLedgerOptions, type SuperOrder, type SuperWaveSummary
} from './super-ledger.js'
export { backoffDelayMs, Waker, type BackoffOptions } from '../interface/backoff.js'
export {
  DeviceUplink, HubUplink, type DeviceUplinkInit, type FleetOrderSink, type HubUplinkInit, type JournalSource, type OutboxSource,
  type PushResult, type TrustSink, type UplinkStatus
} from './uplink.js'
export {
  ORDER_ENTRY_KIND, ORDER_OUTCOMES, orderOutcomeEvent, orderOutcomeOf, type DeviceOrderRecord, type IssueResult, type OrderOutcome
} from './device-orders.js'
export { DeviceOrderRunner, type DeviceOrderRunnerInit, type OrderResult } from './order-runner.js'
