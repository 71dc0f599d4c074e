/**
 * Public face of the chunk store. Swarm, WAN, installer and operator plane import
 * from here only.
 */
export { ChunkStore, openStore, toBitfield, type BundleEviction, type MissingPiece } from './store.js'
export { StoreCore, STORE_PAUSE_REASONS, type StorePause, type StorePauseReason, type StoreStats } from './core.js'
export { assertQuotaHolds, DEFAULT_STORE_QUOTA, distinctBytes, formatBytes, parseQuotaSpec, resolveQuotaBytes, type QuotaSpec, type SizedBundle } from './quota-spec.js'
export { deviceGcPlan, hubEvictionPlan, hubPinPlan, hubStalePins, HUB_AUTO_PINS, type RetentionPlan } from './retention.js'
export { defaultStoreOptions, type StoreOptions } from './constants.js'
export { EXCLUSIVE_PIN_REASONS, PIN_REASONS, type BundleRecord, type BundleState, type PinReason } from './index-db.js'
export type { ImportResult } from './import.js'
export { readBundleDirManifest } from './import.js'
export { importBundlesUnder } from './import-folder.js'
export { heldBundleByInfoHash, isHeld, isServable, servableManifest, storeManifestLookup, type ManifestQuery } from './manifest-lookup.js'
export type { ArtifactStreamOptions } from './reconstruct.js'
export type { RecoveryReport } from './recovery.js'
export type { QuotaStats } from './quota.js'
