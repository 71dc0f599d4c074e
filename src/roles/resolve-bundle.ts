/**
 * Answers the chunk protocol's question "an inbound stream names info-hash H; which
 * bundle is that?" so a peer that holds chunks of an older bundle serves a newer
 * bundle's unchanged chunks without ever having heard of it (DESIGN.md section 4).
 *
 * The store is asked first. Otherwise the manifest protocol only takes a bundle id or
 * a device class, and H is only a prefix of the id, so we ask the store's hub for the
 * newest manifest of each device class we know, and keep an answer whose info-hash is
 * H. The answer is verified against the trust keys by the manifest client, then
 * recorded in the store; the caller joins.
 *
 * Bounded work (issue #20: each 68-byte handshake naming a random info-hash made a
 * device fetch and verify a manifest, and the miss cache grew without end):
 * - only the store's hub is asked (`hubs`: connected peers identified as hubs), never
 *   the asking peer or any other device;
 * - a hub's answer for a class is remembered for RESOLVE_NEGATIVE_CACHE_MS, so random
 *   hashes cost one manifest per class and hub, not one each;
 * - misses are remembered as long, at most RESOLVE_MAX_MISSES of them;
 * - each asking peer has a budget of RESOLVE_UNKNOWN_BURST lookups that reach the
 *   network, refilled one per RESOLVE_UNKNOWN_REFILL_MS; past it its unknown hashes are
 *   refused at once.
 */
import type { PeerId } from '@libp2p/interface'
import type { Log } from '../interface/log.js'
import type { BundleInfo } from '../interface/types.js'
import type { ManifestProtocol } from '../net/manifest/index.js'
import { heldBundleByInfoHash, isHeld, type ChunkStore } from '../store/index.js'
import { BoundedTtlMap } from './bounded-cache.js'
import {
  DEFAULT_MANIFEST_ASK_PEERS, DEFAULT_MANIFEST_ASK_TIMEOUT_MS, RESOLVE_MAX_MISSES, RESOLVE_MAX_TRACKED_PEERS,
  RESOLVE_NEGATIVE_CACHE_MS, RESOLVE_UNKNOWN_BURST, RESOLVE_UNKNOWN_REFILL_MS
} from './lan-constants.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

export interface BundleResolverInit {
  store: ChunkStore
  manifest: () => ManifestProtocol
  /** connected peers identified as the store's hub: the only ones asked */
  hubs: () => Promise<PeerId[]>
  /** the device's own class, asked first */
  deviceClass?: string
  log?: Log
  now?: () => number
}

/** What was asked and refused, for tests and status. */
export interface ResolverStats {
  /** manifest questions sent */
  manifestFetches: number
  /** unknown hashes refused because the asking peer was over its budget */
  rateLimited: number
}

interface Budget { tokens: number, atMs: number }

export class BundleResolver {
  readonly #init: BundleResolverInit
  readonly #inflight = new Map<string, Promise<BundleInfo | undefined>>()
  readonly #misses: BoundedTtlMap<string, true>
  /** hub + class -> the info-hash of the hub's newest manifest of that class */
  readonly #answers: BoundedTtlMap<string, string>
  readonly #budgets: BoundedTtlMap<string, Budget>
  readonly #now: () => number
  readonly stats: ResolverStats = { manifestFetches: 0, rateLimited: 0 }

  constructor (init: BundleResolverInit) {
    this.#init = init
    this.#now = init.now ?? Date.now
    const now = this.#now
    this.#misses = new BoundedTtlMap({ maxEntries: RESOLVE_MAX_MISSES, ttlMs: RESOLVE_NEGATIVE_CACHE_MS, now })
    this.#answers = new BoundedTtlMap({ maxEntries: RESOLVE_MAX_MISSES, ttlMs: RESOLVE_NEGATIVE_CACHE_MS, now })
    // a peer forgotten after a full refill starts with a full budget again: nothing lost
    this.#budgets = new BoundedTtlMap({ maxEntries: RESOLVE_MAX_TRACKED_PEERS, ttlMs: RESOLVE_UNKNOWN_BURST * RESOLVE_UNKNOWN_REFILL_MS, now })
  }

  /** Misses remembered now (bounded by RESOLVE_MAX_MISSES). */
  get missCount (): number {
    return this.#misses.size
  }

  /** The ChunkProtocolInit.resolveBundle hook. */
  readonly resolve = async (infoHash: Uint8Array, peerId: string, options: { signal?: AbortSignal } = {}): Promise<BundleInfo | undefined> => {
    const key = hex(infoHash)
    const running = this.#inflight.get(key)
    if (running !== undefined) return await running
    if (this.#misses.get(key) !== undefined) return undefined
    const p = this.#resolve(key, peerId, options.signal).finally(() => { this.#inflight.delete(key) })
    this.#inflight.set(key, p)
    return await p
  }

  async #resolve (key: string, asking: string, signal?: AbortSignal): Promise<BundleInfo | undefined> {
    const { store } = this.#init
    const held = await heldBundleByInfoHash(store, Buffer.from(key, 'hex'))
    if (held !== undefined) return held
    if (!this.#spend(asking)) {
      this.stats.rateLimited++
      return undefined
    }
    const classes = [...new Set([this.#init.deviceClass, ...store.listBundles().map(r => r.deviceClass)])]
      .filter((c): c is string => c !== undefined)
    const hubs = (await this.#init.hubs()).filter(p => p.toString() !== asking).slice(0, DEFAULT_MANIFEST_ASK_PEERS)
    for (const peer of hubs) {
      for (const deviceClass of classes) {
        if (signal?.aborted === true) return undefined
        const answerKey = `${peer.toString()} ${deviceClass}`
        const known = this.#answers.get(answerKey)
        if (known !== undefined && known !== key) continue
        let info: BundleInfo
        try {
          this.stats.manifestFetches++
          info = await this.#init.manifest().fetch(peer, { deviceClass }, { signal, timeoutMs: DEFAULT_MANIFEST_ASK_TIMEOUT_MS })
        } catch {
          continue
        }
        this.#answers.set(answerKey, hex(info.infoHash))
        if (hex(info.infoHash) !== key) continue
        if (!isHeld(store.bundleState(info.id))) await store.addBundle(info)
        this.#init.log?.info({ bundle: info.id, peer: peer.toString() }, `learned bundle ${info.id} (${info.manifest.signed.name} ${info.manifest.signed.version}) from ${peer.toString()}`)
        return info
      }
    }
    this.#misses.set(key, true)
    return undefined
  }

  /** Takes one lookup from the asking peer's budget; false when it has none left. */
  #spend (peer: string): boolean {
    const now = this.#now()
    const b = this.#budgets.get(peer) ?? { tokens: RESOLVE_UNKNOWN_BURST, atMs: now }
    const refilled = Math.min(RESOLVE_UNKNOWN_BURST, b.tokens + (now - b.atMs) / RESOLVE_UNKNOWN_REFILL_MS)
    if (refilled < 1) {
      this.#budgets.set(peer, { tokens: refilled, atMs: now })
      return false
    }
    this.#budgets.set(peer, { tokens: refilled - 1, atMs: now })
    return true
  }
}
