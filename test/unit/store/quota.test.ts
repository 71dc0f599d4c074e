import t from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { blake3Hex } from '../../../src/bundle/hash.js'
import { openStore, type ChunkStore, type StoreOptions } from '../../../src/store/index.js'
import { seededBytes, simpleBundle, tempDir, type FixtureBundle } from '../../support/store-fixture.js'

const CHUNK = 1000

/** A store on a fake clock that advances 1 ms per reading, so LRU order is exact. */
async function quotaStore (t: Parameters<typeof tempDir>[0], quotaBytes: number, extra: Partial<StoreOptions> = {}): Promise<{ store: ChunkStore, dataDir: string }> {
  const dataDir = await tempDir(t)
  let now = 1_000_000
  const store = await openStore({ dataDir, quotaBytes, evictionSlackBytes: 0, touchGranularityMs: 0, nowMs: () => ++now, ...extra })
  t.teardown(async () => await store.close())
  return { store, dataDir }
}

async function fill (store: ChunkStore, fx: FixtureBundle): Promise<void> {
  await store.addBundle(fx.info)
  for (const p of fx.info.pieces) await store.put(p.hash, fx.chunks.get(p.hash)!)
}

async function heldCount (store: ChunkStore, fx: FixtureBundle): Promise<number> {
  return (await store.heldPieces(fx.info.id)).filter(Boolean).length
}

t.test('LRU eviction never takes the active or last-known-good bundle', async t => {
  const { store } = await quotaStore(t, 10 * CHUNK)
  const active = simpleBundle(1, 3, CHUNK, { version: '2.0.0' })
  const lkg = simpleBundle(2, 3, CHUNK, { version: '1.0.0' })
  const old = simpleBundle(3, 3, CHUNK, { version: '0.9.0' })
  const next = simpleBundle(4, 3, CHUNK, { version: '3.0.0' })
  // The pinned bundles are the least recently used of all: eviction must skip them.
  await fill(store, active)
  await fill(store, lkg)
  await store.pin(active.info.id, 'active')
  await store.pin(lkg.info.id, 'last-known-good')
  await fill(store, old)
  t.equal(store.stats().usedBytes, 9 * CHUNK)
  // Reading old's middle chunk makes it the most recently used of old's three.
  t.ok(await store.get(old.info.pieces[1]!.hash))

  await fill(store, next)
  t.equal(store.bundleState(next.info.id), 'complete')
  t.equal(await heldCount(store, active), 3, 'active bundle intact')
  t.equal(await heldCount(store, lkg), 3, 'last-known-good bundle intact')
  t.same(await store.heldPieces(old.info.id), [false, true, false], 'least recently used chunks went first')
  t.equal(store.bundleState(old.info.id), 'evicted')
  t.match(store.stats(), { usedBytes: 10 * CHUNK, evictedChunks: 2, evictedBytes: 2 * CHUNK, reservedBytes: 0 })
  const files = (await readdir(join(store.dataDir, 'chunks'), { recursive: true, withFileTypes: true })).filter(e => e.isFile())
  t.equal(files.length, 10, 'evicted chunk files are gone')

  // Everything left is pinned: a new chunk cannot fit.
  await store.unpin(active.info.id)
  await store.pin(next.info.id, 'active')
  // The former active bundle, now unpinned, holds the least recently used chunks.
  const extra = seededBytes(CHUNK, 99)
  await store.put(blake3Hex(extra), extra)
  const lone = seededBytes(CHUNK, 100)
  await store.put(blake3Hex(lone), lone)
  t.same(await store.heldPieces(active.info.id), [false, false, true])
  t.equal(store.bundleState(active.info.id), 'evicted')
  t.same(await store.heldPieces(old.info.id), [false, true, false])
  t.equal(await heldCount(store, next), 3)
  t.equal(await heldCount(store, lkg), 3)
  t.equal(store.stats().usedBytes, 10 * CHUNK)
})

t.test('E_QUOTA_EXCEEDED when nothing may go; nothing is half-written', async t => {
  const { store, dataDir } = await quotaStore(t, 4 * CHUNK)
  const a = simpleBundle(1, 4, CHUNK)
  await fill(store, a)
  await store.pin(a.info.id, 'active')
  const x = seededBytes(CHUNK, 50)
  await t.rejects(store.put(blake3Hex(x), x), { code: 'E_QUOTA_EXCEEDED', meta: { quotaBytes: 4 * CHUNK, usedBytes: 4 * CHUNK, neededBytes: CHUNK } })
  t.equal(await store.has(blake3Hex(x)), false)
  const big = seededBytes(5 * CHUNK, 51)
  await t.rejects(store.put(blake3Hex(big), big), { code: 'E_QUOTA_EXCEEDED' })
  const names = (await readdir(join(dataDir, 'chunks'), { recursive: true, withFileTypes: true })).filter(e => e.isFile()).map(e => e.name)
  t.equal(names.length, 4)
  t.notOk(names.some(n => n.startsWith('.tmp-')))
  t.equal(store.stats().reservedBytes, 0, 'failed reservation released')
  await store.unpin(a.info.id, 'active')
  await store.put(blake3Hex(x), x)
  t.equal(store.bundleState(a.info.id), 'evicted')
})

t.test('a bundle being fetched keeps its chunks unless evictIncomplete is set', async t => {
  const fetching = simpleBundle(7, 4, CHUNK)
  const fillHalf = async (store: ChunkStore): Promise<void> => {
    await store.addBundle(fetching.info)
    for (const p of fetching.info.pieces.slice(0, 3)) await store.put(p.hash, fetching.chunks.get(p.hash)!)
  }
  const y = seededBytes(CHUNK, 60)
  t.test('default: protected', async t => {
    const { store } = await quotaStore(t, 3 * CHUNK)
    await fillHalf(store)
    t.equal(store.bundleState(fetching.info.id), 'partial')
    await t.rejects(store.put(blake3Hex(y), y), { code: 'E_QUOTA_EXCEEDED' })
  })
  t.test('evictIncomplete: taken, and the bundle misses it again', async t => {
    const { store } = await quotaStore(t, 3 * CHUNK, { evictIncomplete: true })
    await fillHalf(store)
    await store.put(blake3Hex(y), y)
    t.equal(store.bundleState(fetching.info.id), 'partial')
    t.same((await store.missingPieces(fetching.info.id)).map(p => p.index), [0, 3])
  })
})

t.test('parallel puts never overshoot the quota', async t => {
  const { store, dataDir } = await quotaStore(t, 5 * CHUNK)
  const chunks = Array.from({ length: 24 }, (_, i) => seededBytes(CHUNK, 200 + i))
  await Promise.all(chunks.map(async c => await store.put(blake3Hex(c), c)))
  t.equal(store.stats().usedBytes, 5 * CHUNK)
  t.equal(store.stats().reservedBytes, 0)
  const files = (await readdir(join(dataDir, 'chunks'), { recursive: true, withFileTypes: true })).filter(e => e.isFile())
  t.equal(files.length, 5)
})

t.test('LRU order survives a reopen', async t => {
  const dataDir = await tempDir(t)
  let now = 5_000_000
  const opts = { dataDir, quotaBytes: 3 * CHUNK, evictionSlackBytes: 0, touchGranularityMs: 0, nowMs: () => ++now }
  const [a, b, c] = [seededBytes(CHUNK, 1), seededBytes(CHUNK, 2), seededBytes(CHUNK, 3)]
  let store = await openStore(opts)
  for (const x of [a, b, c]) await store.put(blake3Hex(x), x)
  await store.get(blake3Hex(a)) // a is now the most recent; b the oldest
  await store.close() // flushes the pending last-used update
  store = await openStore(opts)
  t.teardown(async () => await store.close())
  const d = seededBytes(CHUNK, 4)
  await store.put(blake3Hex(d), d)
  t.equal(await store.has(blake3Hex(b)), false, 'oldest evicted')
  t.equal(await store.has(blake3Hex(a)), true)
  t.equal(await store.has(blake3Hex(c)), true)
})

// A real full disk: a 1 MiB tmpfs (needs root; skipped with the reason otherwise).
const mnt = mkdtempSync(join(tmpdir(), 'storemesh-tmpfs-'))
let mountSkip: string | false = false
try {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt], { stdio: 'pipe' })
  t.teardown(() => { execFileSync('umount', [mnt]); rmSync(mnt, { recursive: true, force: true }) })
} catch (err) {
  mountSkip = `cannot mount a 1 MiB tmpfs: ${String((err as Error).message).split('\n')[0]}`
  t.comment(`skipping the disk-full test: ${mountSkip}`)
  rmSync(mnt, { recursive: true, force: true })
}

t.test('a full disk is E_DISK_FULL, leaves no temp file and nothing in the index', { skip: mountSkip }, async t => {
  let store: ChunkStore | undefined
  t.teardown(async () => { await store?.close().catch(() => {}) })
  const dataDir = join(mnt, 'data')
  store = await openStore({ dataDir })
  const SIZE = 64 * 1024
  const held: string[] = []
  let failure: unknown
  for (let i = 0; i < 32 && failure === undefined; i++) {
    const c = seededBytes(SIZE, 300 + i)
    try {
      await store.put(blake3Hex(c), c)
      held.push(blake3Hex(c))
    } catch (err) {
      failure = err
      t.equal(await store.has(blake3Hex(c)), false, 'the failed chunk is not indexed')
    }
  }
  t.match(failure, { code: 'E_DISK_FULL' })
  t.ok(held.length >= 8 && held.length <= 16, `${held.length} chunks of 64 KiB fit in 1 MiB`)
  const names = (await readdir(join(dataDir, 'chunks'), { recursive: true, withFileTypes: true })).filter(e => e.isFile()).map(e => e.name)
  t.same(names.sort(), [...held].sort(), 'exactly the indexed chunks are on disk, no temp file')
  t.equal(store.stats().usedBytes, held.length * SIZE)
  t.equal(store.stats().reservedBytes, 0)
  for (const h of held) t.ok(await store.get(h), 'earlier chunks still verify')
  // Freeing space makes the store usable again.
  await store.trimTo(0)
  const c = seededBytes(SIZE, 999)
  await store.put(blake3Hex(c), c)
  t.equal(await store.has(blake3Hex(c)), true)
  await store.close()
  store = await openStore({ dataDir })
  t.equal(store.recovery?.tempFilesRemoved, 0)
  t.equal(store.recovery?.chunkCount, 1)
})
