/**
 * The operator plane's Prometheus metrics (DESIGN.md section 9). A role builds them
 * over its own prom-client Registry (never the global one: several nodes may share a
 * process) from the sources it can give; each collector reads its source at scrape
 * time.
 *
 * ```ts
 * const registry = new Registry()
 * const metrics = createMetrics(registry, {
 *   availability: { bundles: async () => ... },            // store bitfield + swarm peers' have-sets
 *   store,                                                  // ChunkStore (stats())
 *   traffic: tally,                                         // new SwarmTally(() => chunks.swarms())
 *   wan: { limitBytesPerSec: () => limiter.rateBytesPerSec, achievedBytesPerSec: () => meter... },
 *   security: { verifyFailuresTotal: () => tally.badChunks(), peerBansTotal: () => banCounter.total },
 *   waves: waveSourceOf(hubLedger), leases: leaseSourceOf(leaseTable)
 * })
 * const text = await metrics.text()                          // or mount it in the API server
 * ```
 */
import { Registry } from 'prom-client'
import { createBundleMetrics, createStoreMetrics } from './bundle-metrics.js'
import { SourceErrors } from './collect.js'
import { createGateMetrics, createLeaseMetrics, createWaveMetrics } from './rollout-metrics.js'
import type { MetricsSources } from './sources.js'
import { createSecurityMetrics, createTrafficMetrics, createWanMetrics } from './traffic-metrics.js'
import { createIdentityMetrics, createTrustMetrics } from './identity-metrics.js'

export * from './sources.js'
export * from './constants.js'
export { availabilityOf, chunkCopies, hasPiece, heldCount, type AvailabilityFigures } from './availability.js'
export { bundleFigures, createBundleMetrics, createStoreMetrics, type BundleFigures } from './bundle-metrics.js'
export { createSecurityMetrics, createTrafficMetrics, createWanMetrics } from './traffic-metrics.js'
export { createIdentityMetrics, createTrustMetrics } from './identity-metrics.js'
export { boundGates, boundWaves, createGateMetrics, createLeaseMetrics, createWaveMetrics } from './rollout-metrics.js'
export { BanCounter, leaseSourceOf, SwarmTally, waveDevicesOf, waveSourceOf } from './adapters.js'
export { SourceErrors } from './collect.js'

/** What the API server (or any scrape endpoint) needs from the metrics. */
export interface MetricsEndpoint {
  readonly contentType: string
  /** The Prometheus text exposition of every metric in the registry. */
  text(): Promise<string>
}

export interface StoremeshMetrics extends MetricsEndpoint {
  readonly registry: Registry
}

/** Registers the metrics of every source given on `registry` (a fresh Registry when omitted). */
export function createMetrics (registry: Registry = new Registry(), sources: MetricsSources = {}): StoremeshMetrics {
  const errors = new SourceErrors(registry)
  if (sources.availability !== undefined) createBundleMetrics(registry, sources.availability, errors)
  if (sources.store !== undefined) createStoreMetrics(registry, sources.store, errors)
  if (sources.traffic !== undefined) createTrafficMetrics(registry, sources.traffic, errors)
  if (sources.wan !== undefined) createWanMetrics(registry, sources.wan, errors)
  if (sources.security !== undefined) createSecurityMetrics(registry, sources.security, errors)
  if (sources.identity !== undefined) createIdentityMetrics(registry, sources.identity, errors)
  if (sources.trust !== undefined) createTrustMetrics(registry, sources.trust, errors)
  if (sources.gates !== undefined) createGateMetrics(registry, sources.gates, errors)
  if (sources.waves !== undefined) createWaveMetrics(registry, sources.waves, errors)
  if (sources.leases !== undefined) createLeaseMetrics(registry, sources.leases, errors)
  return {
    registry,
    contentType: registry.contentType,
    text: async () => await registry.metrics()
  }
}
