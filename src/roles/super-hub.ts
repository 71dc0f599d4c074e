/**
 * The super hub role (DESIGN.md sections 1 and 5): holds bundles in a chunk store and
 * seeds store hubs over `/storemesh/wan-pull/1.0.0` under a global limit (following a
 * schedule), a per-store-hub limit, and store priorities (critical store hubs first,
 * weighted fair share among the rest, at the global limiter). Serves manifests over
 * `/storemesh/manifest/1.0.0`. With an `origin` it pulls through from it instead
 * (src/origin/): manifests and chunks fetched on demand, verified, cached under a
 * quota with least-recently-used eviction. Composition only: the logic lives in wan/,
 * net/, store/, ledger/, origin/.
 */
import { hostname } from 'node:os'
import type { PrivateKey } from '@libp2p/interface'
import { trustExchangeOf } from './trust-exchange.js'
import { startSuperHubTimestamps } from './super-hub-timestamps.js'
import { startSuperHubRoots } from './super-hub-roots.js'
import { registerRootFeedMetrics } from '../metrics/root-feed-metrics.js'
import { registerTimestampFeedMetrics } from '../metrics/timestamp-feed-metrics.js'
import type { Log } from '../interface/log.js'
import { startPeerIdentity, type PeerIdentityOptions } from '../identity/node-identity.js'
import { enrolmentFromRoot, implicitEnrolment, RootTrust } from '../identity/root/index.js'
import type { TrustOptions } from '../interface/types.js'
import { manifestProtocol, type ManifestProtocol } from '../net/manifest/index.js'
import { createStoremeshNode, type StoremeshNode } from '../net/node.js'
import type { SwarmKey } from '../net/swarm-key.js'
import { importBundlesUnder, openStore, storeManifestLookup, type ChunkStore } from '../store/index.js'
import { ByteBudget, constantSchedule, DEFAULT_CHUNK_BYTES_IN_FLIGHT, followSchedule, Limiter, LimiterChain, systemClock, UNLIMITED, type Clock, type Schedule, type ScheduleFollower } from '../wan/index.js'
import { pullServer, type PullServer } from '../wan/pull/index.js'
import { FleetLedger } from '../control/fleet-ledger.js'
import type { HubAdmission } from '../control/fleet-ingest.js'
import { statusSourceOf } from '../control/status-view.js'
import { startFleetMetricsServer, type FleetMetricsServer } from '../control/metrics-server.js'
import { startFleetApi, type FleetApi, type FleetApiInit } from '../control/api/fleet-api.js'
import { WanServedTally } from '../control/wan-served.js'
import { registerWanServedMetrics, registerStoresHoldingMetric } from '../control/fleet-metrics.js'
import type { Registry } from 'prom-client'
import { SuperLedgerStatusWriter } from '../ledger/super-ledger-status.js'
import { ChangeFeed, reportProtocol, type ReportProtocol, type ReportProtocolInit } from '../ledger/report/index.js'
import { watchOrders } from '../control/order-watch.js'
import { superHubRollout } from './super-hub-rollout.js'
import { registerPullThroughMetrics } from '../metrics/origin-metrics.js'
import { registerServeBudgetMetrics } from '../metrics/serve-budget-metrics.js'
import { startPolicies, startSuperHubWaves, type SuperHubWaves } from './super-hub-waves.js'
import { assertCacheQuota, DEFAULT_ORIGIN_CACHE_QUOTA_BYTES, startOriginPull, type OriginPull, type OriginPullInit } from '../origin/index.js'

/** Where a super hub pulls through from (src/origin/index.ts). */
export type SuperHubOriginInit = Omit<OriginPullInit, 'store' | 'trust' | 'dataDir' | 'log'> & {
  /** the cache's byte quota (LRU eviction). @default DEFAULT_ORIGIN_CACHE_QUOTA_BYTES */
  cacheQuotaBytes?: number
}

export interface SuperHubInit {
  dataDir: string
  /** every folder under it holding a bundle.json is imported at start */
  bundlesDir?: string
  /** pull bundles through from an origin (`bundle publish` layout) */
  origin?: SuperHubOriginInit
  swarmKey: SwarmKey | null
  trust: TrustOptions
  /** node certificates (protocols/identity/SPEC.md): present ours, verify the hubs'; absent: off */
  identity?: PeerIdentityOptions
  /** @default loopback, any port */
  listen?: string[]
  privateKey?: PrivateKey
  /** chunk bytes in flight for all store hubs together (`--chunk-bytes-in-flight`). @default DEFAULT_CHUNK_BYTES_IN_FLIGHT */
  chunkBytesInFlight?: number
  /** a wan-pull answer whose stream has not drained this long is reset, its grants given back. @default DEFAULT_SERVE_STALL_MS */
  serveStallMs?: number
  /** global WAN limit, bytes/s (ignored when `schedule` is given). @default UNLIMITED */
  wanRateBytesPerSec?: number
  /** the global limit over time (windows); wins over wanRateBytesPerSec */
  schedule?: Schedule
  /** limit per store hub, bytes/s. @default UNLIMITED */
  perHubRateBytesPerSec?: number
  /** peer ids of critical store hubs (served first) */
  critical?: string[]
  /** relative weights of store hubs by peer id. @default 1 */
  weights?: Record<string, number>
  /** @default systemClock (limiters and schedule) */
  clock?: Clock
  onServed?: (event: { peerId: string, hash: string, bytes: number }) => void
  /**
   * `--halt-on-rollback-ratio`: tightens each wave's signed policy figure, never loosens
   * it (E_POLICY_CONFLICT); a wave with no policy here takes it. @default the policy's, else 0.05
   */
  haltOnRollbackRatio?: number
  /** `--min-outcomes-for-halt`, the same way. @default the policy's, else 1 */
  minOutcomesForHalt?: number
  /** signed rollout policies (`--policy`, unverified envelopes): each wave's halt rule */
  policies?: unknown[]
  /**
   * The fleet ledger's database (src/control/, docs/fleet.md): `postgres://…`, shared by
   * every super hub of the fleet. @default PGlite under `<data>/fleet-db` (this process only)
   */
  fleetDbUrl?: string
  /** the report protocol's bounds per connection (streams, held polls): raised by bench:fleet, whose clients carry many hubs each */
  report?: Pick<ReportProtocolInit, 'maxStreams' | 'held'>
  /** `registered`: only hubs added with `storemesh fleet hub add` or certified for their id may report. @default 'open' */
  hubAdmission?: HubAdmission
  /** this super hub's name in the fleet ledger (which super hub took a report). @default the host name */
  name?: string
  /** serve the fleet's `/metrics` on 127.0.0.1 at this port (0: any free one); absent: not served */
  metricsPort?: number
  /** serve the fleet API, dashboard and /metrics (src/control/api/, docs/fleet.md "Fleet API"); absent: not served */
  api?: Pick<FleetApiInit, 'host' | 'port' | 'hostNames' | 'optional'>
  /** how often `<data>/super-ledger.json` (the ledger's totals, for readers outside the process) is rewritten. @default DEFAULT_LEDGER_STATUS_INTERVAL_MS */
  ledgerStatusIntervalMs?: number
  /** plan and start a wave from the signed policy of each of these waves (`--start-wave <wave...>`; src/control/wave-start.ts) */
  startWaves?: string[]
  /** how often the wave runner steps the fleet's waves (`--wave-tick-ms`). @default DEFAULT_WAVE_TICK_MS */
  waveTickMs?: number
  /** a folder the timestamp role's signer drops statements into (`--timestamp-dir`; with `origin`, its `timestamp.json` is read too) */
  timestampDir?: string
  /** how often the timestamp sources are read without a watch event. @default DEFAULT_TIMESTAMP_RESCAN_MS */
  timestampRescanMs?: number
  /** a folder the root keys' holders drop new roots into (`--root-dir`; with `origin`, its `roots/<version>.json` are read too) */
  rootDir?: string
  /** how often the root sources are read without a watch event. @default DEFAULT_ROOT_RESCAN_MS */
  rootRescanMs?: number
  /** the process logger, without a component (imports log under `store`, the ledger file under `ledger`) */
  log?: Log
}

export interface SuperHub {
  readonly node: StoremeshNode<{ manifest: ManifestProtocol, wanPull: PullServer, report: ReportProtocol }>
  readonly store: ChunkStore
  /** the fleet ledger (waves, outcomes, orders), fed over /storemesh/report/1.0.0 */
  readonly ledger: FleetLedger
  readonly global: Limiter
  /** the fleet `/metrics` server, when metricsPort was given */
  readonly metrics?: FleetMetricsServer
  /** the wave runner (src/control/wave-runner.ts) */
  readonly waves: SuperHubWaves
  /** the fleet API (its URL also in `<data>/api.json`), when started with `api` */
  readonly api?: FleetApi
  /** what this super hub served each store over the WAN */
  readonly served: WanServedTally
  /** bundles imported at start */
  readonly imported: string[]
  /** the pull-through, when started with an origin */
  readonly origin: OriginPull | undefined
  /** the server-wide bound on chunk bytes in flight (all store hubs together) */
  readonly budget: ByteBudget
  /** the per-store-hub limiter (created on first use) */
  hubLimiter(peerId: string): Limiter
  stop(): Promise<void>
}

export async function startSuperHub (init: SuperHubInit): Promise<SuperHub> {
  const clock = init.clock ?? systemClock
  const quotaBytes = init.origin !== undefined ? init.origin.cacheQuotaBytes ?? DEFAULT_ORIGIN_CACHE_QUOTA_BYTES : undefined
  if (quotaBytes !== undefined) assertCacheQuota(quotaBytes)
  const budget = new ByteBudget(init.chunkBytesInFlight ?? DEFAULT_CHUNK_BYTES_IN_FLIGHT)
  // a pull-through cache holds bundles partially by design: their chunks may be evicted
  const store = await openStore({ dataDir: init.dataDir, ...(quotaBytes !== undefined ? { quotaBytes, evictIncomplete: true } : {}) })
  let follower: ScheduleFollower | undefined
  let ledger: FleetLedger | undefined
  let origin: OriginPull | undefined
  try {
    // the static keys are root 0; `root install --data <dir>` gives the super hub a root, which it serves to its hubs
    const root = await RootTrust.open(init.dataDir, init.trust, implicitEnrolment(init.identity))
    origin = init.origin !== undefined
      ? await startOriginPull({
        ...init.origin, store, trust: root.trust('release'), dataDir: init.dataDir,
        ...(init.log !== undefined ? { log: init.log.child({ component: 'origin' }) } : {})
      })
      : undefined
    const pull = origin?.pull
    const imported = init.bundlesDir !== undefined ? await importBundlesUnder(store, init.bundlesDir, root.trust('release'), init.log?.child({ component: 'store' })) : []
    const global = new Limiter({ rateBytesPerSec: 0, name: 'global', clock })
    follower = followSchedule({
      schedule: init.schedule ?? constantSchedule(init.wanRateBytesPerSec ?? UNLIMITED),
      clock,
      apply: (c) => { global.setRate(c.rateBytesPerSec) }
    })
    // chunks served per store: the fleet API's availability and /metrics (reads the store's manifests)
    const served = new WanServedTally({
      bundles: async () => await Promise.all(store.listBundles().map(async r => ({ bundleId: r.id, hashes: (await store.bundleInfo(r.id)).pieces.map(p => p.hash) })))
    })
    const onServed = (e: { peerId: string, hash: string, bytes: number }): void => {
      served.record(e.peerId, e.hash, e.bytes)
      init.onServed?.(e)
    }
    const critical = new Set(init.critical ?? [])
    const hubs = new Map<string, { limiter: Limiter, chain: LimiterChain }>()
    const hubEntry = (peerId: string): { limiter: Limiter, chain: LimiterChain } => {
      let e = hubs.get(peerId)
      if (e === undefined) {
        const limiter = new Limiter({
          rateBytesPerSec: init.perHubRateBytesPerSec ?? UNLIMITED,
          name: `hub:${peerId.slice(-8)}`,
          clock,
          class: critical.has(peerId) ? 'critical' : 'normal',
          weight: init.weights?.[peerId] ?? 1
        })
        e = { limiter, chain: new LimiterChain([limiter, global]) }
        hubs.set(peerId, e)
      }
      return e
    }
    const rollout = superHubRollout(init.policies ?? [], init.trust, { haltOnRollbackRatio: init.haltOnRollbackRatio, minOutcomesForHalt: init.minOutcomesForHalt })
    const identity = init.identity !== undefined ? await startPeerIdentity(init.dataDir, enrolmentFromRoot(init.identity, root), init.log, init.privateKey) : undefined
    // opened behind: chunks are served at once; reports wait (unacknowledged, resent) until the database is open.
    // The embedded one (seconds of CPU, hundreds of MiB) only once a hub reports: a super hub that only seeds never loads it
    // an order or a halt wakes the hubs' held report polls (report 1.2.0 long-poll)
    const changes = new ChangeFeed()
    ledger = await FleetLedger.open({
      dataDir: init.dataDir,
      onChange: () => { changes.changed() },
      ...(init.fleetDbUrl !== undefined ? { dbUrl: init.fleetDbUrl } : {}),
      ...(init.hubAdmission !== undefined ? { admission: init.hubAdmission } : {}),
      via: init.name ?? hostname(),
      ...(identity !== undefined ? { hubIdsOf: (peer: string) => identity.identities.boundHubIds(peer) } : {}),
      // each wave's signed policy figure, tightened by the flags (super-hub-rollout.ts)
      haltOnRollbackRatio: (waveId: string) => rollout.ruleOf(waveId).haltOnRollbackRatio.value,
      minOutcomesForHalt: (waveId: string) => rollout.ruleOf(waveId).minOutcomesForHalt.value,
      ...(init.log !== undefined ? { log: init.log.child({ component: 'fleet' }) } : {})
    }, init.fleetDbUrl !== undefined ? { background: true } : { lazy: true })
    const node = await createStoremeshNode({
      swarmKey: init.swarmKey,
      ...(init.listen !== undefined ? { listen: init.listen } : {}),
      ...(init.privateKey !== undefined ? { privateKey: init.privateKey } : { dataDir: init.dataDir }),
      ...(identity !== undefined ? { gater: identity.gater } : {}),
      services: {
        ...(identity !== undefined ? { identity: identity.service } : {}),
        manifest: manifestProtocol({ lookup: pull !== undefined ? async (q) => await pull.lookup(q) : storeManifestLookup(store), roots: async (after) => { await root.refresh(); return root.rootsAfter(after) } }),
        wanPull: pullServer({ source: pull ?? store, limiterFor: peerId => hubEntry(peerId).chain, onServed, budget, ...(init.serveStallMs !== undefined ? { stallMs: init.serveStallMs } : {}),
          onStalled: e => { init.log?.warn({ code: 'E_SERVE_STALLED', peer: e.peerId }, `store hub ${e.peerId} took nothing for ${e.stallMs} ms mid-answer: stream reset, its chunk bytes in flight given back`) } }),
        report: reportProtocol({ hubs: ledger, changes, trust: trustExchangeOf(init.dataDir, root, identity?.identities, init.log), ...init.report, ...(identity !== undefined ? { hubIdsOf: (id: string) => identity.identities.boundHubIds(id), onUnbound: identity.refuseAct('report-unbound') } : {}) })
      }
    })
    const f = follower
    const l = ledger
    // a revocation list dropped in by the operator wakes the hubs' held polls
    identity?.identities.on('revocations', () => { changes.changed() })
    const watch = watchOrders(l, () => { changes.changed() }, init.log !== undefined ? { log: init.log.child({ component: 'fleet' }) } : {})
    const o = origin
    // roots first: a statement may be signed by a timestamp key only the new root names; one
    // that came before its root is read again once the root is adopted
    let timestampFeed: { retry: () => void } | undefined
    const roots = await startSuperHubRoots({
      root, dir: init.rootDir, origin: o?.fetcher, rescanMs: init.rootRescanMs, onAdopted: () => { changes.changed(); timestampFeed?.retry() }, log: init.log?.child({ component: 'trust' })
    }).catch(async (err: unknown) => { watch.stop(); await node.stop(); throw err })
    const timestamps = await startSuperHubTimestamps({
      dataDir: init.dataDir, root, dir: init.timestampDir, origin: o?.fetcher, rescanMs: init.timestampRescanMs, onAdopted: () => { changes.changed() }, log: init.log?.child({ component: 'trust' })
    }).catch(async (err: unknown) => { roots?.stop(); watch.stop(); await node.stop(); throw err })
    timestampFeed = timestamps
    const waves = startSuperHubWaves({
      ledger: l, via: init.name ?? hostname(), onMoved: () => { changes.changed() }, flags: { haltOnRollbackRatio: init.haltOnRollbackRatio, minOutcomesForHalt: init.minOutcomesForHalt },
      ...(init.startWaves !== undefined ? { start: startPolicies(rollout.verified(), init.startWaves) } : {}),
      ...(init.waveTickMs !== undefined ? { tickMs: init.waveTickMs } : {}),
      ...(init.log !== undefined ? { log: init.log.child({ component: 'waves' }) } : {})
    })
    // the role's series beside the ledger's: WAN served per store, the origin pull-through's
    const extendMetrics = (r: Registry): void => {
      registerWanServedMetrics(r, served)
      registerStoresHoldingMetric(r, l, served)
      registerServeBudgetMetrics(r, budget, node.services.wanPull)
      if (o !== undefined) registerPullThroughMetrics(r, { counters: () => o.status() }, store)
      if (timestamps !== undefined) registerTimestampFeedMetrics(r, timestamps)
      if (roots !== undefined) registerRootFeedMetrics(r, roots)
    }
    const metrics = init.metricsPort !== undefined ? await startFleetMetricsServer(l, init.metricsPort, extendMetrics).catch(async (err: unknown) => { await waves.stop(); await node.stop(); throw err }) : undefined
    const api = init.api !== undefined
      ? await startFleetApi({ ...init.api, dataDir: init.dataDir, ledger: l, served, extendMetrics, ...(init.log !== undefined ? { log: init.log.child({ component: 'api' }) } : {}) })
        .catch(async (err: unknown) => { await waves.stop(); await metrics?.close(); await node.stop(); throw err })
      : undefined
    const status = new SuperLedgerStatusWriter({
      dataDir: init.dataDir,
      ledger: statusSourceOf(l, waveId => ({ ...rollout.ruleOf(waveId) })),
      ...(init.ledgerStatusIntervalMs !== undefined ? { intervalMs: init.ledgerStatusIntervalMs } : {}),
      ...(init.log !== undefined ? { log: init.log.child({ component: 'ledger' }) } : {})
    })
    return {
      node,
      store,
      ledger: l,
      waves,
      global,
      budget,
      imported,
      origin: o,
      ...(metrics !== undefined ? { metrics } : {}),
      ...(api !== undefined ? { api } : {}),
      served,
      hubLimiter: peerId => hubEntry(peerId).limiter,
      async stop () {
        f.stop()
        watch.stop()
        timestamps?.stop()
        roots?.stop()
        await api?.stop()
        await metrics?.close()
        await node.stop()
        await o?.stop()
        await status.stop()
        await waves.stop()
        await l.close()
        await store.stop()
      }
    }
  } catch (err) {
    follower?.stop()
    await origin?.stop()
    await ledger?.close()
    await store.stop()
    throw err
  }
}
