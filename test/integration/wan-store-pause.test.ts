/**
 * A store hub whose quota fills mid-transfer (a pinned bundle holds most of it) pauses
 * the WAN download with a clear status (store.paused(), the `paused` of status.json and
 * /api/cache) and storemesh_store_paused{reason="quota"} 1; the puller keeps retrying
 * with back-off. Once space frees (the operator unpins the old bundle) the download
 * resumes by itself, finishes, and every chunk verifies: nothing half-written.
 */
import t from 'tap'
import { join } from 'node:path'
import { Registry } from 'prom-client'
import { createMetrics } from '../../src/metrics/index.js'
import { createStoremeshNode } from '../../src/net/node.js'
import { openStore } from '../../src/store/index.js'
import { createWanPuller, type PrestagedEvent } from '../../src/wan/puller.js'
import { addPrefetch } from '../../src/wan/prefetch-queue.js'
import { waitFor } from '../support/poll.js'
import { simpleBundle, tempDir, writeBundleDir } from '../support/store-fixture.js'
import { nextEvent, superFixture, swarmKey, trust } from './wan-fixture.js'

const CHUNK = 64 * 1024
const CHUNKS = 16

t.test('a full quota pauses the WAN download; freeing space resumes it', async t => {
  const old = simpleBundle(21, CHUNKS, CHUNK, { version: '1.0.0' })
  const next = simpleBundle(22, CHUNKS, CHUNK, { version: '2.0.0' })
  const sup = await superFixture(t, [old, next])
  const dataDir = await tempDir(t, 'wan-quota-')
  const bundleBytes = CHUNKS * CHUNK
  const store = await openStore({ dataDir, quotaBytes: Math.floor(bundleBytes * 1.5), evictionSlackBytes: 0 })
  const oldDir = join(dataDir, 'old-bundle')
  await writeBundleDir(oldDir, old)
  await store.importBundleDir(oldDir, trust)
  await store.pin(old.info.id, 'manual')
  const node = await createStoremeshNode({ swarmKey, dataDir })
  const puller = createWanPuller({ node, store, dataDir, supers: [sup.addr], trust, pollMs: 200, retryBaseMs: 100, retryMaxMs: 400 })
  t.teardown(async () => {
    await puller.stop()
    await node.stop()
    await store.stop()
  })
  const metrics = createMetrics(new Registry(), { store })
  const pausedGauge = async (reason: string): Promise<string | undefined> =>
    new RegExp(`^storemesh_store_paused\\{reason="${reason}"\\} (\\d)$`, 'm').exec(await metrics.text())?.[1]
  t.equal(await pausedGauge('quota'), '0', 'not paused at first')

  await puller.start()
  await addPrefetch(dataDir, { bundleId: next.info.id })
  puller.poke()
  await waitFor(() => store.paused()?.reason === 'quota', 20_000, 'the download pauses at the quota')
  t.match(store.paused()?.detail, /^E_QUOTA_EXCEEDED /, 'the status names the stable code')
  t.equal(await pausedGauge('quota'), '1', 'storemesh_store_paused{reason="quota"} 1')
  t.equal(await pausedGauge('disk-full'), '0')
  const missing = await store.missingPieces(next.info.id)
  t.ok(missing.length > 0 && missing.length < CHUNKS, `paused midway: ${CHUNKS - missing.length} of ${CHUNKS} chunks held`)
  t.ok(store.stats().usedBytes <= bundleBytes * 1.5, 'the quota holds')
  // still paused a few retries later: the puller backs off and tries again, it does not give up
  await new Promise(resolve => setTimeout(resolve, 600))
  t.equal(store.paused()?.reason, 'quota', 'still paused while nothing can go')
  t.equal(store.getBundle(old.info.id)?.state, 'verified', 'the pinned bundle was not touched')

  const staged = nextEvent<PrestagedEvent>(puller, 'prestaged', 30_000)
  await store.unpin(old.info.id, 'manual')
  const ev = await staged
  t.equal(ev.bundleId, next.info.id, 'the download resumed by itself and finished')
  t.equal(store.paused(), undefined, 'no longer paused')
  t.equal(await pausedGauge('quota'), '0', 'the gauge went back to 0')
  t.equal(store.getBundle(next.info.id)?.state, 'verified', 'complete and verified')
  t.equal(store.getBundle(old.info.id)?.state, 'evicted', 'the unpinned bundle made room')
  t.ok(store.stats().usedBytes <= bundleBytes * 1.5, 'within the quota throughout')
})
