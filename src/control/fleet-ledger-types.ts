/**
 * The fleet ledger's options, health, counters and status (fleet-ledger.ts): the shapes
 * its readers (super hub, status file, metrics, CLI, API) share.
 */
import type { Log } from '../interface/log.js'
import type { SqlDriverKind } from './db/sql.js'
import type { HubAdmission } from './fleet-ingest.js'
import type { IngestQueueOptions } from './ingest-queue.js'
import type { FleetOrder } from './fleet-orders.js'
import type { FleetHub, FleetWaveStatus, PendingOrder } from './fleet-status.js'

export interface FleetLedgerOptions {
  /** `postgres://…`; absent: PGlite under `<dataDir>/fleet-db` */
  dbUrl?: string
  dataDir?: string
  /** this super hub's name in hub_reports.via and auto-halts' issued_by. @default `control` */
  via?: string
  /** `registered`: a hub must be added (fleet hub add) or certified. @default 'open' (first report admits) */
  admission?: HubAdmission
  /** the hub ids the sending peer's certificate names (PeerIdentities.boundHubIds); undefined: no certificates */
  hubIdsOf?: (peer: string) => readonly string[] | null | undefined
  /** a wave's limit when its row names none. @default DEFAULT_HALT_ON_ROLLBACK_RATIO */
  haltOnRollbackRatio?: number | ((waveId: string) => number | undefined)
  /** a wave's minimum when its row names none (a number, or per wave from its signed policy). @default DEFAULT_MIN_OUTCOMES_FOR_HALT */
  minOutcomesForHalt?: number | ((waveId: string) => number | undefined)
  now?: () => number
  /** report groups (ingest-queue.ts): groups in flight, reports and entries per group */
  ingest?: IngestQueueOptions
  /** after a halt of ours came into force (committed) */
  onOrder?: (order: FleetOrder) => void
  /** after anything that may change a hub's answer was committed (an order, a halt): wakes held reports */
  onChange?: () => void
  log?: Log
}

export interface FleetDbHealth {
  kind: SqlDriverKind
  where: string
  up: boolean
  /** the last failure, while down */
  error?: string
  /** since when it has been in this state */
  sinceMs: number
}

export interface FleetCounters {
  reportsApplied: number
  reportsReplayed: number
  reportsRefused: number
  outcomesIngested: number
  /** transactions that applied reports: fewer than the reports when they were grouped */
  reportTransactions: number
}

export interface FleetStatus {
  db: FleetDbHealth
  hubs: FleetHub[]
  waves: FleetWaveStatus[]
  pendingOrders: PendingOrder[]
  heldBundles: FleetOrder[]
}
