/**
 * A hub on the chunk wire for the LAN attack tests: a real libp2p node under the fleet
 * key serving a memory store, every upload through upload turns and one rate limiter,
 * as roles/peer.ts wires a capped hub.
 */
import { createStoremeshNode, type StoremeshNode } from '../../src/net/node.js'
import type { SwarmKey } from '../../src/net/swarm-key.js'
import { chunkProtocol, UploadTurns, type ChunkProtocol } from '../../src/swarm/index.js'
import { Limiter } from '../../src/wan/limiter.js'
import type { MemoryStore } from './memory-store.js'

export type ChunkNode = StoremeshNode<{ chunks: ChunkProtocol }>

export async function startCappedHub (swarmKey: SwarmKey, store: MemoryStore, rateBytesPerSec: number): Promise<ChunkNode> {
  const limiter = new Limiter({ rateBytesPerSec, name: 'hub-upload' })
  return await createStoremeshNode({
    swarmKey,
    services: {
      chunks: chunkProtocol({
        store,
        uploadLimiter: new UploadTurns(async (bytes, options) => { await limiter.acquire(bytes, options?.signal) }).acquire
      })
    }
  })
}
