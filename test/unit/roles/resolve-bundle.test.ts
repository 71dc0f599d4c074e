/**
 * The resolver's bounds (issue #20), with real libp2p nodes on 127.0.0.1 and a real
 * store: random info-hashes named by a peer never make the device ask that peer for a
 * manifest, cost at most one manifest per class from the hub, are rate limited per
 * peer, and the miss cache stays bounded in size and age.
 */
import t, { type Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodeManifest } from '../../../src/bundle/manifest.js'
import { manifestProtocol, type ManifestLookup } from '../../../src/net/manifest/index.js'
import { createStoremeshNode } from '../../../src/net/node.js'
import { generateSwarmKey } from '../../../src/net/swarm-key.js'
import { BoundedTtlMap } from '../../../src/roles/bounded-cache.js'
import {
  RESOLVE_MAX_MISSES, RESOLVE_NEGATIVE_CACHE_MS, RESOLVE_UNKNOWN_BURST, RESOLVE_UNKNOWN_REFILL_MS
} from '../../../src/roles/lan-constants.js'
import { BundleResolver } from '../../../src/roles/resolve-bundle.js'
import { openStore } from '../../../src/store/index.js'
import { FIXTURE_TRUST, simpleBundle } from '../../support/bundles.js'

const swarmKey = generateSwarmKey()

async function setup (t: Test) {
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
  const resolver = new BundleResolver({
    store,
    manifest: () => device.services.manifest,
    hubs: async () => [hub.peerId],
    deviceClass: 'pos',
    now: () => clock.now
  })
  return { bundle, calls, hub, attacker, resolver, clock, store }
}

t.test('random info-hashes from a peer: never asked of it, one manifest from the hub, rate limited', async t => {
  const { bundle, calls, attacker, resolver, clock, store } = await setup(t)
  const from = attacker.peerId.toString()
  let found = 0
  for (let i = 0; i < 300; i++) if (await resolver.resolve(randomBytes(20), from) !== undefined) found++
  t.equal(found, 0)
  t.equal(calls.attacker, 0, 'the asking peer is never asked for a manifest')
  t.equal(calls.hub, 1, 'the hub was asked once: its answer for the class is reused')
  t.equal(resolver.stats.rateLimited, 300 - RESOLVE_UNKNOWN_BURST, 'past its burst, the peer\'s unknown hashes are refused at once')
  t.ok(resolver.missCount <= RESOLVE_UNKNOWN_BURST)

  // the budget refills; a real new bundle the hub knows is still learned
  clock.now += RESOLVE_UNKNOWN_REFILL_MS
  const info = await resolver.resolve(bundle.info.infoHash, from)
  t.equal(info?.id, bundle.info.id, 'learned from the hub')
  t.equal(calls.attacker, 0)
  t.ok(store.bundleState(bundle.info.id) !== undefined, 'recorded in the store')
})

t.test('the miss cache is bounded in size and age', async t => {
  const { calls, resolver, clock } = await setup(t)
  // many askers (each with its own budget): every hash is a miss
  const hashes: Uint8Array[] = []
  for (let i = 0; i < RESOLVE_MAX_MISSES + 500; i++) {
    const h = randomBytes(20)
    hashes.push(h)
    await resolver.resolve(h, `peer-${i}`)
  }
  t.equal(resolver.missCount, RESOLVE_MAX_MISSES, `at most ${RESOLVE_MAX_MISSES} misses kept`)
  t.equal(calls.hub, 1, 'still one manifest from the hub')
  const fetches = resolver.stats.manifestFetches
  // a remembered miss costs nothing; one past its age is looked up again
  await resolver.resolve(hashes.at(-1)!, 'peer-x')
  t.equal(resolver.stats.manifestFetches, fetches, 'a remembered miss is not looked up')
  clock.now += RESOLVE_NEGATIVE_CACHE_MS
  await resolver.resolve(hashes.at(-1)!, 'peer-y')
  t.equal(resolver.stats.manifestFetches, fetches + 1, 'an expired miss (and hub answer) is looked up again')
  t.equal(calls.hub, 2)
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
