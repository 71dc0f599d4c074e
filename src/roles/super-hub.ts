/**
 * The super hub role (DESIGN.md sections 1 and 5): holds bundles in a chunk store and
 * seeds store hubs over `/storemesh/wan-pull/1.0.0` under a global limit (following a
 * schedule), a per-store-hub limit, and store priorities (critical store hubs first,
 * weighted fair share among the rest, at the global limiter). Serves manifests over
 * `/storemesh/manifest/1.0.0`. Composition only: the logic lives in wan/, net/, store/.
 */
import { readFile, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileAtomic } from '../interface/atomic-file.js'
import type { PrivateKey } from '@libp2p/interface'
import { encodeManifest } from '../bundle/manifest.js'
import { bundleJsonPath } from '../bundle/layout.js'
import { StoremeshError, toStoremeshError } from '../interface/errors.js'
import type { Log } from '../interface/log.js'
import type { TrustOptions } from '../interface/types.js'
import { manifestProtocol, type ManifestLookup, type ManifestProtocol } from '../net/manifest-protocol.js'
import { createStoremeshNode, type StoremeshNode } from '../net/node.js'
import type { SwarmKey } from '../net/swarm-key.js'
import { openStore, readBundleDirManifest, type ChunkStore } from '../store/index.js'
import { constantSchedule, followSchedule, Limiter, LimiterChain, systemClock, UNLIMITED, type Clock, type Schedule, type ScheduleFollower } from '../wan/index.js'
import { pullServer, type PullServer } from '../wan/pull-protocol.js'
import { SuperLedger, type HubRecord, type SuperWaveSummary } from '../ledger/super-ledger.js'
import { reportProtocol, type ReportProtocol } from '../ledger/report-protocol.js'

export interface SuperHubInit {
  dataDir: string
  /** every folder under it holding a bundle.json is imported at start */
  bundlesDir?: string
  swarmKey: SwarmKey | null
  trust: TrustOptions
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

/** `<data>/super-ledger.json`: the SuperLedger's per-wave totals and hubs, for readers outside the process (its db is single-process). */
export const SUPER_LEDGER_STATUS_FILE = 'super-ledger.json'
export const DEFAULT_LEDGER_STATUS_INTERVAL_MS = 1000
const MAX_LEDGER_STATUS_BYTES = 4 * 1024 * 1024

export interface SuperLedgerStatus {
  updatedAt: string
  hubs: Array<HubRecord & { hubId: string }>
  waves: SuperWaveSummary[]
}

async function writeLedgerStatus (dataDir: string, ledger: SuperLedger): Promise<void> {
  const body: SuperLedgerStatus = { updatedAt: new Date().toISOString(), hubs: await ledger.hubs(), waves: await ledger.waves() }
  await writeFileAtomic(join(dataDir, SUPER_LEDGER_STATUS_FILE), JSON.stringify(body, null, 2) + '\n', { durable: false })
}

/** The last totals a super hub wrote; undefined before its first write. */
export async function readSuperLedgerStatus (dataDir: string): Promise<SuperLedgerStatus | undefined> {
  const path = join(dataDir, SUPER_LEDGER_STATUS_FILE)
  const size = await stat(path).then(s => s.size, () => undefined)
  if (size === undefined) return undefined
  if (size > MAX_LEDGER_STATUS_BYTES) throw new StoremeshError('E_CONFIG_INVALID', `${path} is larger than ${MAX_LEDGER_STATUS_BYTES} bytes`, { file: path })
  try {
    const x = JSON.parse(await readFile(path, 'utf8')) as Partial<SuperLedgerStatus>
    if (!Array.isArray(x.waves) || !Array.isArray(x.hubs)) throw new Error('no waves or hubs')
    return x as SuperLedgerStatus
  } catch (err) {
    throw new StoremeshError('E_CONFIG_INVALID', `${path} is not a super ledger status file`, { file: path }, { cause: err })
  }
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

/** Imports every bundle folder under `dir` that the store does not yet hold verified. */
export async function importBundlesUnder (store: ChunkStore, dir: string, trust: TrustOptions, log?: Log): Promise<string[]> {
  const out: string[] = []
  for (const name of (await readdir(dir)).sort()) {
    const folder = join(dir, name)
    const isBundle = await stat(bundleJsonPath(folder)).then(s => s.isFile(), () => false)
    if (!isBundle) continue
    const info = await readBundleDirManifest(folder, trust)
    if (store.getBundle(info.id)?.state !== 'verified') {
      const r = await store.importBundleDir(folder, trust)
      log?.info({ bundle: info.id }, `imported ${info.id} (${info.manifest.signed.name} ${info.manifest.signed.version}) from ${folder}: ${r.chunksWritten} new chunks`)
    }
    out.push(info.id)
  }
  return out
}

export async function startSuperHub (init: SuperHubInit): Promise<SuperHub> {
  const clock = init.clock ?? systemClock
  const store = await openStore({ dataDir: init.dataDir })
  let follower: ScheduleFollower | undefined
  let ledger: SuperLedger | undefined
  try {
    const imported = init.bundlesDir !== undefined ? await importBundlesUnder(store, init.bundlesDir, init.trust, init.log?.child({ component: 'store' })) : []
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
    const lookup: ManifestLookup = async (req) => {
      const rec = 'bundleId' in req ? store.getBundle(req.bundleId) : store.newestForClass(req.deviceClass, { requireComplete: true })
      if (rec === undefined || (rec.state !== 'verified' && rec.state !== 'complete')) return undefined
      return encodeManifest((await store.bundleInfo(rec.id)).manifest)
    }
    ledger = await SuperLedger.open(init.dataDir, {
      ...(init.haltOnRollbackRatio !== undefined ? { haltOnRollbackRatio: init.haltOnRollbackRatio } : {}),
      ...(init.minOutcomesForHalt !== undefined ? { minOutcomesForHalt: init.minOutcomesForHalt } : {})
    })
    const node = await createStoremeshNode({
      swarmKey: init.swarmKey,
      ...(init.listen !== undefined ? { listen: init.listen } : {}),
      ...(init.privateKey !== undefined ? { privateKey: init.privateKey } : { dataDir: init.dataDir }),
      services: {
        manifest: manifestProtocol({ lookup }),
        wanPull: pullServer({ source: store, limiterFor: peerId => hubEntry(peerId).chain, ...(init.onServed !== undefined ? { onServed: init.onServed } : {}) }),
        report: reportProtocol({ hubs: ledger })
      }
    })
    const f = follower
    const l = ledger
    const writeStatus = async (): Promise<void> => {
      await writeLedgerStatus(init.dataDir, l).catch((err: unknown) => { init.log?.child({ component: 'ledger' }).warn(`cannot write ${SUPER_LEDGER_STATUS_FILE}: ${toStoremeshError(err).toLine()}`) })
    }
    // one write at a time: on a slow disk a tick finding the last write busy is skipped
    let busy = true
    let writing: Promise<void> = writeStatus().finally(() => { busy = false })
    const statusTimer = setInterval(() => {
      if (busy) return
      busy = true
      writing = writeStatus().finally(() => { busy = false })
    }, init.ledgerStatusIntervalMs ?? DEFAULT_LEDGER_STATUS_INTERVAL_MS)
    statusTimer.unref()
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
        clearInterval(statusTimer)
        await writing
        await writeStatus()
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
