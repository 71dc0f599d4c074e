/**
 * Shared set-up of the WAN tests: a super hub (real store, real libp2p node on
 * 127.0.0.1 with a fixed identity so it can be restarted on the same address) and
 * store hubs (store + node + WanPuller). Bundles come from test/support/store-fixture.ts.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { join } from 'node:path'
import { createStoremeshNode, type StoremeshNode } from '../../src/net/node.js'
import { generateSwarmKey } from '../../src/net/swarm-key.js'
import { openStore, type ChunkStore } from '../../src/store/index.js'
import { startSuperHub, type SuperHub, type SuperHubInit } from '../../src/roles/super-hub.js'
import { createWanPuller, type WanPuller, type WanPullerInit } from '../../src/wan/puller.js'
import { addPrefetch } from '../../src/wan/prefetch-queue.js'
import { FIXTURE_TRUST, tempDir, writeBundleDir, type FixtureBundle } from '../support/store-fixture.js'

export const swarmKey = generateSwarmKey()
export const trust = FIXTURE_TRUST

type T = { teardown: (fn: () => Promise<void>) => void }

export interface SuperFixture {
  hub: SuperHub | undefined
  key: PrivateKey
  addr: string
  dataDir: string
  served: Map<string, number>
  start(extra?: Partial<SuperHubInit>): Promise<SuperHub>
  stop(): Promise<void>
}

export async function superFixture (t: T, bundles: FixtureBundle[], init: Partial<SuperHubInit> = {}): Promise<SuperFixture> {
  const root = await tempDir(t, 'wan-super-')
  const bundlesDir = join(root, 'bundles')
  for (const [i, b] of bundles.entries()) await writeBundleDir(join(bundlesDir, `b${i}`), b)
  const key = await generateKeyPair('Ed25519')
  const served = new Map<string, number>()
  let listen = ['/ip4/127.0.0.1/tcp/0']
  const fx: SuperFixture = {
    hub: undefined,
    key,
    addr: '',
    dataDir: join(root, 'data'),
    served,
    async start (extra = {}) {
      const hub = await startSuperHub({
        dataDir: fx.dataDir, bundlesDir, swarmKey, trust, privateKey: key, listen,
        onServed: e => { served.set(e.hash, (served.get(e.hash) ?? 0) + 1) },
        ...init, ...extra
      })
      fx.hub = hub
      const ma = hub.node.getMultiaddrs()[0]!
      fx.addr = ma.toString()
      listen = [ma.decapsulateCode(421).toString()]
      return hub
    },
    async stop () {
      await fx.hub?.stop()
      fx.hub = undefined
    }
  }
  t.teardown(async () => { await fx.stop() })
  await fx.start()
  return fx
}

export interface StoreHubFixture {
  node: StoremeshNode
  store: ChunkStore
  puller: WanPuller
  dataDir: string
  /** chunks received per hash */
  received: Map<string, number>
  prefetch(bundleId: string, window?: string): Promise<void>
}

export async function storeHubFixture (t: T, supers: string[], init: Partial<WanPullerInit> = {}): Promise<StoreHubFixture> {
  const dataDir = await tempDir(t, 'wan-store-')
  const store = await openStore({ dataDir })
  const node = await createStoremeshNode({ swarmKey, dataDir })
  const puller = createWanPuller({ node, store, dataDir, supers, trust, pollMs: 200, retryBaseMs: 100, retryMaxMs: 400, ...init })
  const received = new Map<string, number>()
  puller.on('chunk', (e: { hash: string }) => { received.set(e.hash, (received.get(e.hash) ?? 0) + 1) })
  t.teardown(async () => {
    await puller.stop()
    await node.stop()
    await store.stop()
  })
  return {
    node, store, puller, dataDir, received,
    async prefetch (bundleId, window) {
      await addPrefetch(dataDir, { bundleId, ...(window !== undefined ? { window, timezone: 'UTC' } : {}) })
      puller.poke()
    }
  }
}

export async function nextEvent<E> (emitter: { once: (ev: string, fn: (e: E) => void) => unknown }, ev: string, ms: number): Promise<E> {
  return await new Promise<E>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`no ${ev} within ${ms} ms`)) }, ms)
    emitter.once(ev, (e: E) => { clearTimeout(timer); resolve(e) })
  })
}
