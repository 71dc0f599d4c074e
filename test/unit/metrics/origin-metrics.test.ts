/** The pull-through's counters as Prometheus series: read from a real pull-through over a scripted origin, codes bounded, a failing source counted. */
import t from 'tap'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Registry } from 'prom-client'
import { chunkKey, manifestKey, ORIGIN_TIMESTAMP_KEY, publishBundle, rootKey, startOriginPull } from '../../../src/origin/index.js'
import { createOriginMetrics, registerPullThroughMetrics, type OriginCounters } from '../../../src/metrics/origin-metrics.js'
import { SourceErrors } from '../../../src/metrics/collect.js'
import { openStore } from '../../../src/store/index.js'
import { FIXTURE_KEY, FIXTURE_TRUST, simpleBundle, tempDir, writeBundleDir } from '../../support/store-fixture.js'
import { scriptedOrigin } from '../../support/origin-server.js'

const fast = { attempts: 3, retryBaseMs: 5, retryMaxMs: 20, stallTimeoutMs: 500, requestTimeoutMs: 1000 }

function value (text: string, series: string): number | undefined {
  const line = text.split('\n').find(l => l.startsWith(series + ' '))
  return line !== undefined ? Number(line.slice(series.length + 1)) : undefined
}

t.test('a corrupt chunk, a 500 and a 404 show as refusals, retries and errors by code', async t => {
  const root = await tempDir(t, 'origin-metrics-')
  const b = simpleBundle(84, 3, 8192)
  await writeBundleDir(join(root, 'b'), b)
  await publishBundle(join(root, 'b'), join(root, 'origin'), { keys: [FIXTURE_KEY] })
  const o = await scriptedOrigin(t)
  o.script(manifestKey(b.info.id), { kind: 'ok', body: await readFile(join(root, 'origin', manifestKey(b.info.id))) })
  const [h0, h1, h2] = b.info.pieces.map(p => p.hash) as [string, string, string]
  const bad = new Uint8Array(b.chunks.get(h0)!)
  bad[7] = bad[7]! ^ 1
  o.script(chunkKey(h0), { kind: 'ok', body: bad }, { kind: 'ok', body: b.chunks.get(h0)! })
  o.script(chunkKey(h1), { kind: 'status', status: 500 }, { kind: 'ok', body: b.chunks.get(h1)! })
  o.script(chunkKey(h2), { kind: 'status', status: 404 })
  const store = await openStore({ dataDir: join(root, 'cache'), quotaBytes: 64 * 1024 * 1024, evictIncomplete: true })
  t.teardown(async () => { await store.stop() })
  const origin = await startOriginPull({ url: o.url, ...fast, store, trust: FIXTURE_TRUST, dataDir: root })
  t.teardown(async () => { await origin.stop() })
  await origin.pull.lookup({ bundleId: b.info.id })
  t.ok(await origin.pull.get(h0))
  t.ok(await origin.pull.get(h1))
  t.equal(await origin.pull.get(h2), undefined)
  t.ok(await origin.pull.get(h0), 'a cache hit')
  // the super hub's timestamp feed polls the optional timestamp.json every 30 s: absent is no failure
  o.script(ORIGIN_TIMESTAMP_KEY, { kind: 'status', status: 404 })
  await t.rejects(origin.fetcher.fetch(ORIGIN_TIMESTAMP_KEY, { maxBytes: 4096 }), { code: 'E_ORIGIN_NOT_FOUND' })
  o.script(rootKey(2), { kind: 'status', status: 404 })
  await t.rejects(origin.fetcher.fetch(rootKey(2), { maxBytes: 4096 }), { code: 'E_ORIGIN_NOT_FOUND' }, 'nor the next root, not published yet')

  const registry = new Registry()
  registerPullThroughMetrics(registry, { counters: () => origin.status() }, store)
  const text = await registry.metrics()
  t.equal(value(text, 'storemesh_origin_corrupt_refused_total'), 1)
  t.equal(value(text, 'storemesh_origin_retries_total'), 2, 'the corrupt read and the 500 were tried again; the 404 was not')
  t.equal(value(text, 'storemesh_origin_errors_total{code="E_CHUNK_HASH_MISMATCH"}'), 1)
  t.equal(value(text, 'storemesh_origin_errors_total{code="E_ORIGIN_HTTP"}'), 1)
  t.equal(value(text, 'storemesh_origin_errors_total{code="E_ORIGIN_NOT_FOUND"}'), 1, 'the chunk\'s 404, not the absent timestamp.json nor root')
  t.equal(value(text, 'storemesh_origin_chunks_fetched_total'), 2)
  t.equal(value(text, 'storemesh_origin_chunk_bytes_total'), b.info.pieces[0]!.size + b.info.pieces[1]!.size)
  t.equal(value(text, 'storemesh_origin_chunks_unavailable_total'), 1)
  t.equal(value(text, 'storemesh_origin_cache_hits_total'), 1)
  t.equal(value(text, 'storemesh_origin_manifests_fetched_total'), 1)
  t.equal(value(text, 'storemesh_store_used_bytes'), store.stats().usedBytes, 'the cache bytes beside them')
  t.equal(value(text, 'storemesh_store_quota_bytes'), 64 * 1024 * 1024)
  t.equal(value(text, 'storemesh_store_evicted_chunks_total'), 0)
})

t.test('codes stay bounded, a failing source is counted and empties only its own series', async t => {
  const registry = new Registry()
  const errors = new SourceErrors(registry)
  t.equal(SourceErrors.of(registry), errors, 'one SourceErrors per registry, shared by modules that add series')
  const failuresByCode: Record<string, number> = { E_ORIGIN_STALLED: 2, 'not a code': 3 }
  for (let i = 0; i < 40; i++) failuresByCode[`E_MADE_UP_${String.fromCharCode(65 + (i % 26))}${String.fromCharCode(65 + Math.floor(i / 26))}`] = 1
  let fail = false
  const counters = (): OriginCounters => {
    if (fail) throw new Error('source broke')
    return { originBytes: 1, chunkBytesFetched: 1, chunksFetched: 1, cacheHits: 0, coalesced: 0, corruptRefused: 0, retries: 0, chunksUnavailable: 0, manifestsFetched: 0, failuresByCode }
  }
  createOriginMetrics(registry, { counters }, errors)
  const text = await registry.metrics()
  const codes = text.split('\n').filter(l => l.startsWith('storemesh_origin_errors_total{'))
  t.ok(codes.length <= 17, `at most 16 codes and other (${codes.length} series)`)
  t.equal(value(text, 'storemesh_origin_errors_total{code="E_ORIGIN_STALLED"}'), 2)
  t.ok((value(text, 'storemesh_origin_errors_total{code="other"}') ?? 0) >= 3, 'a malformed code folds into other')
  fail = true
  const broken = await registry.metrics()
  t.equal(value(broken, 'storemesh_metrics_source_errors_total{source="origin"}'), 1)
  t.equal(value(broken, 'storemesh_origin_bytes_total'), 0)
})
