/**
 * Answers the chunk protocol's question "an inbound stream names info-hash H; which
 * bundle is that?" so a peer that holds chunks of an older bundle serves a newer
 * bundle's unchanged chunks without ever having heard of it (DESIGN.md section 4).
 *
 * The store is asked first. Otherwise the manifest protocol only takes a bundle id or
 * a device class, and H is only a prefix of the id, so we ask the asking peer (then
 * other connected peers, hubs first) for the newest manifest of each device class we
 * know, and keep an answer whose info-hash is H. The answer is verified against the
 * trust keys by the manifest client, then recorded in the store; the caller joins.
 */
import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Log } from '../interface/log.js'
import type { BundleInfo } from '../interface/types.js'
import type { ManifestProtocol } from '../net/manifest/index.js'
import { heldBundleByInfoHash, isHeld, type ChunkStore } from '../store/index.js'
import { DEFAULT_MANIFEST_ASK_PEERS, DEFAULT_MANIFEST_ASK_TIMEOUT_MS, RESOLVE_NEGATIVE_CACHE_MS } from './lan-constants.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

export interface BundleResolverInit {
  store: ChunkStore
  manifest: () => ManifestProtocol
  /** connected peers, hubs first */
  peers: () => Promise<PeerId[]>
  /** the device's own class, asked first */
  deviceClass?: string
  log?: Log
  now?: () => number
}

export class BundleResolver {
  readonly #init: BundleResolverInit
  readonly #inflight = new Map<string, Promise<BundleInfo | undefined>>()
  readonly #misses = new Map<string, number>()
  readonly #now: () => number

  constructor (init: BundleResolverInit) {
    this.#init = init
    this.#now = init.now ?? Date.now
  }

  /** The ChunkProtocolInit.resolveBundle hook. */
  readonly resolve = async (infoHash: Uint8Array, peerId: string, options: { signal?: AbortSignal } = {}): Promise<BundleInfo | undefined> => {
    const key = hex(infoHash)
    const running = this.#inflight.get(key)
    if (running !== undefined) return await running
    const missAt = this.#misses.get(key)
    if (missAt !== undefined && this.#now() - missAt < RESOLVE_NEGATIVE_CACHE_MS) return undefined
    const p = this.#resolve(key, peerId, options.signal).finally(() => { this.#inflight.delete(key) })
    this.#inflight.set(key, p)
    return await p
  }

  async #resolve (key: string, asking: string, signal?: AbortSignal): Promise<BundleInfo | undefined> {
    const { store } = this.#init
    const held = await heldBundleByInfoHash(store, Buffer.from(key, 'hex'))
    if (held !== undefined) return held
    const classes = [...new Set([this.#init.deviceClass, ...store.listBundles().map(r => r.deviceClass)])]
      .filter((c): c is string => c !== undefined)
    const askingId = peerIdFromString(asking)
    const others = (await this.#init.peers()).filter(p => !p.equals(askingId))
    const peers = [askingId, ...others].slice(0, DEFAULT_MANIFEST_ASK_PEERS)
    for (const peer of peers) {
      for (const deviceClass of classes) {
        if (signal?.aborted === true) return undefined
        let info: BundleInfo
        try {
          info = await this.#init.manifest().fetch(peer, { deviceClass }, { signal, timeoutMs: DEFAULT_MANIFEST_ASK_TIMEOUT_MS })
        } catch {
          continue
        }
        if (hex(info.infoHash) !== key) continue
        if (!isHeld(store.bundleState(info.id))) await store.addBundle(info)
        this.#init.log?.info({ bundle: info.id, peer: peer.toString() }, `learned bundle ${info.id} (${info.manifest.signed.name} ${info.manifest.signed.version}) from ${peer.toString()}`)
        return info
      }
    }
    this.#misses.set(key, this.#now())
    return undefined
  }
}
