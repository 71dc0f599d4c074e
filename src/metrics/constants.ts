/**
 * Metric names and label bounds of the operator plane (DESIGN.md section 9). Names are
 * API (dashboards and alerts match on them): add, never rename.
 */

export const METRIC_PREFIX = 'storemesh_'

/**
 * Label bounds: a series per bundle, wave or gate is fine, an unbounded number is not.
 * Past a bound the newest keep their own series and the rest are summed into `other`
 * (gates) or left out (bundles, waves: the API has them all).
 */
export const MAX_BUNDLE_SERIES = 64
export const MAX_WAVE_SERIES = 32
export const MAX_GATE_SERIES = 64
/** chunk-wire violation codes (src/swarm/violations.ts has 14) */
export const MAX_VIOLATION_SERIES = 32
export const OTHER_LABEL = 'other'

export const METRIC_NAMES = {
  bundleChunksHeld: 'storemesh_bundle_chunks_held',
  bundleChunksMissing: 'storemesh_bundle_chunks_missing',
  bundlePeers: 'storemesh_bundle_peers',
  bundleDevicesComplete: 'storemesh_bundle_devices_complete',
  chunkMinCopies: 'storemesh_chunk_min_copies',
  chunkDistributedCopies: 'storemesh_chunk_distributed_copies',
  chunkRarestCopies: 'storemesh_chunk_rarest_copies',
  chunkRarestChunks: 'storemesh_chunk_rarest_chunks',
  storeUsedBytes: 'storemesh_store_used_bytes',
  storeQuotaBytes: 'storemesh_store_quota_bytes',
  storeChunks: 'storemesh_store_chunks',
  storeEvictedChunksTotal: 'storemesh_store_evicted_chunks_total',
  storeEvictedBytesTotal: 'storemesh_store_evicted_bytes_total',
  storePaused: 'storemesh_store_paused',
  bytesTotal: 'storemesh_bytes_total',
  wanLimit: 'storemesh_wan_limit_bytes_per_second',
  wanAchieved: 'storemesh_wan_achieved_bytes_per_second',
  verifyFailuresTotal: 'storemesh_verify_failures_total',
  peerBansTotal: 'storemesh_peer_bans_total',
  peersBanned: 'storemesh_peers_banned',
  peerViolationsTotal: 'storemesh_peer_violations_total',
  banRefusalsTotal: 'storemesh_ban_refusals_total',
  superseedHoardersTotal: 'storemesh_superseed_hoarders_total',
  peerRefusalsTotal: 'storemesh_peer_refusals_total',
  rootVersion: 'storemesh_root_version',
  storeStale: 'storemesh_store_stale',
  gateFailuresTotal: 'storemesh_gate_failures_total',
  waveDevices: 'storemesh_wave_devices',
  waveHalted: 'storemesh_wave_halted',
  wavePaused: 'storemesh_wave_paused',
  leasesInUse: 'storemesh_leases_in_use',
  leaseLimit: 'storemesh_lease_limit',
  sourceErrorsTotal: 'storemesh_metrics_source_errors_total'
} as const
