/**
 * A super hub pulls through from a real nginx serving a published origin: store hubs
 * pre-stage bundles it never held on disk; the origin gives one copy of each chunk
 * whatever the number of store hubs; a new version costs the origin only its new chunks.
 */
import t from 'tap'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { startSuperHub } from '../../src/roles/super-hub.js'
import { publishBundle, readOriginStatus } from '../../src/origin/index.js'
import { FIXTURE_KEY, makeBundle, seededBytes, tempDir, writeBundleDir } from '../support/store-fixture.js'
import { nginxBinary, startNginx } from '../support/nginx.js'
import { nextEvent, storeHubFixture, swarmKey, trust } from './wan-fixture.js'

const CHUNK_BYTES = 64 * 1024
const CHUNKS = 48

const noNginx = await nginxBinary() === undefined ? 'nginx is not installed (scripts/test.sh installs it)' : false

t.test('two store hubs pre-stage from one super hub pulling through from nginx', { skip: noNginx }, async t => {
  const root = await tempDir(t, 'origin-nginx-')
  const base = seededBytes(CHUNKS * CHUNK_BYTES, 91)
  const v1 = makeBundle({ artifacts: [{ name: 'os.img', bytes: base }], chunkBytes: CHUNK_BYTES, version: '1.0.0' })
  const next = new Uint8Array(base)
  next.set(seededBytes(2 * CHUNK_BYTES, 92), 10 * CHUNK_BYTES)
  const v2 = makeBundle({ artifacts: [{ name: 'os.img', bytes: next }], chunkBytes: CHUNK_BYTES, version: '1.1.0' })
  const origin = join(root, 'origin')
  for (const [name, b] of [['v1', v1], ['v2', v2]] as const) {
    await writeBundleDir(join(root, name), b)
    await publishBundle(join(root, name), origin, { keys: [FIXTURE_KEY], trust })
  }
  const nginx = await startNginx(t, origin)
  const superDir = join(root, 'super')
  const sup = await startSuperHub({ dataDir: superDir, swarmKey, trust, listen: ['/ip4/127.0.0.1/tcp/0'], origin: { url: nginx.url, cacheQuotaBytes: 64 * 1024 * 1024 }, metricsPort: 0 })
  t.teardown(async () => { await sup.stop() })
  const addr = sup.node.getMultiaddrs()[0]!.toString()

  const hubs = [await storeHubFixture(t, [addr]), await storeHubFixture(t, [addr])]
  await Promise.all(hubs.map(async h => {
    await h.puller.start()
    const staged = nextEvent(h.puller, 'prestaged', 60_000)
    await h.prefetch(v1.info.id)
    await staged
  }))
  for (const h of hubs) t.equal(h.store.getBundle(v1.info.id)?.state, 'verified', 'store hub verified v1')
  const o = sup.origin!.pull.stats
  t.equal(o.chunkBytesFetched, v1.info.totalBytes, 'the origin gave one copy of v1 for two store hubs')
  t.equal(o.corruptRefused, 0)
  const chunkGets = (await readFile(nginx.accessLog, 'utf8')).split('\n').filter(l => / "GET \/chunks\//.test(l) && / 200 /.test(l)).length
  t.equal(chunkGets, v1.info.pieces.length, 'nginx served each chunk once')

  const staged = nextEvent(hubs[0]!.puller, 'prestaged', 60_000)
  await hubs[0]!.prefetch(v2.info.id)
  await staged
  t.equal(hubs[0]!.store.getBundle(v2.info.id)?.state, 'verified', 'v2 verified')
  t.equal(o.chunkBytesFetched - v1.info.totalBytes, 2 * CHUNK_BYTES, 'v2 cost the origin only its two new chunks')
  // the same counters on the super hub's /metrics, beside the cache's store series
  const text = await (await fetch(`http://127.0.0.1:${sup.metrics!.port}/metrics`)).text()
  const series = (name: string): number | undefined => {
    const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text)
    return m !== null ? Number(m[1]) : undefined
  }
  t.equal(series('storemesh_origin_chunk_bytes_total'), o.chunkBytesFetched, '/metrics: origin chunk bytes')
  t.equal(series('storemesh_origin_chunks_fetched_total'), o.chunksFetched, '/metrics: chunks fetched')
  t.equal(series('storemesh_origin_corrupt_refused_total'), 0, '/metrics: nothing refused')
  t.ok((series('storemesh_origin_bytes_total') ?? 0) >= o.chunkBytesFetched, '/metrics: origin bytes include manifests and index')
  t.equal(series('storemesh_store_used_bytes'), sup.store.stats().usedBytes, '/metrics: cache bytes')
  t.equal(series('storemesh_store_quota_bytes'), 64 * 1024 * 1024, '/metrics: cache quota')
  t.match(text, /^storemesh_store_evicted_bytes_total 0$/m, '/metrics: cache evictions')
  t.match(text, /^storemesh_fleet_db_up /m, 'the fleet series stay on the same page')
  await sup.origin!.stop()
  const status = await readOriginStatus(superDir)
  t.equal(status?.chunkBytesFetched, o.chunkBytesFetched, 'origin.json carries the counters')
  t.ok((status?.originBytes ?? 0) >= o.chunkBytesFetched, 'origin bytes include manifests and index')
})
