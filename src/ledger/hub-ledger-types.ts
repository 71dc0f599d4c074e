/**
 * The hub ledger's records and answers (what hub-ledger.ts stores per device and
 * returns to the API and the uplink) and its options: shapes only, so the ledger's
 * write path reads without them.
 */
import type { DeviceWaveRecord, WaveCounts } from './condense.js'
import type { DeviceStoreState } from './device-store.js'
import type { WaveOrder } from './report/messages.js'

export interface DeviceRecord {
  /** highest journal seq stored */
  maxSeq: number
  /** entries at or below this were pruned; a resend of one is a duplicate */
  prunedThrough: number
  lastReportMs: number
  /** the peer the last batch came from */
  peer?: string
  /** journal seq of the newest install commit reported (device orders: a rollback after it is new work) */
  lastCommitSeq?: number
  /** the newest store report: what the device keeps, whether it is paused (device-store.ts) */
  store?: DeviceStoreState
}

export interface StoredOrder {
  order: WaveOrder
  /** `super`: from the super hub's answer; `local`: the store's own API or CLI */
  source: 'super' | 'local'
  receivedAtMs: number
}

export interface WaveSummary {
  waveId: string
  counts: WaveCounts
  /** rolledBack / (updated + rolledBack) in this store; undefined without outcomes */
  rollbackRatio: number | undefined
  order?: WaveOrder
  halted: boolean
  paused: boolean
}

export interface DeviceWaveStatus {
  deviceId: string
  state: DeviceWaveRecord['state']
  gate?: string
  version: number
  updatedAtMs: number
}

export interface OutboxStatus {
  /** the next outbox seq to be handed out */
  nextSeq: number
  /** the super hub acknowledged everything up to here */
  ackedSeq: number
  /** entries waiting for the super hub */
  pending: number
}

export interface HubLedgerOptions {
  now?: () => number
  /** @default DEFAULT_MAX_EVENTS_PER_DEVICE */
  maxEventsPerDevice?: number
  /** called after an order changed what is in force for a wave (already persisted) */
  onOrder?: (order: WaveOrder, source: StoredOrder['source']) => void
  /** called after a change for the super hub was queued in the outbox (already persisted): the uplink pushes it at once */
  onOutbox?: () => void
  /** a device's batch brought journal entries (after they are stored) */
  onEntries?: () => void
}

export interface ReadOutboxOptions {
  /** @default DEFAULT_BATCH_ENTRIES */
  limit?: number
  /** encoded bytes of the entries returned; at least one entry is returned. @default DEFAULT_MAX_BATCH_BYTES */
  maxBytes?: number
}
