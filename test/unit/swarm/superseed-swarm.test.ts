import t from 'tap'
import { BundleSwarm } from '../../../src/swarm/session.js'
import { MemoryStore } from '../../support/memory-store.js'
import { until } from '../../support/poll.js'
import { chunkSizes, connect, makeBundle, within, type TestBundle, type TestNode } from './helpers.js'

/** every swarm a test starts is stopped after it, pass or fail */
const live: BundleSwarm[] = []
t.afterEach(async () => { await Promise.all(live.splice(0).map(async s => { await s.stop() })) })

async function run (bundle: TestBundle, leechers: number, superseed: boolean): Promise<{ copies: number, nodes: TestNode[], seed: TestNode }> {
  const mk = async (id: string, held: boolean, ss = false): Promise<TestNode> => {
    const store = new MemoryStore(held ? bundle.chunks : [])
    const swarm = new BundleSwarm({ bundle: bundle.info, store, localPeerId: id, superseed: ss })
    await swarm.start()
    live.push(swarm)
    return { id, store, swarm }
  }
  const seed = await mk('hub', true, superseed)
  const nodes: TestNode[] = []
  for (let i = 0; i < leechers; i++) nodes.push(await mk(`dev-${i}`, false))
  const all = [seed, ...nodes]
  for (let i = 0; i < all.length; i++) for (let j = i + 1; j < all.length; j++) connect(all[i] as TestNode, all[j] as TestNode)
  await within(Promise.all(nodes.map(async n => await n.swarm.done)), 60_000, 'all devices done')
  const copies = seed.swarm.progress().bytes.lan.up / bundle.info.totalBytes
  return { copies, nodes, seed }
}

t.test('super-seeding: the hub uploads about one copy while devices exchange among themselves', async t => {
  const bundle = makeBundle(chunkSizes(48, 20_000, 120_000, 9))
  const { copies, nodes, seed } = await run(bundle, 6, true)
  for (const n of nodes) {
    t.equal(n.swarm.progress().heldChunks, bundle.info.pieces.length, `${n.id} complete`)
    t.ok(n.store.verifyAll(), `${n.id} chunks verify`)
  }
  const devUp = nodes.reduce((s, n) => s + n.swarm.progress().bytes.lan.up, 0) / bundle.info.totalBytes
  t.comment(`super-seeding hub: ${copies.toFixed(2)} copies; devices uploaded ${devUp.toFixed(2)} copies; fallback reveals ${seed.swarm.superseedFallbackReveals}`)
  t.ok(copies >= 1, 'the hub uploaded every chunk at least once (nobody else had them)')
  t.ok(copies <= 1.3, `the hub uploaded ${copies.toFixed(2)} copies (<= 1.3)`)
  t.ok(devUp >= 6 - 1.3, 'the devices carried the rest')
  await Promise.all([seed, ...nodes].map(async n => await n.swarm.stop()))

  // the same swarm without super-seeding, to show the setup is one where it matters
  const control = await run(bundle, 6, false)
  t.comment(`plain seeding hub: ${control.copies.toFixed(2)} copies`)
  t.ok(control.copies > copies, 'plain seeding uploads more from the hub')
  await Promise.all([control.seed, ...control.nodes].map(async n => await n.swarm.stop()))
})

t.test('super-seeding with a single device does not stall: offers are released when nobody lacks them', async t => {
  const bundle = makeBundle(chunkSizes(20, 1000, 50_000, 4))
  const { copies, nodes, seed } = await run(bundle, 1, true)
  t.equal(nodes[0]?.swarm.progress().heldChunks, bundle.info.pieces.length)
  t.ok(Math.abs(copies - 1) < 1e-9, 'exactly one copy')
  t.equal(seed.swarm.superseedFallbackReveals, 0, 'finished without the stall fallback')
  await Promise.all([seed, ...nodes].map(async n => await n.swarm.stop()))
})

/** A store that says it holds every chunk and never hands one out: a hoarder. */
class HoardingStore extends MemoryStore {
  override async get (_hash: string, options: { signal?: AbortSignal } = {}): Promise<Uint8Array | undefined> {
    return await new Promise((_resolve, reject) => {
      options.signal?.addEventListener('abort', () => { reject(options.signal?.reason) }, { once: true })
    })
  }
}

t.test('super-seeding: a hoarder with a full bitfield that never serves does not freeze the offers', async t => {
  const bundle = makeBundle(chunkSizes(16, 1000, 40_000, 5))
  const mk = async (id: string, store: MemoryStore, superseed = false): Promise<TestNode> => {
    const swarm = new BundleSwarm({ bundle: bundle.info, store, localPeerId: id, superseed })
    await swarm.start()
    live.push(swarm)
    return { id, store, swarm }
  }
  const hub = await mk('hub', new MemoryStore(bundle.chunks), true)
  const hoarder = await mk('hoarder', new HoardingStore(bundle.chunks))
  const dev = await mk('dev', new MemoryStore())
  connect(hub, hoarder)
  connect(dev, hoarder)
  connect(hub, dev)
  // the stall reveal comes after 15 s: done well before it means the offers flowed
  await within(dev.swarm.done, 60_000, 'the honest device completes')
  t.ok(dev.store.verifyAll(), 'its chunks verify')
  t.equal(hub.swarm.superseedFallbackReveals, 0, 'the hub never needed its stall fallback: offers went on despite the hoarder')
  t.equal(hub.swarm.progress().bytes.lan.up, bundle.info.totalBytes, 'the hub sent exactly one copy')
})

t.test('super-seeding: a hoarder is still judged after every peer claims every chunk (the idle hub stops offering only then)', async t => {
  const bundle = makeBundle(chunkSizes(12, 1000, 40_000, 6))
  // proveWithinMs = 2 x superseedStallMs: the hoarder is judged 2 s after its claim
  const hubSwarm = new BundleSwarm({ bundle: bundle.info, store: new MemoryStore(bundle.chunks), localPeerId: 'hub', superseed: true, options: { superseedStallMs: 1000 } })
  const mk = async (id: string, store: MemoryStore): Promise<TestNode> => {
    const swarm = new BundleSwarm({ bundle: bundle.info, store, localPeerId: id })
    await swarm.start()
    live.push(swarm)
    return { id, store, swarm }
  }
  await hubSwarm.start()
  live.push(hubSwarm)
  const hub: TestNode = { id: 'hub', store: new MemoryStore(), swarm: hubSwarm }
  const hoarder = await mk('hoarder', new HoardingStore(bundle.chunks))
  const dev = await mk('dev', new MemoryStore())
  connect(hub, hoarder)
  connect(hub, dev)
  await within(dev.swarm.done, 60_000, 'the honest device completes')
  // now every peer claims every chunk: before, the offer tick stopped here and the
  // judgement it runs never came, so the hoarder was never counted
  t.ok(await until(() => hubSwarm.superseedHoarders >= 1, 20_000, 100), 'the hub counts the hoarder')
  t.equal(hubSwarm.superseedHoarders, 1, 'once')
  t.ok(await until(() => !hubSwarm.timersArmed.includes('offer'), 20_000, 100), 'the offer tick stops once it is judged')
  t.notOk(hubSwarm.timersArmed.includes('offer'), 'and then the idle hub stops its offer tick')
})
