/**
 * The store half of the lifecycle: quota specs, the start-time size check, pins of
 * every reason, whole-bundle eviction, the pause for lack of space, and the retention
 * plans (src/store/quota-spec.ts, store.ts evictBundle, core.ts paused, retention.ts).
 */
import t from 'tap'
import { statfs } from 'node:fs/promises'
import { join } from 'node:path'
import {
  assertQuotaHolds, deviceGcPlan, hubEvictionPlan, hubPinPlan, hubStalePins, openStore, parseQuotaSpec, resolveQuotaBytes,
  type BundleRecord, type ChunkStore
} from '../../../src/store/index.js'
import { seededBytes, signedBundle, simpleBundle, tempDir, type FixtureBundle } from '../../support/store-fixture.js'

const CHUNK = 1000

async function fill (store: ChunkStore, fx: FixtureBundle): Promise<void> {
  await store.addBundle(fx.info)
  for (const p of fx.info.pieces) await store.put(p.hash, fx.chunks.get(p.hash)!)
}

t.test('quota specs: sizes and shares of the filesystem', async t => {
  t.same(parseQuotaSpec('20GiB'), { kind: 'bytes', bytes: 20 * 1024 ** 3 })
  t.same(parseQuotaSpec('500MB'), { kind: 'bytes', bytes: 500e6 })
  t.same(parseQuotaSpec('1048576'), { kind: 'bytes', bytes: 1048576 })
  t.same(parseQuotaSpec(' 1.5KiB '), { kind: 'bytes', bytes: 1536 })
  t.same(parseQuotaSpec('80%'), { kind: 'percent', percent: 80 })
  for (const bad of ['', '0', '0%', '101%', '-5GiB', '5Gb', '5G', 'iB', '12 parsecs', 'x'.repeat(40)]) {
    t.throws(() => parseQuotaSpec(bad), { code: 'E_INVALID_ARGUMENT' }, `refused: ${JSON.stringify(bad.slice(0, 12))}`)
  }
  const dir = await tempDir(t)
  const fs = await statfs(dir)
  // a store dir that does not exist yet is measured on its nearest existing parent
  t.equal(await resolveQuotaBytes({ kind: 'percent', percent: 50 }, join(dir, 'not', 'yet')), Math.floor(fs.blocks * fs.bsize / 2))
  t.equal(await resolveQuotaBytes({ kind: 'bytes', bytes: 1234 }, dir), 1234)
})

t.test('a quota smaller than one bundle is refused at open, with both sizes', async t => {
  const dataDir = await tempDir(t)
  const big = simpleBundle(1, 5, CHUNK, { version: '1.0.0' })
  const store = await openStore({ dataDir })
  await fill(store, big)
  await store.close()
  await t.rejects(openStore({ dataDir, quotaBytes: 4 * CHUNK }), {
    code: 'E_QUOTA_TOO_SMALL', message: /4000 bytes\) is smaller than bundle .* 1\.0\.0 \(.*5000 bytes\)/
  })
  const ok = await openStore({ dataDir, quotaBytes: 5 * CHUNK })
  t.equal(ok.stats().quotaBytes, 5 * CHUNK, 'a quota that holds it opens')
  await ok.close()
  t.throws(() => { assertQuotaHolds(10, [{ id: 'b3:x', name: 'n', version: '1.0.0', bytes: 11 }]) }, { code: 'E_QUOTA_TOO_SMALL' })
})

t.test('pins: exclusive per class except manual; a pinned bundle is never evicted', async t => {
  const store = await openStore({ dataDir: await tempDir(t) })
  t.teardown(async () => await store.close())
  const a = simpleBundle(1, 2, CHUNK, { version: '1.0.0' })
  const b = simpleBundle(2, 2, CHUNK, { version: '2.0.0' })
  await fill(store, a)
  await fill(store, b)
  await store.pin(a.info.id, 'installing')
  await store.pin(b.info.id, 'installing')
  t.same(store.getBundle(a.info.id)?.pins, [], 'installing moved to b')
  await store.pin(a.info.id, 'manual')
  await store.pin(b.info.id, 'manual')
  t.same(store.getBundle(a.info.id)?.pins, ['manual'], 'manual pins add up')
  for (const id of [a.info.id, b.info.id]) {
    await t.rejects(store.evictBundle(id), { code: 'E_BUNDLE_PINNED', message: /is pinned \(.*manual/ })
    await t.rejects(store.evictBundle(id, { dryRun: true }), { code: 'E_BUNDLE_PINNED' })
  }
  await store.unpin(a.info.id, 'manual')
  await store.pin(a.info.id, 'last-known-good')
  await t.rejects(store.evictBundle(a.info.id), { code: 'E_BUNDLE_PINNED', message: /last-known-good/ })
  t.equal(store.getBundle(a.info.id)?.state, 'complete', 'still held')
})

t.test('evictBundle frees the chunks only it lists; shared ones stay; a dry run changes nothing', async t => {
  const store = await openStore({ dataDir: await tempDir(t) })
  t.teardown(async () => await store.close())
  const pieces = [1, 2, 3, 4, 5].map(i => seededBytes(CHUNK, 100 + i))
  const at = (...ix: number[]): Uint8Array[] => ix.map(i => pieces[i]!)
  // the new version keeps the old one's first two chunks (its unchanged part)
  const old = signedBundle({ artifacts: [{ name: 'image.img', chunks: at(0, 1, 2, 3) }], body: { version: '1.0.0' } })
  const next = signedBundle({ artifacts: [{ name: 'image.img', chunks: at(0, 1, 4) }], body: { version: '2.0.0' } })
  await fill(store, old)
  await fill(store, next)
  const used = store.stats().usedBytes
  t.equal(used, 5 * CHUNK)
  const dry = await store.evictBundle(old.info.id, { dryRun: true })
  t.same([dry.chunks, dry.bytes, dry.dryRun], [2, 2 * CHUNK, true], 'only the two chunks no one else lists')
  t.equal(store.stats().usedBytes, used, 'dry run freed nothing')
  t.ok(store.getBundle(old.info.id), 'dry run kept the bundle')
  const e = await store.evictBundle(old.info.id)
  t.same([e.chunks, e.bytes, e.dryRun], [2, 2 * CHUNK, false])
  t.equal(store.getBundle(old.info.id), undefined, 'forgotten')
  t.equal(store.stats().usedBytes, 3 * CHUNK, 'its own bytes left the quota')
  t.same(await store.heldPieces(next.info.id), [true, true, true], 'the shared chunks stay')
  t.equal(await store.has(old.info.pieces[3]!.hash), false, 'its own chunk files are gone')
  t.equal((await store.markVerified(next.info.id)).state, 'verified', 'the other bundle still verifies end to end')
})

t.test('a full quota pauses puts (reason quota); freeing space resumes them', async t => {
  const store = await openStore({ dataDir: await tempDir(t), quotaBytes: 4 * CHUNK, evictionSlackBytes: 0 })
  t.teardown(async () => await store.close())
  const running = simpleBundle(6, 3, CHUNK, { version: '1.0.0' })
  const next = simpleBundle(7, 3, CHUNK, { version: '2.0.0' })
  await fill(store, running)
  await store.pin(running.info.id, 'active')
  await store.addBundle(next.info)
  const [p0, p1, p2] = next.info.pieces
  await store.put(p0!.hash, next.chunks.get(p0!.hash)!)
  t.equal(store.paused(), undefined, 'not paused while it fits')
  await t.rejects(store.put(p1!.hash, next.chunks.get(p1!.hash)!), { code: 'E_QUOTA_EXCEEDED' })
  const paused = store.paused()
  t.equal(paused?.reason, 'quota', 'paused for the quota')
  t.match(paused?.detail, /E_QUOTA_EXCEEDED/)
  t.equal(store.stats().paused?.reason, 'quota', 'stats say so too')
  t.equal(await store.has(p1!.hash), false, 'nothing half-written')
  // the operator (or a new install) lets the old version go: the next put fits
  await store.unpin(running.info.id, 'active')
  await store.put(p1!.hash, next.chunks.get(p1!.hash)!)
  await store.put(p2!.hash, next.chunks.get(p2!.hash)!)
  t.equal(store.paused(), undefined, 'resumed')
  t.equal(store.getBundle(next.info.id)?.state, 'complete')
  t.equal(await store.markVerified(next.info.id).then(r => r.state), 'verified', 'every chunk verifies')
})

function rec (id: string, version: string, pins: BundleRecord['pins'] = [], deviceClass = 'pos', state: BundleRecord['state'] = 'verified'): BundleRecord {
  return { id, name: 'os', version, deviceClass, state, pins, addedMs: Number(version.split('.')[0]), pieceCount: 1, totalBytes: 1 }
}

t.test('retention plans', async t => {
  const v1 = rec('b1', '1.0.0')
  const v2 = rec('b2', '2.0.0', ['manual'])
  const v3 = rec('b3', '3.0.0', ['last-known-good'])
  const v4 = rec('b4', '4.0.0', ['active'])
  const k1 = rec('k1', '1.0.0', [], 'kiosk')
  const device = deviceGcPlan([v1, v2, v3, v4, k1])
  t.same(device.evict.map(r => r.id), ['b1'], 'device: older than the last-known-good go')
  t.same(device.pinned.map(r => r.id), ['b2'], 'a pinned one is kept and said so')
  t.same(deviceGcPlan([rec('b1', '1.0.0', ['active']), k1]).evict, [], 'first install: nothing older to go')

  t.same(hubPinPlan([v1, v2, v3, v4, k1]).map(p => `${p.record.id}:${p.reason}`), ['b4:active', 'b3:last-known-good', 'k1:active'], 'hub, no device reports: the newest of each class, and the one below it')
  const plan = hubPinPlan([v1, v2, v3, v4, k1], new Set(['b1', 'b3', 'gone']))
  t.same(plan.map(p => `${p.record.id}:${p.reason}`), ['b4:active', 'k1:active', 'b1:device', 'b3:device'], 'hub: what devices hold is pinned device')
  const old = rec('b2', '2.0.0', ['last-known-good', 'manual'])
  t.same(hubStalePins([old, v1, v3, v4], plan).map(p => `${p.record.id}:${p.reason}`), ['b2:last-known-good', 'b3:last-known-good'], 'stale automatic pins go, manual ones and wanted ones stay')
  const plain = [rec('b1', '1.0.0'), rec('b2', '2.0.0'), rec('b3', '3.0.0'), rec('b4', '4.0.0', [], 'pos', 'partial')]
  t.same(hubEvictionPlan(plain, new Set()).evict, [], 'hub: nothing before a wave settles')
  t.same(hubEvictionPlan(plain, new Set(['b3'])).evict.map(r => r.id), ['b1'], 'settled 3.0.0: its last-known-good 2.0.0 stays, 1.0.0 goes')
  t.same(hubEvictionPlan(plain, new Set(['b2', 'b3'])).evict.map(r => r.id), ['b1'], 'the newest settled bundle counts')
  t.same(hubEvictionPlan(plain, new Set(['b1'])).evict, [], 'the oldest settled: nothing below its last-known-good')
})
