/**
 * The store hub's operator plane (DESIGN.md section 9), composed over a running
 * StoreHub: the wave ledger (devices report over `/storemesh/report/1.0.0`, the hub
 * condenses and pushes to one of its super hubs, the next when one fails), the
 * Prometheus metrics on a registry of its own, and the HTTP API on loopback with a
 * bearer token for writes.
 *
 * Composition only: the logic lives in ledger/, metrics/, api/; this file maps the
 * hub's parts (store, swarms, WAN puller, lease table, bans) onto their sources.
 */
import { join } from 'node:path'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { Registry } from 'prom-client'
import {
  API_URL_FILE, ApiServer, deviceView, ledgerView, loadOrCreateApiToken, pauseWave, startWave,
  type ActionResult, type ApiHandlers, type ApiSources, type BundleView, type CacheView, type EvictionView, type PeerView, type StatusView
} from '../api/index.js'
import { writeFileAtomic } from '../interface/atomic-file.js'
import { isStoremeshError, StoremeshError, toStoremeshError } from '../interface/errors.js'
import { trustExchangeOf } from './trust-exchange.js'
import { silentLog, type Log } from '../interface/log.js'
import { actRefusal } from '../identity/node-identity.js'
import { HubLedger, HubUplink, reportProtocolOn, type ReportProtocol } from '../ledger/index.js'
import { ChangeFeed } from '../ledger/report/index.js'
import { startHubFleet } from './hub-fleet.js'
import { hubHoldingsOf } from './hub-holdings.js'
import { startHubWaveGate } from './hub-wave-gate.js'
import { SuperHubFailover } from '../ledger/super-failover.js'
import {
  BanCounter, createMetrics, leaseSourceOf, SwarmTally, waveSourceOf,
  type AvailabilitySource, type BundleAvailability, type StoremeshMetrics, type WanSource
} from '../metrics/index.js'
import { policyPrestageAtMs } from '../control/waves/index.js'
import { decodeSignedPolicy, verifyPolicy } from '../policy/index.js'
import { hostTimezone } from '../wan/index.js'
import type { StoreHub } from './store-hub.js'
import { HubLifecycle } from './store-lifecycle.js'
import { createDeviceStoreMetrics } from '../metrics/device-store-metrics.js'
import { storeFigures } from '../ledger/device-store.js'
import { addPrefetch } from '../wan/prefetch-queue.js'
import type { WanPuller } from '../wan/puller.js'
import type { HubOperatorInit } from './hub-operator-init.js'

const superHubsOf = (s: HubOperatorInit['superHub']): ReadonlyArray<string | Multiaddr> => s === undefined ? [] : Array.isArray(s) ? s : [s as string | Multiaddr]

/** the achieved WAN rate is measured over at least this interval */
const WAN_RATE_INTERVAL_MS = 1000

export class HubOperator {
  readonly ledger: HubLedger
  readonly report: ReportProtocol
  readonly uplink: HubUplink | undefined
  readonly metrics: StoremeshMetrics
  readonly tally: SwarmTally
  readonly bans: BanCounter
  /** pins and eviction after waves (store-lifecycle.ts) */
  readonly lifecycle: HubLifecycle
  api: ApiServer | undefined
  readonly #init: HubOperatorInit

  private constructor (init: HubOperatorInit, ledger: HubLedger, report: ReportProtocol, uplink: HubUplink | undefined) {
    this.#init = init
    this.ledger = ledger
    this.report = report
    this.uplink = uplink
    const hub = init.hub
    const wanBytes = (): { lan: { up: number, down: number }, wan: { up: number, down: number } } => {
      const s = init.wan?.()?.stats
      return { lan: { up: 0, down: 0 }, wan: { up: s?.wireBytesOut ?? 0, down: s?.payloadBytes ?? 0 } }
    }
    this.tally = new SwarmTally(() => hub.peer.chunks.swarms(), [wanBytes])
    hub.onRetireSwarm = swarm => { this.tally.retire(swarm) }
    this.bans = new BanCounter(hub.peer.bans)
    this.lifecycle = new HubLifecycle({
      store: hub.peer.store,
      ledger,
      beforeEvict: async id => { await hub.peer.chunks.leave(id) },
      ...(init.lifecycleIntervalMs !== undefined ? { intervalMs: init.lifecycleIntervalMs } : {}),
      ...(init.log !== undefined ? { log: init.log } : {})
    })
    this.metrics = createMetrics(init.registry ?? new Registry(), {
      availability: availabilityOf(hub),
      store: hub.peer.store,
      traffic: this.tally,
      ...(init.wan !== undefined ? { wan: wanSourceOf(init.wan) } : {}),
      security: {
        verifyFailuresTotal: () => this.tally.badChunks(),
        peerBansTotal: () => this.bans.total,
        peersBanned: () => hub.peer.bans.list().length,
        peerViolationsTotal: () => Object.fromEntries(hub.peer.chunks.scorer.violationCounts),
        banRefusalsTotal: () => hub.peer.addressBans.refusals(),
        superseedHoardersTotal: () => this.tally.hoarders()
      },
      waves: waveSourceOf(ledger),
      leases: leaseSourceOf(hub.leases),
      ...(hub.peer.identities !== undefined ? { identity: { peerRefusalsTotal: () => hub.peer.identities?.refusalCounts() ?? {} } } : {}),
      trust: {
        rootVersion: () => hub.peer.root.version,
        stale: async () => {
          const f = await hub.peer.freshness.read()
          return f.state === 'none' ? undefined : f.state === 'stale' ? 1 : 0
        }
      }
    })
    createDeviceStoreMetrics(this.metrics.registry, { pausedByReason: async () => storeFigures((await ledger.deviceStores()).map(d => d.store)).pausedByReason })
  }

  static async start (init: HubOperatorInit): Promise<HubOperator> {
    const log = (init.log ?? silentLog).child({ component: 'api' })
    const node = init.hub.peer.node
    let uplink: HubUplink | undefined
    // A device's new state goes up to the super hub at once, not at the uplink's next
    // poll (30 s): the fleet's wave totals, and the halts a rollback ratio triggers,
    // lagged the store by up to a poll. Kicks while an exchange runs fold into one more.
    // a changed order wakes the devices' held report polls (report 1.2.0 long-poll)
    const changes = new ChangeFeed()
    // the store lifecycle's pins and evictions follow devices' reports and wave orders: it checks again at its base pace
    let pokeLifecycle = (): void => {}
    const ledger = await HubLedger.open(init.dataDir, {
      onOutbox: () => { uplink?.kick(); pokeLifecycle() },
      onOrder: () => { changes.changed(); pokeLifecycle() },
      onEntries: () => { pokeLifecycle() }
    })
    // the hub's node is built by LanPeer with its fixed services: the report handler is
    // mounted on it afterwards, the way libp2p would (registrar + connection manager)
    const identities = init.hub.peer.identities
    // roots, revocations and timestamp statements: from the super hub's answers, into the devices' (trust-exchange.ts)
    const trust = trustExchangeOf(init.dataDir, init.hub.peer.root, identities, init.log, node.services.identity)
    const report = reportProtocolOn(node, { devices: ledger, changes, trust, ...(identities !== undefined ? { deviceIdOf: (id: string) => identities.boundDeviceId(id), onUnbound: actRefusal(identities, (init.log ?? silentLog).child({ component: 'identity' }), 'report-unbound') } : {}) })
    // a newer revocation list (from the super hub's answers or a peer) wakes the devices' held polls: they refuse the revoked within one interval
    identities?.on('revocations', () => { changes.changed() })
    let op: HubOperator | undefined
    try {
      await report.start()
      // fleet orders (hold, release, rollback, prestage) from the super hub: stored, then acted on
      const fleet = await startHubFleet({ ledger, dataDir: init.dataDir, pokeWan: () => { init.wan?.()?.poke() }, onChange: () => { changes.changed() }, log: (init.log ?? silentLog).child({ component: 'ledger' }) })
      init.hub.holdOf = fleet.holdOf
      const supers = superHubsOf(init.superHub).map(a => typeof a === 'string' ? multiaddr(a) : a)
      if (supers.length > 0) {
        const ledgerLog = (init.log ?? silentLog).child({ component: 'ledger' })
        const failover = new SuperHubFailover(report, supers, { onSwitch: s => { ledgerLog.warn(`reports move to super hub ${s.to}: ${s.from} failed (${s.error.toLine()})`) } })
        // no install lease for a wave until the super hub said this store's word on it (store-wave-gate.ts)
        const waves = await startHubWaveGate({ dataDir: init.dataDir, orders: ledger, ask: () => { uplink?.kick() }, log: ledgerLog })
        init.hub.waveHoldOf = waves.holdOf
        init.hub.waveGates = waves.view
        uplink = new HubUplink({ hubId: init.hubId ?? node.peerId.toString(), ledger, client: failover, superHub: () => failover.current(), fleet: fleet.sink, trust, onChange: () => { changes.changed() }, holdings: hubHoldingsOf(init.hub), answers: waves.answers })
        uplink.start()
        // a bundle pre-staged is news for the fleet's waves: its holdings go up now, not after the held poll
        init.wan?.()?.on('prestaged', () => { uplink?.kick() })
      }
      op = new HubOperator(init, ledger, report, uplink)
      const lifecycle = op.lifecycle
      pokeLifecycle = () => { lifecycle.poke() }
      lifecycle.start()
      if (init.api !== undefined) {
        const api = new ApiServer({
          token: await loadOrCreateApiToken(init.dataDir),
          sources: op.sources(),
          handlers: op.handlers(),
          metrics: op.metrics,
          ...(init.api.host !== undefined ? { host: init.api.host } : {}),
          ...(init.api.port !== undefined ? { port: init.api.port } : {}),
          ...(init.api.hostNames !== undefined ? { hostNames: init.api.hostNames } : {}),
          onError: (err, req) => { log.warn(`api ${req.method} ${req.path}: ${toStoremeshError(err).toLine()}`) }
        })
        try {
          await api.start()
          op.api = api
          // `storemesh status --data` finds the API of the hub running on this data dir here
          await writeFileAtomic(join(init.dataDir, API_URL_FILE), JSON.stringify({ url: api.url }) + '\n', { durable: false })
        } catch (err) {
          if (init.api.optional !== true) throw toStoremeshError(err)
          log.warn(`API not started (${api.host}:${init.api.port ?? 'default port'}): ${toStoremeshError(err).toLine()}; give --api-port to choose another port`)
        }
      }
      return op
    } catch (err) {
      if (op !== undefined) await op.stop().catch(() => {})
      else {
        await uplink?.stop().catch(() => {})
        await report.stop().catch(() => {})
        await ledger.close().catch(() => {})
      }
      throw err
    }
  }

  /** What the API reads. */
  sources (): ApiSources {
    const hub = this.#init.hub
    const store = hub.peer.store
    return {
      status: async (): Promise<StatusView> => {
        const s = await hub.peer.status()
        const wan = this.#init.wan?.()
        return {
          ...s,
          id: this.#init.hubId ?? s.peerId,
          startedAtMs: hub.peer.startedAt.getTime(),
          traffic: this.tally.bytes(),
          wan: wan !== undefined ? { open: wan.open, limitBytesPerSec: wan.limiter.rateBytesPerSec, ...wan.stats } : null,
          leases: { inUse: hub.leases.active().length, limit: hub.leases.limit },
          uplink: this.uplink?.status() ?? null
        }
      },
      bundles: async (): Promise<BundleView[]> => await Promise.all(store.listBundles().map(async rec => ({
        id: rec.id,
        name: rec.name,
        version: rec.version,
        deviceClass: rec.deviceClass,
        state: rec.state,
        pins: [...rec.pins],
        pieceCount: rec.pieceCount,
        heldChunks: hub.peer.chunks.swarm(rec.id)?.progress().heldChunks ?? (await store.heldPieces(rec.id)).filter(Boolean).length,
        totalBytes: rec.totalBytes
      }))),
      cache: (limit: number): CacheView => {
        const st = store.stats()
        const recs = store.listBundles()
          .map(r => ({ r, used: r.verifiedMs ?? r.addedMs }))
          .sort((a, b) => b.used - a.used)
        return {
          usedBytes: st.usedBytes,
          quotaBytes: st.quotaBytes ?? null,
          chunkCount: st.chunkCount,
          total: recs.length,
          paused: st.paused !== undefined ? { reason: st.paused.reason, sinceMs: st.paused.sinceMs, detail: st.paused.detail } : null,
          entries: recs.slice(0, limit).map(({ r, used }) => ({
            bundleId: r.id, name: r.name, version: r.version, state: r.state, pins: [...r.pins], totalBytes: r.totalBytes, lastUsedMs: used
          }))
        }
      },
      peers: (): PeerView[] => {
        const banned = new Set(hub.peer.bans.list().map(b => b.peerId))
        const swarms = hub.peer.chunks.swarms()
        const supers = new Set(superHubsOf(this.#init.superHub).map(a => String(a).split('/p2p/')[1]))
        const seen = new Map<string, PeerView>()
        for (const c of hub.peer.node.getConnections()) {
          const id = c.remotePeer.toString()
          if (seen.has(id)) continue
          seen.set(id, {
            peerId: id,
            link: supers.has(id) ? 'wan' : 'lan',
            bundles: swarms.filter(s => s.peerIds().includes(id)).length,
            banned: banned.has(id)
          })
        }
        return [...seen.values()]
      },
      ledger: async q => await ledgerView(this.ledger, q),
      device: async deviceId => await deviceView(this.ledger, deviceId),
      availability: availabilityOf(hub)
    }
  }

  /** What the API's writes do; each idempotent. */
  handlers (): ApiHandlers {
    const store = this.#init.hub.peer.store
    return {
      cachePin: async ({ bundle }) => {
        const before = store.getBundle(bundle)?.pins.includes('manual') === true
        const rec = await store.pin(bundle, 'manual')
        return { changed: !before, bundleId: rec.id, pins: [...rec.pins] }
      },
      cacheUnpin: async ({ bundle }) => {
        const before = store.getBundle(bundle)?.pins.includes('manual') === true
        const rec = before ? await store.unpin(bundle, 'manual') : store.getBundle(bundle)
        if (rec === undefined) throw new StoremeshError('E_BUNDLE_NOT_FOUND', `bundle ${bundle} is not in the store`, { bundle })
        const auto = rec.pins.filter(p => p !== 'manual')
        return {
          changed: before,
          bundleId: rec.id,
          pins: [...rec.pins],
          ...(auto.length > 0 ? { detail: `still pinned by the hub itself (${auto.join(', ')}): the newest bundle of its class and the one below it stay` } : {})
        }
      },
      cacheEvict: async ({ bundle, dryRun }): Promise<EvictionView> => {
        const run = await this.lifecycle.evict({ ...(bundle !== undefined ? { bundle } : {}), ...(dryRun !== undefined ? { dryRun } : {}) })
        return {
          dryRun: run.dryRun,
          evicted: run.evicted.map(e => ({ bundleId: e.bundle.id, name: e.bundle.name, version: e.bundle.version, chunks: e.chunks, bytes: e.bytes })),
          kept: run.kept.map(k => ({ bundleId: k.id, name: k.name, version: k.version, pins: k.pins }))
        }
      },
      startWave: async (waveId, body) => await startWave(this.ledger, waveId, body.cohort),
      pauseWave: async (waveId, body) => await pauseWave(this.ledger, waveId, body.reason),
      rollbackDevice: async (deviceId, body) => {
        // an order in the ledger, handed to the device in its next report answer
        // (report 1.1.0); a repeat while open, or after it did its work, changes nothing
        const r = await this.ledger.issueDeviceOrder({ deviceId, action: 'rollback', reason: body.reason })
        if (r.changed) this.report.changes.changed()
        const known = (await this.ledger.device(deviceId)) !== undefined
        return {
          changed: r.changed,
          device: deviceId,
          orderId: r.record.order.orderId,
          state: r.record.state,
          ...(r.record.outcome !== undefined ? { outcome: r.record.outcome } : {}),
          detail: r.detail ?? (known
            ? 'ordered; the device runs it on its next report to this hub'
            : 'ordered; no device with this id has reported to this hub yet, it runs when one does')
        }
      },
      prefetch: async (body): Promise<ActionResult> => {
        const env = decodeSignedPolicy(new TextEncoder().encode(body.policy))
        const v = verifyPolicy(env, this.#init.trust)
        // the policy's maxConcurrentPerHub becomes the lease limit when it is the tightest (a looser --max-concurrent-installs is set aside)
        await this.#init.hub.rollout.apply(env)
        const timezone = v.policy.spec.schedule.timezone ?? hostTimezone()
        const notBeforeMs = policyPrestageAtMs(v.policy.spec.schedule, Date.now())
        const { entry, added } = await addPrefetch(this.#init.dataDir, {
          bundleId: v.policy.spec.bundle.id,
          policyId: v.policyId,
          ...(notBeforeMs !== undefined ? { notBeforeMs } : {}),
          ...(body.window !== undefined ? { window: body.window, timezone } : {})
        })
        const wan = this.#init.wan?.()
        wan?.poke()
        return {
          changed: added,
          bundleId: entry.bundleId,
          state: entry.state,
          ...(wan === undefined ? { detail: 'queued; this hub has no --super, so nothing pulls it until one is given' } : {})
        }
      }
    }
  }

  async stop (): Promise<void> {
    const log = this.#init.log ?? silentLog
    const quiet = (what: string, component: string) => (err: unknown): void => {
      if (!isStoremeshError(err, 'E_ABORTED')) log.child({ component }).warn(`${what} stop: ${toStoremeshError(err).toLine()}`)
    }
    await this.api?.stop().catch(quiet('api', 'api'))
    await this.lifecycle.stop()
    await this.uplink?.stop().catch(quiet('uplink', 'ledger'))
    await this.report.stop().catch(quiet('report', 'ledger'))
    this.bans.close()
    await this.ledger.close().catch(quiet('ledger', 'ledger'))
  }
}

/**
 * Availability of every bundle the hub holds: its own have-set (the swarm's, else the
 * store's bitfield) and what each connected peer announced in the bundle's swarm.
 */
export function availabilityOf (hub: StoreHub): AvailabilitySource {
  return {
    bundles: async () => {
      const out: BundleAvailability[] = []
      for (const rec of hub.peer.store.listBundles()) {
        const swarm = hub.peer.chunks.swarm(rec.id)
        const local = swarm !== undefined ? swarm.held.bytes.slice() : await hub.peer.store.bitfield(rec.id)
        const peers = swarm === undefined
          ? []
          : swarm.peerIds().flatMap(peerId => {
            const bits = swarm.peerBitfield(peerId)
            return bits !== undefined ? [{ peerId, bitfield: bits.bytes.slice() }] : []
          })
        out.push({ bundleId: rec.id, name: rec.name, version: rec.version, pieceCount: rec.pieceCount, local, peers })
      }
      return out
    }
  }
}

/** The WAN limit in force and the payload rate achieved since the last reading (>= 1 s apart). */
function wanSourceOf (wan: () => WanPuller | undefined): WanSource {
  let last = { atMs: Date.now(), bytes: 0 }
  let rate = 0
  return {
    limitBytesPerSec: () => wan()?.limiter.rateBytesPerSec ?? 0,
    achievedBytesPerSec: () => {
      const bytes = wan()?.stats.payloadBytes ?? 0
      const now = Date.now()
      if (now - last.atMs >= WAN_RATE_INTERVAL_MS) {
        rate = ((bytes - last.bytes) * 1000) / (now - last.atMs)
        last = { atMs: now, bytes }
      }
      return rate
    }
  }
}
