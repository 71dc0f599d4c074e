/**
 * Test-only child: a fleet member (right swarm key, same mDNS tag) that holds a whole
 * bundle and serves every chunk with one byte flipped. Honest peers must score it
 * down, ban it, and fetch the chunks from someone else.
 *
 *   node --import tsx --import ./src/polyfill.ts test/support/lan-bad-peer.ts \
 *     <dataDir> <bundleDir> <swarmKeyFile> <trustFile> <serviceTag> [listenMultiaddr]
 *
 * The listen address defaults to 127.0.0.1; the lab's corrupt-peer drill gives its
 * namespace's LAN address, since no other namespace can reach the loopback.
 *
 * Prints `{"event":"ready","peerId":...}` once seeding; stops on SIGTERM.
 */
import { join } from 'node:path'
import { readTrustedKeyFiles } from '../../src/bundle/keys.js'
import type { ChunkSink } from '../../src/interface/types.js'
import { manifestProtocol } from '../../src/net/manifest/index.js'
import { createStoremeshNode } from '../../src/net/node.js'
import { readSwarmKeyFile } from '../../src/net/swarm-key.js'
import { openStore, storeManifestLookup } from '../../src/store/index.js'
import { chunkProtocol, type ChunkProtocol } from '../../src/swarm/index.js'

const [dataDir, bundleDir, swarmKeyFile, trustFile, serviceTag, listen = '/ip4/127.0.0.1/tcp/0'] = process.argv.slice(2) as [string, string, string, string, string, string?]
const trust = { keys: await readTrustedKeyFiles([trustFile]) }
const store = await openStore({ dataDir: join(dataDir, 'store') })
const { bundle } = await store.importBundleDir(bundleDir, trust)
const info = await store.bundleInfo(bundle.id)

/** The real store, except that every chunk read comes out with its first byte flipped. */
const liar: ChunkSink = {
  has: async hash => await store.has(hash),
  get: async (hash, options) => {
    const bytes = await store.get(hash, options)
    if (bytes === undefined) return undefined
    const bad = new Uint8Array(bytes)
    bad[0] = (bad[0] ?? 0) ^ 0xff
    return bad
  },
  put: async (hash, data, options) => { await store.put(hash, data, options) }
}

const node = await createStoremeshNode<{ chunks: ChunkProtocol, manifest: ReturnType<ReturnType<typeof manifestProtocol>> }>({
  swarmKey: await readSwarmKeyFile(swarmKeyFile),
  listen: [listen],
  mdns: { serviceTag, intervalMs: 500 },
  services: {
    chunks: chunkProtocol({ store: liar }),
    manifest: manifestProtocol({ lookup: storeManifestLookup(store), trust })
  }
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
