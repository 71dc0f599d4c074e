/**
 * A transfer cut by stopping the super hub midway resumes when it returns, and the
 * WAN bytes after the cut are exactly the missing chunks' bytes plus bounded framing.
 */
import t from 'tap'
import { simpleBundle } from '../support/store-fixture.js'
import { nextEvent, storeHubFixture, superFixture } from './wan-fixture.js'
import type { PrestagedEvent } from '../../src/wan/puller.js'
import { waitFor } from '../support/poll.js'

const CHUNK = 64 * 1024
const CHUNKS = 48

t.test('a cut transfer resumes from the chunks held', async t => {
  const bundle = simpleBundle(11, CHUNKS, CHUNK)
  // 1 MiB/s per store hub: 3 MiB takes ~3 s, so the cut lands midway
  const sup = await superFixture(t, [bundle], { perHubRateBytesPerSec: 1024 * 1024 })
  const hub = await storeHubFixture(t, [sup.addr], { batchBytes: 256 * 1024 })
  await hub.puller.start()
  await hub.prefetch(bundle.info.id)
  await waitFor(() => hub.puller.stats.chunksFetched >= 8, 20_000, '8 chunks before the cut')
  await sup.stop()
  // the puller notices (stream reset) and settles: nothing more arrives
  await waitFor(async () => (await hub.store.missingPieces(bundle.info.id)).length > 0 && hub.puller.stats.chunksFetched < CHUNKS, 5_000, 'cut')
  await new Promise(resolve => setTimeout(resolve, 300))
  const missing = await hub.store.missingPieces(bundle.info.id)
  t.ok(missing.length > 0 && missing.length < CHUNKS, `cut midway: ${missing.length} of ${CHUNKS} chunks missing`)
  const before = { ...hub.puller.stats }
  const staged = nextEvent<PrestagedEvent>(hub.puller, 'prestaged', 30_000)
  await sup.start()
  const ev = await staged
  t.equal(ev.bundleId, bundle.info.id)
  t.equal(hub.store.getBundle(bundle.info.id)?.state, 'verified', 'complete and verified')
  const payloadAfter = hub.puller.stats.payloadBytes - before.payloadBytes
  const wireAfter = hub.puller.stats.wireBytes - before.wireBytes
  const missingBytes = missing.reduce((n, p) => n + p.size, 0)
  t.equal(payloadAfter, missingBytes, 'payload after the cut = the missing chunks, exactly')
  const overhead = wireAfter - payloadAfter
  // per chunk: a request hash (~67 B of JSON) and a response header (4 B); per batch a little JSON
  t.ok(overhead > 0 && overhead <= missing.length * 80 + 64 * Math.ceil(missing.length / 4), `protocol overhead ${overhead} bytes for ${missing.length} chunks`)
  t.same([...hub.received.values()].filter(n => n !== 1), [], 'no chunk fetched twice')
  t.equal(hub.received.size, CHUNKS, 'every chunk fetched exactly once overall')
})
