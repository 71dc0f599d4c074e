/**
 * What the metrics read, as small interfaces the role implements over its parts
 * (store, swarms, WAN limiter, ledger, lease table). Collectors call them at scrape
 * time, so the figures are never stale and nothing is counted twice. Every method may
 * return a value or a promise. Counters (`*Total`) must be cumulative for the process:
 * a role that drops a swarm keeps its bytes in its tally (see ByteTally).
 *
 * Peer ids appear here (the API's heat map needs them) but never become metric labels.
 */
import type { Link } from '../interface/types.js'

type MaybePromise<T> = T | Promise<T>

/** One peer's have-set for one bundle. */
export interface PeerHave {
  peerId: string
  /** a friendlier name for the dashboard (device id), when the role knows it */
  label?: string
  /** wire order, piece i is bit 7 - i % 8 of byte i / 8 */
  bitfield: Uint8Array
}

export interface BundleAvailability {
  bundleId: string
  name?: string
  version?: string
  pieceCount: number
  /** this node's own have-set (the store's bitfield); absent on a node without the bundle */
  local?: Uint8Array
  /** the connected peers' have-sets as this node's swarm last heard them */
  peers: PeerHave[]
}

export interface AvailabilitySource {
  bundles(): MaybePromise<BundleAvailability[]>
}

/** The chunk store (ChunkStore.stats() fits). */
export interface StoreStatsSource {
  stats(): {
    usedBytes: number, quotaBytes: number | undefined, chunkCount: number, evictedChunks: number, evictedBytes: number, bundles: number
    /** downloads paused for lack of space: `disk-full` or `quota` */
    paused?: { reason: string } | undefined
  }
}

/** Chunk payload bytes moved, cumulative, by link and direction. */
export interface TrafficSource {
  bytes(): MaybePromise<Record<Link, { up: number, down: number }>>
}

/** The WAN download (or seeding) limiter and what it achieved. */
export interface WanSource {
  /** bytes/s in force now; Infinity when unlimited, 0 outside the window */
  limitBytesPerSec(): MaybePromise<number>
  /** achieved bytes/s over the role's recent interval */
  achievedBytesPerSec(): MaybePromise<number>
}

/** Integrity and peer discipline, cumulative counts. */
export interface SecuritySource {
  /** chunks whose BLAKE3 did not match (swarm badChunks + WAN failures) */
  verifyFailuresTotal(): MaybePromise<number>
  /** bans issued (BanList 'ban' events; see BanCounter) */
  peerBansTotal(): MaybePromise<number>
  /** bans in force now */
  peersBanned?(): MaybePromise<number>
  /** chunk-wire protocol violations by stable code (PeerScorer.violationCounts) */
  peerViolationsTotal?(): MaybePromise<Record<string, number>>
  /** connections of banned peers refused, by stage: address (before Noise), encrypted (by peer id, after it), dial (ours); net/address-bans.ts */
  banRefusalsTotal?(): MaybePromise<Record<string, number>>
  /** peers a super-seeding hub found claiming chunks they never served (swarm/superseed.ts) */
  superseedHoardersTotal?(): MaybePromise<number>
}

/** Peers refused for their certificate (src/identity/ PeerIdentities.refusalCounts), cumulative. */
export interface IdentitySource {
  /** by reason: invalid, signature, expired, not-yet-valid, revoked, mismatch, missing */
  peerRefusalsTotal(): MaybePromise<Record<string, number>>
}

/** The root of trust in force and the freshness of the newest timestamp statement (src/identity/root/). */
export interface TrustSource {
  rootVersion(): MaybePromise<number>
  /** 1 stale (the statement expired), 0 fresh, undefined: no statement yet */
  stale(): MaybePromise<number | undefined>
}

/** Policy gate failures by stable gate name, cumulative. */
export interface GateSource {
  gateFailuresTotal(): MaybePromise<Record<string, number>>
}

/** One wave's device counts by condensed state (HubLedger.waves() fits through waveSourceOf). */
export interface WaveDevices {
  waveId: string
  states: Record<string, number>
  halted?: boolean
  paused?: boolean
}

export interface WaveSource {
  waves(): MaybePromise<WaveDevices[]>
}

/** The hub's install leases (LeaseTable fits through leaseSourceOf). */
export interface LeaseSource {
  inUse(): MaybePromise<number>
  limit(): MaybePromise<number>
}

/** Everything a node can give; each part is optional and its metrics exist only when given. */
export interface MetricsSources {
  availability?: AvailabilitySource
  store?: StoreStatsSource
  traffic?: TrafficSource
  wan?: WanSource
  security?: SecuritySource
  identity?: IdentitySource
  trust?: TrustSource
  gates?: GateSource
  waves?: WaveSource
  leases?: LeaseSource
}
