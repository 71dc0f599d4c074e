/**
 * A hoarder: a fleet member (right swarm key, same mDNS tag) whose chunk sink says it
 * holds every chunk of the store and never completes a read (each waits until its
 * request is dropped). Used by the lan-hoarder.ts child and by the hoarders attack of
 * hostile-chunk-peer-main.ts (bench:hostile).
 */
import type { ChunkSink, BundleInfo } from '../../src/interface/types.js'
import { createStoremeshNode, type StoremeshNode } from '../../src/net/node.js'
import type { SwarmKey } from '../../src/net/swarm-key.js'
import type { ChunkStore } from '../../src/store/index.js'
import { chunkProtocol, type ChunkProtocol } from '../../src/swarm/index.js'

export function hoardingSink (store: Pick<ChunkSink, 'has' | 'put'>, onRequest?: () => void, withhold?: ReadonlySet<string>): ChunkSink {
  return {
    // a withheld chunk is not claimed: a partial claim (all but one chunk, say)
    has: async hash => withhold?.has(hash) !== true && await store.has(hash),
    get: async (_hash, options) => await new Promise<Uint8Array | undefined>((_resolve, reject) => {
      onRequest?.()
      options?.signal?.addEventListener('abort', () => { reject(options.signal?.reason) }, { once: true })
    }),
    put: async (hash, data, options) => { await store.put(hash, data, options) }
  }
}

/** More than a store's peers: every peer that asks is unchoked. */
export const HOARDER_UPLOAD_SLOTS = 256

export interface HoarderInit {
  store: ChunkStore
  info: BundleInfo
  swarmKey: SwarmKey | null
  serviceTag: string
  listen?: string
  mdnsIntervalMs?: number
  /**
   * the only peers it connects to (the victim): 20 hoarders in one process that also
   * connect to each other spend their event loop on 190 Noise handshakes and wires, and
   * answered the victim's interested with an unchoke 5-8 s late (bench:hostile) @default all
   */
  allowPeers?: ReadonlySet<string>
  /** a peer asked it for a chunk (it holds every such read: the bench times detection from the first) */
  onRequest?: () => void
  /** chunk hashes it does not claim @default none: it claims every chunk */
  withhold?: ReadonlySet<string>
}

/** Starts a hoarding node that has joined `info`'s swarm. */
export async function startHoarder (init: HoarderInit): Promise<StoremeshNode<{ chunks: ChunkProtocol }>> {
  const node = await createStoremeshNode<{ chunks: ChunkProtocol }>({
    swarmKey: init.swarmKey,
    listen: [init.listen ?? '/ip4/127.0.0.1/tcp/0'],
    mdns: { serviceTag: init.serviceTag, intervalMs: init.mdnsIntervalMs ?? 500 },
    ...(init.allowPeers !== undefined ? { allowPeers: init.allowPeers } : {}),
    // it unchokes everyone at once, as an attacker out to hold the most requests would
    services: { chunks: chunkProtocol({ store: hoardingSink(init.store, init.onRequest, init.withhold), options: { uploadSlots: HOARDER_UPLOAD_SLOTS } }) }
  })
  await node.services.chunks.join(init.info)
  return node
}
