/**
 * The super hub role (DESIGN.md sections 1 and 5): holds bundles in a chunk store and
 * seeds store hubs over `/storemesh/wan-pull/1.0.0` under a global limit (following a
 * schedule), a per-store-hub limit, and store priorities (critical store hubs first,
 * weighted fair share among the rest, at the global limiter). Serves manifests over
 * `/storemesh/manifest/1.0.0`. Composition only: the logic lives in wan/, net/, store/, ledger/.
 */
import type { PrivateKey } from '@libp2p/interface'
import type { Log } from '../interface/log.js'
import { startPeerIdentity, type PeerIdentityOptions } from '../identity/node-identity.js'
import { RootTrust } from '../identity/root/index.js'
import type { TrustOptions } from '../interface/types.js'
import { manifestProtocol, type ManifestProtocol } from '../net/manifest/index.js'
import { createStoremeshNode, type StoremeshNode } from '../net/node.js'
import type { SwarmKey } from '../net/swarm-key.js'
import { importBundlesUnder, openStore, storeManifestLookup, type ChunkStore } from '../store/index.js'
import { constantSchedule, followSchedule, Limiter, LimiterChain, systemClock, UNLIMITED, type Clock, type Schedule, type ScheduleFollower } from '../wan/index.js'
import { pullServer, type PullServer } from '../wan/pull/index.js'
import { SuperLedger } from '../ledger/super-ledger.js'
import { SuperLedgerStatusWriter } from '../ledger/super-ledger-status.js'
import { reportProtocol, type ReportProtocol } from '../ledger/report/index.js'

export interface SuperHubInit {
  dataDir: string
  /** every folder under it holding a bundle.json is imported at start */
  bundlesDir?: string
  swarmKey: SwarmKey | null
  trust: TrustOptions
  /** node certificates (protocols/identity/SPEC.md): present ours, verify the hubs'; absent: off */
  identity?: PeerIdentityOptions
  /** @default loopback, any port */
  listen?: string[]
  privateKey?: PrivateKey
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
  /** the fleet's wave ledger halts a wave past this rollback ratio. @default the ledger's (0.05) */
  haltOnRollbackRatio?: number
  /** devices with an outcome before the ratio may halt a wave. @default the ledger's (1) */
  minOutcomesForHalt?: number
  /** how often `<data>/super-ledger.json` (the ledger's totals, read while the level db is locked) is rewritten. @default DEFAULT_LEDGER_STATUS_INTERVAL_MS */
  ledgerStatusIntervalMs?: number
  /** the process logger, without a component (imports log under `store`, the ledger file under `ledger`) */
  log?: Log
}

export interface SuperHub {
  readonly node: StoremeshNode<{ manifest: ManifestProtocol, wanPull: PullServer, report: ReportProtocol }>
  readonly store: ChunkStore
  /** wave totals across store hubs, fed over /storemesh/report/1.0.0 */
  readonly ledger: SuperLedger
  readonly global: Limiter
  /** bundles imported at start */
  readonly imported: string[]
  /** the per-store-hub limiter (created on first use) */
  hubLimiter(peerId: string): Limiter
  stop(): Promise<void>
}

export async function startSuperHub (init: SuperHubInit): Promise<SuperHub> {
  const clock = init.clock ?? systemClock
  const store = await openStore({ dataDir: init.dataDir })
  let follower: ScheduleFollower | undefined
  let ledger: SuperLedger | undefined
  try {
    // the static keys are root 0; `root install --data <dir>` gives the super hub a root, which it serves to its hubs
    const root = await RootTrust.open(init.dataDir, init.trust)
    const imported = init.bundlesDir !== undefined ? await importBundlesUnder(store, init.bundlesDir, root.trust('release'), init.log?.child({ component: 'store' })) : []
    const global = new Limiter({ rateBytesPerSec: 0, name: 'global', clock })
    follower = followSchedule({
      schedule: init.schedule ?? constantSchedule(init.wanRateBytesPerSec ?? UNLIMITED),
      clock,
      apply: (c) => { global.setRate(c.rateBytesPerSec) }
    })
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
    ledger = await SuperLedger.open(init.dataDir, {
      ...(init.haltOnRollbackRatio !== undefined ? { haltOnRollbackRatio: init.haltOnRollbackRatio } : {}),
      ...(init.minOutcomesForHalt !== undefined ? { minOutcomesForHalt: init.minOutcomesForHalt } : {})
    })
    const identity = init.identity !== undefined ? await startPeerIdentity(init.dataDir, init.identity, init.log, init.privateKey) : undefined
    const node = await createStoremeshNode({
      swarmKey: init.swarmKey,
      ...(init.listen !== undefined ? { listen: init.listen } : {}),
      ...(init.privateKey !== undefined ? { privateKey: init.privateKey } : { dataDir: init.dataDir }),
      ...(identity !== undefined ? { gater: identity.gater } : {}),
      services: {
        ...(identity !== undefined ? { identity: identity.service } : {}),
        manifest: manifestProtocol({ lookup: storeManifestLookup(store), roots: async (after) => { await root.refresh(); return root.rootsAfter(after) } }),
        wanPull: pullServer({ source: store, limiterFor: peerId => hubEntry(peerId).chain, ...(init.onServed !== undefined ? { onServed: init.onServed } : {}) }),
        report: reportProtocol({ hubs: ledger, ...(identity !== undefined ? { hubIdsOf: (id: string) => identity.identities.boundHubIds(id) } : {}) })
      }
    })
    const f = follower
    const l = ledger
    const status = new SuperLedgerStatusWriter({
      dataDir: init.dataDir,
      ledger: l,
      ...(init.ledgerStatusIntervalMs !== undefined ? { intervalMs: init.ledgerStatusIntervalMs } : {}),
      ...(init.log !== undefined ? { log: init.log.child({ component: 'ledger' }) } : {})
    })
    return {
      node,
      store,
      ledger: l,
      global,
      imported,
      hubLimiter: peerId => hubEntry(peerId).limiter,
      async stop () {
        f.stop()
        await node.stop()
        await status.stop()
        await l.close()
        await store.stop()
      }
    }
  } catch (err) {
    follower?.stop()
    await ledger?.close()
    await store.stop()
    throw err
  }
}
