/** Two super hubs seed one store hub: each chunk crosses the WAN once. */
import t from 'tap'
import { simpleBundle } from '../support/store-fixture.js'
import { nextEvent, storeHubFixture, superFixture } from './wan-fixture.js'

t.test('with two super hubs no chunk crosses the WAN twice', async t => {
  const bundle = simpleBundle(31, 64, 64 * 1024)
  const a = await superFixture(t, [bundle], { perHubRateBytesPerSec: 2 * 1024 * 1024 })
  const b = await superFixture(t, [bundle], { perHubRateBytesPerSec: 2 * 1024 * 1024 })
  const hub = await storeHubFixture(t, [a.addr, b.addr], { batchBytes: 256 * 1024 })
  await hub.puller.start()
  const staged = nextEvent(hub.puller, 'prestaged', 30_000)
  await hub.prefetch(bundle.info.id)
  await staged
  t.equal(hub.store.getBundle(bundle.info.id)?.state, 'verified')
  const servedTotal = new Map<string, number>()
  for (const m of [a.served, b.served]) for (const [h, n] of m) servedTotal.set(h, (servedTotal.get(h) ?? 0) + n)
  t.equal(servedTotal.size, 64, 'every chunk served')
  t.same([...servedTotal.values()].filter(n => n !== 1), [], 'each chunk served by exactly one super hub, once')
  t.same([...hub.received.values()].filter(n => n !== 1), [], 'each chunk received once')
  t.ok(a.served.size > 0 && b.served.size > 0, `both hubs used: ${a.served.size} + ${b.served.size}`)
  t.equal(hub.puller.stats.payloadBytes, 64 * 64 * 1024, 'WAN payload = bundle size')
})

t.test('a chunk is reassigned when its super hub fails, still fetched once', async t => {
  const bundle = simpleBundle(32, 48, 64 * 1024)
  const a = await superFixture(t, [bundle], { perHubRateBytesPerSec: 512 * 1024 })
  const b = await superFixture(t, [bundle], { perHubRateBytesPerSec: 512 * 1024 })
  const hub = await storeHubFixture(t, [a.addr, b.addr], { batchBytes: 256 * 1024 })
  await hub.puller.start()
  const staged = nextEvent(hub.puller, 'prestaged', 30_000)
  await hub.prefetch(bundle.info.id)
  await new Promise(resolve => setTimeout(resolve, 800))
  await a.stop()
  await staged
  t.equal(hub.store.getBundle(bundle.info.id)?.state, 'verified', 'the remaining hub finished it')
  t.same([...hub.received.values()].filter(n => n !== 1), [], 'no chunk stored twice')
  t.equal(hub.puller.stats.payloadBytes <= 48 * 64 * 1024 + 64 * 1024 * 4, true, 'at most the cut partial chunks beyond the bundle size')
})
