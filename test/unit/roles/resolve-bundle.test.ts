/**
 * The resolver's bounds (issue #20), with real libp2p nodes on 127.0.0.1 and a real
 * store: the peer naming an unknown info-hash is never asked for its manifest unless
 * it is a source (the store's hub, a certified peer); misses are bounded in number
 * and age; and a lookup made before any source was known is not remembered (the
 * reverted first version did, and every device joined 10 s late).
 */
import t, { type Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { PeerId } from '@libp2p/interface'
import { encodeManifest } from '../../../src/bundle/manifest.js'
import { manifestProtocol, type ManifestLookup } from '../../../src/net/manifest/index.js'
import { createStoremeshNode } from '../../../src/net/node.js'
import { generateSwarmKey } from '../../../src/net/swarm-key.js'
import { BoundedTtlMap } from '../../../src/roles/bounded-cache.js'
import { RESOLVE_MAX_MISSES, RESOLVE_NEGATIVE_CACHE_MS } from '../../../src/roles/lan-constants.js'
import { BundleResolver } from '../../../src/roles/resolve-bundle.js'
import { openStore } from '../../../src/store/index.js'
import { FIXTURE_TRUST, simpleBundle } from '../../support/bundles.js'

const swarmKey = generateSwarmKey()

async function setup (t: Test, maxMisses = RESOLVE_MAX_MISSES) {
  const bundle = simpleBundle(3, 4, 1024, { deviceClass: 'pos' })
  const calls = { hub: 0, attacker: 0 }
  const serve = (who: keyof typeof calls): ManifestLookup => async req => {
    calls[who]++
    return 'deviceClass' in req && req.deviceClass === 'pos' ? encodeManifest(bundle.info.manifest) : undefined
  }
  const hub = await createStoremeshNode({ swarmKey, services: { manifest: manifestProtocol({ lookup: serve('hub') }) } })
  const attacker = await createStoremeshNode({ swarmKey, services: { manifest: manifestProtocol({ lookup: serve('attacker') }) } })
  const device = await createStoremeshNode({ swarmKey, services: { manifest: manifestProtocol({ trust: FIXTURE_TRUST }) } })
  const dir = await mkdtemp(join(tmpdir(), 'storemesh-resolve-'))
  const store = await openStore({ dataDir: join(dir, 'store') })
  t.teardown(async () => {
    await Promise.all([hub, attacker, device].map(async n => { await n.stop() }))
    await store.stop()
    await rm(dir, { recursive: true, force: true })
  })
  await device.dial(hub.getMultiaddrs()[0]!)
  await device.dial(attacker.getMultiaddrs()[0]!)
  const clock = { now: 1_000_000 }
  const sources: PeerId[] = [hub.peerId]
  const resolver = new BundleResolver({
    store,
    manifest: () => device.services.manifest,
    sources: async () => sources,
    deviceClass: 'pos',
    maxMisses,
    now: () => clock.now
  })
  return { bundle, calls, hub, attacker, resolver, clock, store, sources }
}

t.test('random info-hashes from a peer: never asked of it, each miss asked of the hub once', async t => {
  const { bundle, calls, attacker, resolver, store } = await setup(t)
  const from = attacker.peerId.toString()
  const hashes = Array.from({ length: 20 }, () => randomBytes(20))
  for (const h of hashes) t.equal(await resolver.resolve(h, from), undefined)
  t.equal(calls.attacker, 0, 'the asking peer is never asked for a manifest')
  t.equal(calls.hub, 20, 'one question to the hub per unknown hash')
  for (const h of hashes) await resolver.resolve(h, from)
  t.equal(calls.hub, 20, 'a remembered miss is not asked again')
  t.equal(resolver.stats.cachedMisses, 20)

  const info = await resolver.resolve(bundle.info.infoHash, from)
  t.equal(info?.id, bundle.info.id, 'a bundle the hub knows is learned from it')
  t.ok(store.bundleState(bundle.info.id) !== undefined, 'and recorded in the store')
  t.equal(calls.attacker, 0)
})

t.test('no source known yet: nothing asked, nothing remembered; a new source voids a miss', async t => {
  const { bundle, calls, hub, attacker, resolver, sources } = await setup(t)
  const from = hub.peerId.toString()
  sources.length = 0
  t.equal(await resolver.resolve(bundle.info.infoHash, from), undefined, 'the hub is not known as one yet')
  t.equal(resolver.missCount, 0, 'that lookup is not cached')
  sources.push(hub.peerId)
  t.equal((await resolver.resolve(bundle.info.infoHash, from))?.id, bundle.info.id, 'learned as soon as the hub is known')

  const h = randomBytes(20)
  await resolver.resolve(h, from)
  t.equal(resolver.missCount, 1)
  const before = calls.hub + calls.attacker
  sources.push(attacker.peerId)
  await resolver.resolve(h, from)
  t.equal(calls.hub + calls.attacker, before + 2, 'a source that appeared since the miss: both are asked again')
})

t.test('the miss cache is bounded in size and age', async t => {
  // a small cap: each miss is a real manifest question to the hub
  const maxMisses = 8
  const { calls, resolver, clock } = await setup(t, maxMisses)
  const hashes: Uint8Array[] = []
  for (let i = 0; i < maxMisses + 5; i++) {
    const h = randomBytes(20)
    hashes.push(h)
    await resolver.resolve(h, `peer-${i % 7}`)
  }
  t.equal(resolver.missCount, maxMisses, `at most ${maxMisses} misses kept`)
  const asked = calls.hub
  await resolver.resolve(hashes.at(-1)!, 'peer-x')
  t.equal(calls.hub, asked, 'a remembered miss is not looked up')
  clock.now += RESOLVE_NEGATIVE_CACHE_MS
  await resolver.resolve(hashes.at(-1)!, 'peer-y')
  t.equal(calls.hub, asked + 1, 'an expired miss is looked up again')
  t.equal(resolver.missCount, 1, 'expired misses were dropped')
})

t.test('BoundedTtlMap: oldest out first, expired entries gone', async t => {
  const clock = { now: 0 }
  const m = new BoundedTtlMap<string, number>({ maxEntries: 3, ttlMs: 100, now: () => clock.now })
  for (const [i, k] of ['a', 'b', 'c', 'd'].entries()) m.set(k, i)
  t.equal(m.size, 3)
  t.equal(m.get('a'), undefined, 'the oldest went first')
  t.equal(m.get('d'), 3)
  m.set('b', 9)
  m.set('e', 4)
  t.equal(m.get('c'), undefined, 'set() refreshed b: c was the oldest')
  t.equal(m.get('b'), 9)
  clock.now = 100
  t.equal(m.get('b'), undefined, 'expired')
  m.set('f', 5)
  t.equal(m.size, 1, 'expired entries pruned on the next set')
})
