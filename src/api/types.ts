/**
 * What the API serves and does, as interfaces the hub role implements over its parts.
 * Read routes call ApiSources; write routes call ApiHandlers, which must be idempotent
 * (a repeated request answers `changed: false`). The CLI reads the same shapes.
 */
import type { Link } from '../interface/types.js'
import type { AvailabilitySource } from '../metrics/sources.js'

type MaybePromise<T> = T | Promise<T>

export interface StatusView {
  role: string
  /** hub id or device id */
  id: string
  peerId?: string
  version?: string
  startedAtMs?: number
  /** anything else the role wants to show (`storemesh status --json` prints it all) */
  [key: string]: unknown
}

export interface BundleView {
  id: string
  name: string
  version: string
  deviceClass?: string
  state: string
  pins: string[]
  pieceCount: number
  heldChunks?: number
  totalBytes: number
}

export interface CacheEntryView {
  bundleId: string
  name: string
  version: string
  state: string
  pins: string[]
  totalBytes: number
  /** ms since epoch the bundle was last used (added, served or installed) */
  lastUsedMs?: number
}

export interface CacheView {
  usedBytes: number
  quotaBytes: number | null
  chunkCount: number
  /** bundles in the cache, at most `limit` of them, the role's order (newest use first) */
  entries: CacheEntryView[]
  /** bundles in the cache in all */
  total: number
  /** downloads paused for lack of space (disk full or quota reached); absent or null: not paused */
  paused?: { reason: string, sinceMs: number, detail: string } | null
}

/** What `hub cache evict` did (or, dry, would do). */
export interface EvictionView {
  dryRun: boolean
  evicted: Array<{ bundleId: string, name: string, version: string, chunks: number, bytes: number }>
  /** bundles the rules would evict but a pin keeps */
  kept: Array<{ bundleId: string, name: string, version: string, pins: string[] }>
}

export interface PeerView {
  peerId: string
  label?: string
  link: Link
  /** bundle swarms this peer is in */
  bundles?: number
  banned?: boolean
}

export interface WaveView {
  waveId: string
  counts: { updated: number, rolledBack: number, failed: number, pending: number, blocked: number, total: number, blockedByGate?: Record<string, number> }
  rollbackRatio: number | null
  halted: boolean
  paused: boolean
  order?: { action: string, reason: string, issuedAtMs: number }
}

export interface DeviceStateView {
  deviceId: string
  state: string
  gate?: string
  updatedAtMs: number
}

export interface LedgerView {
  waves: WaveView[]
  /** the devices of `wave` when one was asked for */
  devices?: DeviceStateView[]
}

/** One device as the hub's ledger knows it (GET /api/devices/:id). */
export interface DeviceView {
  deviceId: string
  /** ms since epoch of its last report; null when it never reported */
  lastReportMs: number | null
  /** highest journal seq received */
  maxSeq: number
  peer?: string
  /** its state in each wave it has one in */
  waves: Array<{ waveId: string, state: string, gate?: string }>
  /** operator orders to it (rollback), oldest first */
  orders: Array<{ orderId: string, action: string, reason: string, issuedAtMs: number, state: string, outcome?: string, detail?: string }>
  /** its newest journal entries as received, oldest first */
  events: Array<{ seq: number, at: string, kind: string, waveId?: string, to?: string, reason?: string, detail?: string }>
}

export interface LedgerQuery {
  wave?: string
  limit: number
}

/** One heat map: a window of chunks × peers of one bundle (GET /api/availability). */
export interface AvailabilityBundleView {
  bundleId: string
  name?: string
  version?: string
  pieceCount: number
  /** figures over the WHOLE bundle, as /metrics publishes them */
  heldChunks: number
  minCopies: number
  distributedCopies: number
  rarestCopies: number
  devicesComplete: number
  /** the window of chunks in `rows` and `copies`: [from, from + count) */
  from: number
  count: number
  /** holders (this node + peers) of each chunk of the window */
  copies: number[]
  /** this node first (peerId `self`), then peers; `have` is a '0'/'1' string over the window */
  rows: Array<{ peerId: string, label?: string, self?: boolean, heldChunks: number, have: string }>
  peersTruncated: boolean
}

export interface AvailabilityView {
  atMs: number
  bundles: AvailabilityBundleView[]
  bundlesTruncated: boolean
}

export interface ApiSources {
  status(): MaybePromise<StatusView>
  bundles(): MaybePromise<BundleView[]>
  cache(limit: number): MaybePromise<CacheView>
  peers(): MaybePromise<PeerView[]>
  ledger(query: LedgerQuery): MaybePromise<LedgerView>
  availability: AvailabilitySource
  /** one device; undefined (404) when the ledger knows nothing of it */
  device?(deviceId: string): MaybePromise<DeviceView | undefined>
}

/** The answer of every write: `changed: false` when the request was already in force. */
export interface ActionResult {
  changed: boolean
  detail?: string
  [key: string]: unknown
}

export interface ApiHandlers {
  startWave(waveId: string, body: { cohort: string }): Promise<ActionResult>
  pauseWave(waveId: string, body: { reason: string }): Promise<ActionResult>
  rollbackDevice(deviceId: string, body: { reason: string }): Promise<ActionResult>
  prefetch(body: { policy: string, window?: string }): Promise<ActionResult>
  /** `hub cache pin`: a manual pin (absent: 404 on a role without a store lifecycle) */
  cachePin?(body: { bundle: string }): Promise<ActionResult>
  cacheUnpin?(body: { bundle: string }): Promise<ActionResult>
  cacheEvict?(body: { bundle?: string, dryRun?: boolean }): Promise<EvictionView>
}
