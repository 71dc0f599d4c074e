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
import { readSwarmKeyFile } from '../../src/net/swarm-key.js'
import { openStore } from '../../src/store/index.js'
import { startHoarder } from './hoarder-node.js'

const [dataDir, bundleDir, swarmKeyFile, trustFile, serviceTag, listen = '/ip4/127.0.0.1/tcp/0'] = process.argv.slice(2) as [string, string, string, string, string, string?]
const trust = { keys: await readTrustedKeyFiles([trustFile]) }
const store = await openStore({ dataDir: join(dataDir, 'store') })
const { bundle } = await store.importBundleDir(bundleDir, trust)
const info = await store.bundleInfo(bundle.id)

const node = await startHoarder({ store, info, swarmKey: await readSwarmKeyFile(swarmKeyFile), serviceTag, listen })
process.stdout.write(JSON.stringify({ event: 'ready', peerId: node.peerId.toString() }) + '\n')

const stop = async (): Promise<void> => {
  await node.stop()
  await store.stop()
  process.exit(0)
}
process.once('SIGTERM', () => { void stop() })
process.once('SIGINT', () => { void stop() })
