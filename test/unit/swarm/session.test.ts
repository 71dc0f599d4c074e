import t, { type Test } from 'tap'
import { blake3Hex } from '../../../src/bundle/hash.js'
import { BanList, PeerScorer } from '../../../src/swarm/scoring.js'
import { BundleSwarm, type BundleSwarmInit } from '../../../src/swarm/session.js'
import { MemoryStore } from '../../support/memory-store.js'
import { chunkSizes, connect, makeBundle, tokenBucket, within, type TestBundle, type TestNode } from './helpers.js'

/** every swarm a test starts is stopped after it, pass or fail */
const live: BundleSwarm[] = []
t.afterEach(async () => { await Promise.all(live.splice(0).map(async s => { await s.stop() })) })

async function node (id: string, bundle: TestBundle, held: 'all' | 'none' | number[], extra: Partial<BundleSwarmInit> = {}): Promise<TestNode> {
  const chunks = held === 'all' ? bundle.chunks : held === 'none' ? [] : held.map(i => bundle.chunks[i] as Uint8Array)
  const store = new MemoryStore(chunks)
  const swarm = new BundleSwarm({ bundle: bundle.info, store, localPeerId: id, ...extra })
  await swarm.start()
  live.push(swarm)
  return { id, swarm, store }
}

function meshAll (nodes: TestNode[]): void {
  for (let i = 0; i < nodes.length; i++) {
    for (let j = i + 1; j < nodes.length; j++) connect(nodes[i] as TestNode, nodes[j] as TestNode)
  }
}

function holdsBundle (t: Test, n: TestNode, bundle: TestBundle): void {
  for (const p of bundle.info.pieces) t.ok(n.store.chunks.has(p.hash), `${n.id} holds ${p.hash.slice(0, 8)}`)
  t.ok(n.store.verifyAll(), `${n.id}: every stored chunk verifies`)
  t.equal(n.store.rejectedPuts, 0, `${n.id}: the store never saw a bad chunk`)
}

t.test('two peers exchange a multi-chunk bundle', async t => {
  const bundle = makeBundle(chunkSizes(24, 1000, 200_000))
  const seed = await node('12D3-seed', bundle, 'all')
  const leech = await node('12D3-leech', bundle, 'none')
  t.ok(seed.swarm.complete)
  connect(leech, seed)
  await within(leech.swarm.done, 20_000, 'leecher done')
  t.equal(leech.store.chunks.size, bundle.info.pieces.length)
  for (const p of bundle.info.pieces) t.equal(blake3Hex(leech.store.chunks.get(p.hash) as Uint8Array), p.hash)
  const prog = leech.swarm.progress()
  t.equal(prog.heldChunks, prog.totalChunks)
  t.equal(prog.heldBytes, bundle.info.totalBytes)
  t.equal(prog.bytes.lan.down, bundle.info.totalBytes, 'downloaded exactly one copy')
  t.equal(seed.swarm.progress().bytes.lan.up, bundle.info.totalBytes)
  t.equal(prog.bytes.wan.down, 0)
  await seed.swarm.stop(); await leech.swarm.stop()
})

t.test('each received chunk is hashed once: by the swarm, then stored with putVerified when the store has it', async t => {
  const bundle = makeBundle(chunkSizes(12, 1000, 100_000, 5))
  const seed = await node('v-seed', bundle, 'all')
  const leech = await node('v-leech', bundle, 'none')
  connect(leech, seed)
  await within(leech.swarm.done, 20_000, 'leecher done')
  t.equal(leech.store.verifiedPuts, bundle.info.pieces.length, 'every chunk went in through putVerified')
  t.equal(leech.store.puts, 0, 'and none through put(), which would hash it again')
  t.ok(leech.store.verifyAll())

  // a sink without putVerified (the ChunkSink minimum) still gets every chunk, through put()
  const plain = new MemoryStore()
  const sink = { has: plain.has.bind(plain), get: plain.get.bind(plain), put: plain.put.bind(plain) }
  const other = new BundleSwarm({ bundle: bundle.info, store: sink, localPeerId: 'v-plain' })
  await other.start()
  live.push(other)
  connect({ id: 'v-plain', swarm: other, store: plain }, seed)
  await within(other.done, 20_000, 'plain-sink leecher done')
  t.equal(plain.puts, bundle.info.pieces.length)
  t.equal(plain.verifiedPuts, 0)
  t.equal(plain.rejectedPuts, 0)
})

t.test('one seed and five leechers all complete and every chunk verifies', async t => {
  const bundle = makeBundle(chunkSizes(40, 2000, 150_000, 11))
  const seed = await node('p-seed', bundle, 'all')
  const leechers = await Promise.all([1, 2, 3, 4, 5].map(async i => await node(`p-leech-${i}`, bundle, 'none')))
  meshAll([seed, ...leechers])
  await within(Promise.all(leechers.map(async l => await l.swarm.done)), 30_000, 'all leechers done')
  for (const l of leechers) holdsBundle(t, l, bundle)
  const up = leechers.reduce((s, l) => s + l.swarm.progress().bytes.lan.up, 0)
  t.ok(up > 0, 'leechers uploaded to each other')
  t.comment(`seed uploaded ${(seed.swarm.progress().bytes.lan.up / bundle.info.totalBytes).toFixed(2)} copies; leechers ${(up / bundle.info.totalBytes).toFixed(2)}`)
  // seeding continues after completion: a late leecher still completes from the finished ones
  const late = await node('p-late', bundle, 'none')
  for (const l of leechers) connect(late, l)
  await within(late.swarm.done, 20_000, 'late leecher')
  holdsBundle(t, late, bundle)
  t.equal(seed.swarm.progress().peers, 5, 'the seed was not involved')
  await Promise.all([seed, late, ...leechers].map(async n => await n.swarm.stop()))
})

t.test('a peer that holds chunks from another bundle serves them (bitfield from the store)', async t => {
  const v1 = makeBundle(chunkSizes(12, 1000, 60_000, 3), 'test-os', '1.0.0')
  // v2 keeps chunks 0..8 of v1 and has three new ones
  const v2 = makeBundle(chunkSizes(12, 1000, 60_000, 3), 'test-os', '2.0.0', v1.chunks.slice(0, 9))
  const shared = v2.info.pieces.slice(0, 9).map(p => p.hash)
  t.same(shared, v1.info.pieces.slice(0, 9).map(p => p.hash))
  // the old device holds all of v1 and never saw v2; the hub only has v2's new chunks
  const old = await node('d-old', v2, 'none')
  for (const c of v1.chunks) await old.store.put(blake3Hex(c), c)
  await old.swarm.stop()
  const oldInV2 = { id: 'd-old', store: old.store, swarm: new BundleSwarm({ bundle: v2.info, store: old.store, localPeerId: 'd-old' }) }
  await oldInV2.swarm.start()
  live.push(oldInV2.swarm)
  t.equal(oldInV2.swarm.progress().heldChunks, 9, 'v1 chunks count for v2')
  const hub = await node('h-hub', v2, [9, 10, 11])
  const fresh = await node('d-new', v2, 'none')
  connect(fresh, oldInV2)
  connect(fresh, hub)
  await within(fresh.swarm.done, 20_000, 'fresh device')
  holdsBundle(t, fresh, v2)
  const fromOld = oldInV2.swarm.progress().bytes.lan.up
  const sharedBytes = v2.info.pieces.slice(0, 9).reduce((s, p) => s + p.size, 0)
  t.equal(fromOld, sharedBytes, 'the old device served exactly the shared chunks')
  await Promise.all([oldInV2, hub, fresh].map(async n => await n.swarm.stop()))
})

t.test('a malicious peer is banned; honest peers never store a bad chunk and still complete', async t => {
  const bundle = makeBundle(chunkSizes(30, 5000, 120_000, 5))
  // the honest seed is capped, so the liar (uncapped, connected first) gets asked for chunks
  const seed = await node('h-seed', bundle, 'all', { uploadLimiter: tokenBucket(1024 * 1024) })
  const liar = await node('m-liar', bundle, 'all')
  liar.store.corruptReads = true
  const honest: TestNode[] = []
  const banLists: BanList[] = []
  for (let i = 0; i < 3; i++) {
    const bans = new BanList()
    banLists.push(bans)
    honest.push(await node(`h-${i}`, bundle, 'none', { scorer: new PeerScorer({ bans }) }))
  }
  const bad: string[] = []
  for (const h of honest) h.swarm.on('bad-chunk', e => { bad.push(`${h.id}<-${e.peerId}`) })
  for (const h of honest) connect(h, liar)
  meshAll([seed, ...honest])
  await within(Promise.all(honest.map(async h => await h.swarm.done)), 30_000, 'honest peers done')
  for (const h of honest) holdsBundle(t, h, bundle)
  t.ok(bad.length >= 2, `bad chunks were detected (${bad.length})`)
  t.ok(bad.every(b => b.endsWith('<-m-liar')), 'only the liar was blamed')
  t.comment(`bad chunks: ${bad.join(', ')}`)
  const banned = honest.filter((_h, i) => banLists[i]?.isBanned('m-liar') === true)
  t.ok(banned.length >= 1, `the liar is banned by ${banned.length} peers`)
  for (const h of banned) {
    t.notOk(h.swarm.peerIds().includes('m-liar'), `${h.id} dropped the liar`)
    t.throws(() => { connect(h, liar) }, { code: 'E_PEER_BANNED' }, `${h.id} refuses the liar's reconnect`)
  }
  await Promise.all([seed, liar, ...honest].map(async n => await n.swarm.stop()))
})

t.test('stop() rejects done for an incomplete swarm and closes its wires', async t => {
  const bundle = makeBundle([1000, 2000])
  const a = await node('a', bundle, 'none')
  const b = await node('b', bundle, 'none')
  connect(a, b)
  await a.swarm.stop()
  await t.rejects(a.swarm.done, { code: 'E_ABORTED' })
  t.equal(a.swarm.progress().peers, 0)
  await b.swarm.stop()
})
