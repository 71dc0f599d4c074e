import t from 'tap'
import { blake3Hex } from '../../../src/bundle/hash.js'
import { BundleSwarm, type BundleSwarmInit } from '../../../src/swarm/session.js'
import { MemoryStore } from '../../support/memory-store.js'
import { chunkSizes, connect, duplexPair, makeBundle, within, type TestBundle, type TestNode } from './helpers.js'
import { waitFor } from '../../support/poll.js'

/** every swarm a test starts is stopped after it, pass or fail */
const live: BundleSwarm[] = []
t.afterEach(async () => { await Promise.all(live.splice(0).map(async s => { await s.stop() })) })

async function node (id: string, bundle: TestBundle, held: 'all' | 'none', extra: Partial<BundleSwarmInit> = {}): Promise<TestNode> {
  const store = new MemoryStore(held === 'all' ? bundle.chunks : [])
  const swarm = new BundleSwarm({ bundle: bundle.info, store, localPeerId: id, ...extra })
  await swarm.start()
  live.push(swarm)
  return { id, swarm, store }
}

t.test('endgame: chunks stuck at a peer that never answers are fetched from another and cancelled there', async t => {
  const bundle = makeBundle(chunkSizes(16, 10_000, 80_000, 8))
  // the stuck seed takes every request and never sends: its limiter waits until stop()
  const stuck = await node('s-stuck', bundle, 'all', { uploadLimiter: async (_bytes, o = {}) => { await new Promise((_resolve, reject) => { o.signal?.addEventListener('abort', () => reject(new Error('stopped'))) }) } })
  const fast = await node('s-fast', bundle, 'all')
  const leech = await node('l', bundle, 'none')
  let sawEndgame = false
  leech.swarm.on('chunk', () => { sawEndgame ||= leech.swarm.endgame })
  connect(leech, stuck)
  await waitFor(() => (leech.swarm.peerWire('s-stuck')?.outstandingRequests ?? 0) > 0, 5000, 'requests at the stuck seed')
  connect(leech, fast)
  await within(leech.swarm.done, 20_000, 'leecher done despite the stuck seed')
  t.ok(sawEndgame, 'the swarm went through endgame')
  t.equal(leech.store.chunks.size, bundle.info.pieces.length)
  t.equal(stuck.swarm.progress().bytes.lan.up, 0, 'the stuck seed sent nothing')
  t.equal(leech.swarm.peerWire('s-stuck')?.outstandingRequests, 0, 'its requests were cancelled')
  await Promise.all([stuck, fast, leech].map(async n => await n.swarm.stop()))
})

t.test('upload throttling hook: per-peer then node limiter take the bytes of every chunk sent', async t => {
  const bundle = makeBundle(chunkSizes(10, 1000, 50_000, 2))
  const calls: string[] = []
  let nodeBytes = 0
  let peerBytes = 0
  const seed = await node('seed', bundle, 'all', { uploadLimiter: async (bytes) => { calls.push('node'); nodeBytes += bytes } })
  const leech = await node('leech', bundle, 'none')
  const [da, db] = duplexPair()
  seed.swarm.addPeer({ remotePeerId: 'leech', duplex: da, link: 'wan', initiator: false, uploadLimiter: async (bytes) => { calls.push('peer'); peerBytes += bytes } })
  leech.swarm.addPeer({ remotePeerId: 'seed', duplex: db, link: 'wan', initiator: true })
  await within(leech.swarm.done, 10_000, 'leecher done')
  const up = seed.swarm.progress().bytes.wan.up
  t.equal(up, bundle.info.totalBytes, 'counted on the WAN link as given')
  t.equal(nodeBytes, up)
  t.equal(peerBytes, up)
  t.same(calls.slice(0, 2), ['peer', 'node'], 'the peer limiter is taken first')
  await seed.swarm.stop(); await leech.swarm.stop()
})

t.test('a chunk stored by another path (WAN) is announced and fetched by peers', async t => {
  const bundle = makeBundle([5000, 6000, 7000])
  const hub = await node('hub', bundle, 'none')
  const dev = await node('dev', bundle, 'none')
  connect(dev, hub)
  await waitFor(() => hub.swarm.progress().peers === 1 && dev.swarm.progress().peers === 1, 5000, 'wired')
  for (const c of bundle.chunks) {
    await hub.store.put(blake3Hex(c), c)
    hub.swarm.noteChunkStored(blake3Hex(c))
  }
  t.ok(hub.swarm.complete)
  await within(dev.swarm.done, 10_000, 'device fetched what the hub got over WAN')
  t.equal(dev.swarm.progress().bytes.lan.down, bundle.info.totalBytes)
  await hub.swarm.stop(); await dev.swarm.stop()
})

t.test('two wires to the same peer: both sides keep the same one', async t => {
  const bundle = makeBundle([1000, 2000, 3000])
  const a = await node('peer-a', bundle, 'all')
  const b = await node('peer-b', bundle, 'none')
  connect(a, b) // opened by a (the smaller id): the winner
  connect(b, a) // opened by b: closed on both sides
  await within(b.swarm.done, 10_000, 'b done')
  await waitFor(() => a.swarm.peerIds().length === 1 && b.swarm.peerIds().length === 1, 5000, 'one wire each')
  t.ok(a.swarm.peerWire('peer-b')?.ready && b.swarm.peerWire('peer-a')?.ready, 'the surviving wire is up on both sides')
  await a.swarm.stop(); await b.swarm.stop()
})

t.test('super-seeding in a star (devices cannot reach each other) still finishes via the stall fallback', async t => {
  const bundle = makeBundle(chunkSizes(12, 1000, 30_000, 6))
  const hub = await node('hub', bundle, 'all', { superseed: true, options: { superseedStallMs: 200, superseedTickMs: 50 } })
  const devs = await Promise.all([0, 1, 2].map(async i => await node(`dev-${i}`, bundle, 'none')))
  for (const d of devs) connect(d, hub)
  await within(Promise.all(devs.map(async d => await d.swarm.done)), 20_000, 'devices done')
  t.ok(hub.swarm.superseedFallbackReveals > 0, `fallback revealed ${hub.swarm.superseedFallbackReveals} chunks`)
  const copies = hub.swarm.progress().bytes.lan.up / bundle.info.totalBytes
  t.ok(Math.abs(copies - 3) < 1e-9, 'with no device-to-device links the hub must send three copies, and did')
  await Promise.all([hub, ...devs].map(async n => await n.swarm.stop()))
})

t.test('super-seeding: a device that got chunks first and left does not strand them', async t => {
  const bundle = makeBundle(chunkSizes(16, 1000, 30_000, 12))
  const hub = await node('hub', bundle, 'all', { superseed: true, options: { superseedStallMs: 300, superseedTickMs: 50 } })
  const quitter = await node('dev-q', bundle, 'none')
  connect(quitter, hub)
  // the quitter takes its first offers, then vanishes before anyone could copy them
  await waitFor(() => quitter.swarm.progress().heldChunks >= 2, 5000, 'quitter got chunks')
  await quitter.swarm.stop()
  const devs = await Promise.all([0, 1].map(async i => await node(`dev-${i}`, bundle, 'none')))
  for (const d of devs) connect(d, hub)
  connect(devs[0] as TestNode, devs[1] as TestNode)
  await within(Promise.all(devs.map(async d => await d.swarm.done)), 20_000, 'remaining devices done')
  t.pass('completed')
  await Promise.all([hub, ...devs].map(async n => await n.swarm.stop()))
})
