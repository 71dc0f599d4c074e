/** v2 after v1: only the chunks v1 did not hold cross the WAN (delta by construction). */
import t from 'tap'
import { makeBundle, seededBytes } from '../support/store-fixture.js'
import { nextEvent, storeHubFixture, superFixture } from './wan-fixture.js'

const CHUNK = 64 * 1024

t.test('v2 after v1 fetches only chunks not held', async t => {
  const v1bytes = seededBytes(40 * CHUNK, 41)
  const v2bytes = Uint8Array.from(v1bytes)
  for (const i of [3, 17, 18, 30]) v2bytes.set(seededBytes(CHUNK, 100 + i), i * CHUNK)
  const v1 = makeBundle({ artifacts: [{ name: 'image.bin', bytes: v1bytes }], chunkBytes: CHUNK, version: '1.0.0' })
  const v2 = makeBundle({ artifacts: [{ name: 'image.bin', bytes: v2bytes }], chunkBytes: CHUNK, version: '1.1.0' })
  const sup = await superFixture(t, [v1, v2])
  const hub = await storeHubFixture(t, [sup.addr])
  await hub.puller.start()
  let staged = nextEvent(hub.puller, 'prestaged', 30_000)
  await hub.prefetch(v1.info.id)
  await staged
  const afterV1 = hub.puller.stats.payloadBytes
  t.equal(afterV1, 40 * CHUNK)
  hub.received.clear()
  staged = nextEvent(hub.puller, 'prestaged', 30_000)
  await hub.prefetch(v2.info.id)
  await staged
  const v1Hashes = new Set(v1.info.pieces.map(p => p.hash))
  const expected = v2.info.pieces.filter(p => !v1Hashes.has(p.hash))
  t.equal(expected.length, 4, 'v2 changes 4 chunks')
  t.same([...hub.received.keys()].sort(), expected.map(p => p.hash).sort(), 'exactly the new chunks were fetched')
  t.equal(hub.puller.stats.payloadBytes - afterV1, expected.reduce((n, p) => n + p.size, 0), 'v2 WAN payload = new chunks only')
  t.equal(hub.store.getBundle(v2.info.id)?.state, 'verified')
})
