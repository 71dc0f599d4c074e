/**
 * Test-only child: a fleet member (right swarm key, same mDNS tag) that claims a whole
 * bundle (a full bitfield) and never serves a chunk: every read waits until the
 * request is dropped. Super-seeding must not take its claims on trust.
 *
 *   node --import tsx --import ./src/polyfill.ts test/support/lan-hoarder.ts \
 *     <dataDir> <bundleDir> <swarmKeyFile> <trustFile> <serviceTag> [listenMultiaddr]
 *
 * Prints `{"event":"ready","peerId":...}` once joined; stops on SIGTERM.
 */
import { join } from 'node:path'
import { readTrustedKeyFiles } from '../../src/bundle/keys.js'
import type { ChunkSink } from '../../src/interface/types.js'
import { createStoremeshNode } from '../../src/net/node.js'
import { readSwarmKeyFile } from '../../src/net/swarm-key.js'
import { openStore } from '../../src/store/index.js'
import { chunkProtocol, type ChunkProtocol } from '../../src/swarm/index.js'

const [dataDir, bundleDir, swarmKeyFile, trustFile, serviceTag, listen = '/ip4/127.0.0.1/tcp/0'] = process.argv.slice(2) as [string, string, string, string, string, string?]
const trust = { keys: await readTrustedKeyFiles([trustFile]) }
const store = await openStore({ dataDir: join(dataDir, 'store') })
const { bundle } = await store.importBundleDir(bundleDir, trust)
const info = await store.bundleInfo(bundle.id)

/** Says it holds every chunk; a read never completes (until its request is dropped). */
const hoarder: ChunkSink = {
  has: async hash => await store.has(hash),
  get: async (_hash, options) => await new Promise<Uint8Array | undefined>((_resolve, reject) => {
    options?.signal?.addEventListener('abort', () => { reject(options.signal?.reason) }, { once: true })
  }),
  put: async (hash, data, options) => { await store.put(hash, data, options) }
}

const node = await createStoremeshNode<{ chunks: ChunkProtocol }>({
  swarmKey: await readSwarmKeyFile(swarmKeyFile),
  listen: [listen],
  mdns: { serviceTag, intervalMs: 500 },
  services: { chunks: chunkProtocol({ store: hoarder }) }
})
await node.services.chunks.join(info)
process.stdout.write(JSON.stringify({ event: 'ready', peerId: node.peerId.toString() }) + '\n')

const stop = async (): Promise<void> => {
  await node.stop()
  await store.stop()
  process.exit(0)
}
process.once('SIGTERM', () => { void stop() })
process.once('SIGINT', () => { void stop() })
