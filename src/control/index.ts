/**
 * The control plane (DESIGN.md section 9b, docs/fleet.md): the fleet ledger in
 * PostgreSQL (PGlite embedded by default), fleet-wide orders, and the WaveStore seam
 * the wave logic keeps its decisions in. Only the super hub and `storemesh fleet`
 * load it; the database drivers are imported lazily by db/open.ts.
 */
export { FleetLedger } from './fleet-ledger.js'
export { DB_PROBE_INTERVAL_MS } from './fleet-ledger-constants.js'
export type { FleetLedgerOptions, FleetDbHealth, FleetCounters, FleetStatus } from './fleet-ledger-types.js'
export { type HubAdmission } from './fleet-ingest.js'
export { ORDER_KINDS, WAVE_ORDER_ACTIONS, BUNDLE_ORDER_ACTIONS, type FleetOrder, type FleetOrderAction, type OrderKind, type OrderRequest, type IssueResult } from './fleet-orders.js'
export type { FleetWaveStatus, FleetBatchStatus, FleetHalt, FleetHub, PendingOrder, DeviceOutcome } from './fleet-status.js'
export { SqlWaveStore, WAVE_STATES, BATCH_STATES, STORE_STATES, type WaveStore, type WaveRecord, type BatchRecord, type WaveStoreRecord, type StoreOutcomes } from './wave-store.js'
export { openFleetDb, checkDbUrl, FLEET_DB_DIR_NAME, type FleetDbOptions } from './db/open.js'
export { migrate, MIGRATIONS, type Migration } from './db/migrations.js'
export type { SqlDb, SqlQueryable, SqlDriverKind } from './db/sql.js'
