/**
 * Answers the chunk protocol's question "an inbound stream names info-hash H; which
 * bundle is that?" so a peer that holds chunks of an older bundle serves a newer
 * bundle's unchanged chunks without ever having heard of it (DESIGN.md section 4).
 *
 * The store is asked first. Otherwise the manifest protocol only takes a bundle id or
 * a device class, and H is only a prefix of the id, so we ask the store's hub (and
 * certified peers) for the newest manifest of each device class we know, and keep an
 * answer whose info-hash is H. The answer is verified against the trust keys by the
 * manifest client, then recorded in the store; the caller joins.
 *
 * Bounded work (issue #20: each 68-byte handshake naming a random info-hash made a
 * device fetch and verify a manifest from the peer that named it, and the miss cache
 * was never pruned):
 * - only `sources` are asked: connected peers identified as the store's hub, or
 *   holding a verified certificate; never an uncertified asking peer;
 * - a miss is remembered RESOLVE_NEGATIVE_CACHE_MS, at most RESOLVE_MAX_MISSES of
 *   them, and only while no source appeared that was not asked. A lookup that found
 *   no source at all (the hub's identify not done yet) is not remembered: the
 *   reverted first version cached that for 10 s and every device joined 10 s late;
 * - how often one peer may name unknown hashes is the chunk protocol's budget
 *   (`unknown-bundle-flood`, swarm/chunk-protocol.ts), which bans past it.
 */
import type { PeerId } from '@libp2p/interface'
import type { Log } from '../interface/log.js'
import type { BundleInfo } from '../interface/types.js'
import type { ManifestProtocol } from '../net/manifest/index.js'
import { heldBundleByInfoHash, isHeld, type ChunkStore } from '../store/index.js'
import { BoundedTtlMap } from './bounded-cache.js'
import { DEFAULT_MANIFEST_ASK_PEERS, DEFAULT_MANIFEST_ASK_TIMEOUT_MS, RESOLVE_MAX_MISSES, RESOLVE_NEGATIVE_CACHE_MS } from './lan-constants.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

export interface BundleResolverInit {
  store: ChunkStore
  manifest: () => ManifestProtocol
  /** connected peers trusted to name bundles (the store's hub, certified peers), hubs first */
  sources: () => Promise<PeerId[]>
  /** the device's own class, asked first */
  deviceClass?: string
  /** @default RESOLVE_MAX_MISSES */
  maxMisses?: number
  log?: Log
  now?: () => number
}

/** What was asked, for tests and status. */
export interface ResolverStats {
  /** manifest questions sent */
  manifestFetches: number
  /** lookups answered from the miss cache */
  cachedMisses: number
}

export class BundleResolver {
  readonly #init: BundleResolverInit
  readonly #inflight = new Map<string, Promise<BundleInfo | undefined>>()
  /** info-hash -> the sources asked in vain */
  readonly #misses: BoundedTtlMap<string, ReadonlySet<string>>
  readonly stats: ResolverStats = { manifestFetches: 0, cachedMisses: 0 }

  constructor (init: BundleResolverInit) {
    this.#init = init
    this.#misses = new BoundedTtlMap({ maxEntries: init.maxMisses ?? RESOLVE_MAX_MISSES, ttlMs: RESOLVE_NEGATIVE_CACHE_MS, ...(init.now !== undefined ? { now: init.now } : {}) })
  }

  /** Misses remembered now (bounded by maxMisses). */
  get missCount (): number {
    return this.#misses.size
  }

  /** The ChunkProtocolInit.resolveBundle hook. */
  readonly resolve = async (infoHash: Uint8Array, peerId: string, options: { signal?: AbortSignal } = {}): Promise<BundleInfo | undefined> => {
    const key = hex(infoHash)
    const running = this.#inflight.get(key)
    if (running !== undefined) return await running
    const p = this.#resolve(key, peerId, options.signal).finally(() => { this.#inflight.delete(key) })
    this.#inflight.set(key, p)
    return await p
  }

  async #resolve (key: string, asking: string, signal?: AbortSignal): Promise<BundleInfo | undefined> {
    const { store } = this.#init
    const held = await heldBundleByInfoHash(store, Buffer.from(key, 'hex'))
    if (held !== undefined) return held
    const sources = (await this.#init.sources()).slice(0, DEFAULT_MANIFEST_ASK_PEERS)
    if (sources.length === 0) return undefined
    const asked = this.#misses.get(key)
    if (asked !== undefined && sources.every(p => asked.has(p.toString()))) {
      this.stats.cachedMisses++
      return undefined
    }
    const classes = [...new Set([this.#init.deviceClass, ...store.listBundles().map(r => r.deviceClass)])]
      .filter((c): c is string => c !== undefined)
    for (const peer of sources) {
      for (const deviceClass of classes) {
        if (signal?.aborted === true) return undefined
        let info: BundleInfo
        try {
          this.stats.manifestFetches++
          info = await this.#init.manifest().fetch(peer, { deviceClass }, { signal, timeoutMs: DEFAULT_MANIFEST_ASK_TIMEOUT_MS })
        } catch {
          continue
        }
        if (hex(info.infoHash) !== key) continue
        if (!isHeld(store.bundleState(info.id))) await store.addBundle(info)
        this.#init.log?.info({ bundle: info.id, peer: peer.toString(), asking }, `learned bundle ${info.id} (${info.manifest.signed.name} ${info.manifest.signed.version}) from ${peer.toString()}`)
        return info
      }
    }
    if (signal?.aborted !== true) this.#misses.set(key, new Set(sources.map(p => p.toString())))
    return undefined
  }
}
