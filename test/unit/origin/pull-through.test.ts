/** The super hub's pull-through: on-demand manifests and chunks, coalesced reads, corrupt chunks refused, an LRU-bounded cache. */
import t from 'tap'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { OriginFetcher, PullThrough, publishBundle, chunkKey, manifestKey, indexKey, MIN_ORIGIN_CACHE_QUOTA_BYTES, assertCacheQuota } from '../../../src/origin/index.js'
import { decodeManifest } from '../../../src/bundle/manifest.js'
import { openStore } from '../../../src/store/index.js'
import { FIXTURE_KEY, FIXTURE_TRUST, simpleBundle, tempDir, writeBundleDir, type FixtureBundle } from '../../support/store-fixture.js'
import { scriptedOrigin } from '../../support/origin-server.js'

const fast = { attempts: 3, retryBaseMs: 5, retryMaxMs: 20, stallTimeoutMs: 500, requestTimeoutMs: 1000 }

async function publishedOrigin (t: Parameters<typeof tempDir>[0], bundles: FixtureBundle[]): Promise<string> {
  const root = await tempDir(t, 'pull-through-')
  for (const [i, b] of bundles.entries()) {
    await writeBundleDir(join(root, `b${i}`), b)
    await publishBundle(join(root, `b${i}`), join(root, 'origin'), { keys: [FIXTURE_KEY] })
  }
  return join(root, 'origin')
}

async function cache (t: Parameters<typeof tempDir>[0], quotaBytes?: number): Promise<Awaited<ReturnType<typeof openStore>>> {
  const store = await openStore({ dataDir: await tempDir(t, 'pull-cache-'), ...(quotaBytes !== undefined ? { quotaBytes, evictIncomplete: true } : {}) })
  t.teardown(async () => { await store.stop() })
  return store
}

t.test('manifests by class and by id, then chunks, all from the origin on demand', async t => {
  const b = simpleBundle(81, 6, 8192)
  const origin = await publishedOrigin(t, [b])
  const store = await cache(t)
  const pull = new PullThrough({ fetcher: new OriginFetcher({ base: `file://${origin}`, ...fast }), store, trust: FIXTURE_TRUST })
  await pull.start()
  const stranger = 'ab'.repeat(32)
  t.equal(await pull.get(stranger), undefined, 'a hash the origin lacks is not served')
  t.equal(await pull.get(stranger), undefined)
  t.equal(pull.stats.chunksUnavailable, 1, 'and its 404 is remembered, not asked again')
  t.same(new Uint8Array((await pull.get(b.info.pieces[5]!.hash))!), b.chunks.get(b.info.pieces[5]!.hash), 'a chunk is served before its manifest was read here (another super hub gave it)')
  const bytes = await pull.lookup({ deviceClass: 'pos' })
  t.equal(decodeManifest(bytes!, FIXTURE_TRUST).id, b.info.id, 'the index names the newest bundle')
  t.equal(await pull.lookup({ deviceClass: 'kiosk' }), undefined, 'no index for the class: not found')
  t.equal(await pull.lookup({ bundleId: 'b3:' + '0'.repeat(64) }), undefined)
  for (const p of b.info.pieces) t.same(new Uint8Array((await pull.get(p.hash))!), b.chunks.get(p.hash))
  t.equal(pull.stats.chunksFetched, b.info.pieces.length)
  t.equal(pull.stats.chunkBytesFetched, b.info.totalBytes, 'one copy from the origin')
  for (const p of b.info.pieces) await pull.get(p.hash)
  t.equal(pull.stats.chunksFetched, b.info.pieces.length, 'a second round is served from the cache')
  t.equal(store.getBundle(b.info.id)?.state, 'complete')
})

t.test('concurrent requests for one chunk share one origin read', async t => {
  const b = simpleBundle(82, 2, 8192)
  const files = await publishedOrigin(t, [b])
  const o = await scriptedOrigin(t)
  o.script(manifestKey(b.info.id), { kind: 'ok', body: await readFile(join(files, manifestKey(b.info.id))) })
  const h = b.info.pieces[0]!.hash
  // the first answer stalls a moment so every request below finds it in flight
  o.script(chunkKey(h), { kind: 'stall', body: b.chunks.get(h)!, sendBytes: 0 }, { kind: 'ok', body: b.chunks.get(h)! })
  const store = await cache(t)
  const pull = new PullThrough({ fetcher: new OriginFetcher({ base: o.url, ...fast, stallTimeoutMs: 200 }), store, trust: FIXTURE_TRUST })
  await pull.lookup({ bundleId: b.info.id })
  const got = await Promise.all(Array.from({ length: 10 }, async () => await pull.get(h)))
  for (const g of got) t.same(new Uint8Array(g!), b.chunks.get(h))
  t.equal(pull.stats.coalesced, 9, 'nine joined the first')
  t.equal(o.requests.get(chunkKey(h)), 2, 'one read (and its one retry after the stall), not ten')
})

t.test('a corrupt chunk on the origin is refused, counted, never stored, and read again', async t => {
  const b = simpleBundle(83, 3, 8192)
  const files = await publishedOrigin(t, [b])
  const o = await scriptedOrigin(t)
  o.script(manifestKey(b.info.id), { kind: 'ok', body: await readFile(join(files, manifestKey(b.info.id))) })
  const h = b.info.pieces[1]!.hash
  const bad = new Uint8Array(b.chunks.get(h)!)
  bad[100] = bad[100]! ^ 1
  o.script(chunkKey(h), { kind: 'ok', body: bad }, { kind: 'ok', body: b.chunks.get(h)! })
  const store = await cache(t)
  const pull = new PullThrough({ fetcher: new OriginFetcher({ base: o.url, ...fast }), store, trust: FIXTURE_TRUST })
  await pull.lookup({ bundleId: b.info.id })
  t.same(new Uint8Array((await pull.get(h))!), b.chunks.get(h), 'the good copy, read again')
  t.equal(pull.stats.corruptRefused, 1)
  t.same(new Uint8Array((await store.get(h))!), b.chunks.get(h), 'the store holds the good bytes')
  // always corrupt: given up after the bounded retries, nothing stored
  const h2 = b.info.pieces[2]!.hash
  const bad2 = new Uint8Array(b.chunks.get(h2)!)
  bad2[0] = bad2[0]! ^ 1
  o.script(chunkKey(h2), { kind: 'ok', body: bad2 })
  t.equal(await pull.get(h2), undefined)
  t.equal(o.requests.get(chunkKey(h2)), fast.attempts)
  t.equal(await store.has(h2), false, 'nothing corrupt stored')
  t.equal(pull.stats.chunksUnavailable, 1)
})

t.test('an index signed by an unknown key, or older than one read, is refused', async t => {
  const b = simpleBundle(84, 2, 8192)
  const origin = await publishedOrigin(t, [b])
  const store = await cache(t)
  const pull = new PullThrough({ fetcher: new OriginFetcher({ base: `file://${origin}`, ...fast }), store, trust: { keys: [] } })
  await t.rejects(pull.lookup({ bundleId: b.info.id }), { code: 'E_SIGNATURE_UNTRUSTED' })
  const b2 = simpleBundle(85, 2, 8192, { version: '2.0.0' })
  const p2 = new PullThrough({ fetcher: new OriginFetcher({ base: `file://${origin}`, ...fast }), store, trust: FIXTURE_TRUST, indexTtlMs: 0 })
  const old = await readFile(join(origin, indexKey('pos')))
  const root = join(origin, '..')
  await writeBundleDir(join(root, 'v2'), b2)
  await publishBundle(join(root, 'v2'), origin, { keys: [FIXTURE_KEY] })
  t.equal(decodeManifest((await p2.lookup({ deviceClass: 'pos' }))!, FIXTURE_TRUST).id, b2.info.id)
  await writeFile(join(origin, indexKey('pos')), old)
  t.equal(decodeManifest((await p2.lookup({ deviceClass: 'pos' }))!, FIXTURE_TRUST).id, b2.info.id,
    'a replayed older index is refused; the last one read stands')
})

t.test('the cache stays within its quota, least recently used chunks evicted, and refetched when asked again', async t => {
  // the store's own quota (the super hub's minimum is checked apart, below): small, so the test is quick
  const chunkBytes = 64 * 1024
  const quotaBytes = 16 * chunkBytes
  const count = 24
  const b = simpleBundle(86, count, chunkBytes)
  const origin = await publishedOrigin(t, [b])
  const store = await cache(t, quotaBytes)
  const pull = new PullThrough({ fetcher: new OriginFetcher({ base: `file://${origin}`, ...fast }), store, trust: FIXTURE_TRUST })
  await pull.lookup({ bundleId: b.info.id })
  for (const p of b.info.pieces) t.ok(await pull.get(p.hash) !== undefined)
  const s = store.stats()
  t.ok(s.usedBytes <= quotaBytes, `used ${s.usedBytes} <= quota`)
  t.ok(s.evictedChunks >= count - quotaBytes / chunkBytes, `evicted ${s.evictedChunks}`)
  t.equal(await store.has(b.info.pieces[0]!.hash), false, 'the least recently used went first')
  t.equal(await store.has(b.info.pieces[count - 1]!.hash), true, 'the newest stayed')
  t.same(new Uint8Array((await pull.get(b.info.pieces[0]!.hash))!), b.chunks.get(b.info.pieces[0]!.hash), 'an evicted chunk is read through again')
  t.equal(pull.stats.chunksFetched, count + 1)
  t.throws(() => { assertCacheQuota(1024) }, { code: 'E_INVALID_ARGUMENT', message: /1024 bytes .* \(16777216 bytes\)/ })
})

t.test('readers of one chunk share its bytes while any of them holds them: one store read, not one per store hub', async t => {
  const b = simpleBundle(86, 2, 8192)
  const origin = await publishedOrigin(t, [b])
  const store = await cache(t)
  const pull = new PullThrough({ fetcher: new OriginFetcher({ base: `file://${origin}`, ...fast }), store, trust: FIXTURE_TRUST })
  await pull.start()
  const h = b.info.pieces[0]!.hash
  const first = await pull.get(h)
  t.same(new Uint8Array(first!), b.chunks.get(h), 'read through from the origin')
  const again = await Promise.all(Array.from({ length: 8 }, async () => await pull.get(h)))
  t.ok(again.every(x => x === first), 'every later reader got the very bytes the first still holds')
  t.equal(pull.stats.sharedReads, 8)
  t.equal(pull.stats.chunksFetched, 1)
  // nobody holds the other chunk: concurrent readers join one store read
  const h2 = b.info.pieces[1]!.hash
  await pull.get(h2)
  const before = pull.stats.sharedReads
  const joined = await Promise.all(Array.from({ length: 4 }, async () => await pull.get(h2)))
  for (const j of joined) t.same(new Uint8Array(j!), b.chunks.get(h2))
  t.equal(pull.stats.sharedReads - before, 4, 'shared, whether live or joined')
})
