import t from 'tap'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { blake3Hex } from '../../../src/bundle/hash.js'
import { openStore } from '../../../src/store/index.js'
import { seededBytes, simpleBundle, tempDir } from '../../support/store-fixture.js'

async function filesUnder (dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(join(e.parentPath ?? e.path, e.name))
  }
  return out
}

const chunkPath = (dataDir: string, hash: string): string => join(dataDir, 'chunks', hash.slice(0, 2), hash)

t.test('put, has, get round-trip and survive a reopen', async t => {
  const dataDir = await tempDir(t)
  const store = await openStore({ dataDir })
  const data = seededBytes(100_000, 1)
  const hash = blake3Hex(data)
  t.equal(await store.has(hash), false)
  t.equal(await store.get(hash), undefined)
  await store.put(hash, data)
  t.equal(await store.has(hash), true)
  t.same(Buffer.from((await store.get(hash))!), Buffer.from(data))
  t.same(Buffer.from(await readFile(chunkPath(dataDir, hash))), Buffer.from(data), 'file at chunks/<2hex>/<hash>')
  await store.put(hash, data) // idempotent
  t.equal(store.stats().chunkCount, 1)
  t.equal(store.stats().usedBytes, 100_000)
  await store.close()
  await t.rejects(store.get(hash), { code: 'E_STORE_CLOSED' })

  const again = await openStore({ dataDir })
  t.equal(await again.has(hash), true)
  t.equal(again.stats().usedBytes, 100_000)
  t.same(Buffer.from((await again.get(hash))!), Buffer.from(data))
  await again.close()
})

t.test('put verifies before writing: a mismatch leaves no file and no index entry', async t => {
  const dataDir = await tempDir(t)
  const store = await openStore({ dataDir })
  t.teardown(async () => await store.close())
  const data = seededBytes(4096, 2)
  const wrong = blake3Hex(seededBytes(4096, 3))
  await t.rejects(store.put(wrong, data), { code: 'E_CHUNK_HASH_MISMATCH' })
  t.equal(await store.has(wrong), false)
  t.same(await filesUnder(join(dataDir, 'chunks')), [], 'nothing written, not even a temp file')
  await t.rejects(store.put('not-a-hash', data), { code: 'E_INVALID_ARGUMENT' })
  await t.rejects(store.has('../../etc/passwd'), { code: 'E_INVALID_ARGUMENT' })
})

t.test('parallel puts of the same and of different chunks', async t => {
  const dataDir = await tempDir(t)
  const store = await openStore({ dataDir })
  t.teardown(async () => await store.close())
  const chunks = Array.from({ length: 8 }, (_, i) => seededBytes(50_000, 10 + i))
  const puts: Array<Promise<void>> = []
  for (let round = 0; round < 4; round++) {
    for (const c of chunks) puts.push(store.put(blake3Hex(c), c))
  }
  await Promise.all(puts)
  t.equal(store.stats().chunkCount, 8)
  t.equal(store.stats().usedBytes, 8 * 50_000)
  const files = await filesUnder(join(dataDir, 'chunks'))
  t.equal(files.length, 8, 'one file per chunk, no temp files left')
  for (const c of chunks) t.same(Buffer.from((await store.get(blake3Hex(c)))!), Buffer.from(c))
})

t.test('a chunk that fails verification on read is never served and is dropped', async t => {
  const dataDir = await tempDir(t)
  const corrupt: string[] = []
  const store = await openStore({ dataDir, onCorrupt: h => corrupt.push(h) })
  t.teardown(async () => await store.close())
  const fx = simpleBundle(5, 4, 4096)
  await store.addBundle(fx.info)
  for (const [h, b] of fx.chunks) await store.put(h, b)
  t.equal(store.bundleState(fx.info.id), 'complete')
  const [victim] = [...fx.chunks.keys()]
  const bytes = Buffer.from(fx.chunks.get(victim!)!)
  bytes[100] = bytes[100]! ^ 1
  await writeFile(chunkPath(dataDir, victim!), bytes)
  t.equal(await store.get(victim!), undefined, 'flipped byte: treated as missing')
  t.same(corrupt, [victim])
  t.equal(await store.has(victim!), false, 'dropped from the index')
  t.equal(store.bundleState(fx.info.id), 'partial', 'the bundle wants the chunk again')
  t.same((await store.missingPieces(fx.info.id)).map(p => p.hash), [victim])
  t.equal(store.stats().corruptDropped, 1)
  // Fetch it again: the bundle completes.
  await store.put(victim!, fx.chunks.get(victim!)!)
  t.equal(store.bundleState(fx.info.id), 'complete')
})

t.test('open removes temp files, adopts good orphans, drops bad ones and vanished files', async t => {
  const dataDir = await tempDir(t)
  const a = seededBytes(3000, 21)
  const b = seededBytes(3000, 22)
  const c = seededBytes(3000, 23)
  const [ha, hb, hc] = [blake3Hex(a), blake3Hex(b), blake3Hex(c)]
  let store = await openStore({ dataDir })
  await store.put(ha, a)
  await store.close()
  // A crash leaves: a temp file, a chunk file whose index write was lost, a torn orphan;
  // and an indexed chunk whose file vanished.
  await writeFile(join(dataDir, 'chunks', hb.slice(0, 2), `.tmp-${hb}-999-1`), b.subarray(0, 100))
  await writeFile(chunkPath(dataDir, hb), b)
  await writeFile(chunkPath(dataDir, hc), c.subarray(0, 1000))
  const { rm } = await import('node:fs/promises')
  await rm(chunkPath(dataDir, ha))

  store = await openStore({ dataDir })
  t.teardown(async () => await store.close())
  t.match(store.recovery, { tempFilesRemoved: 1, orphansAdopted: 1, orphansRemoved: 1, droppedHashes: [ha], chunkCount: 1, usedBytes: 3000 })
  t.equal(await store.has(ha), false)
  t.equal(await store.has(hb), true)
  t.equal(await store.has(hc), false)
  const names = (await filesUnder(join(dataDir, 'chunks'))).map(p => p.split('/').pop())
  t.same(names, [hb])
  t.same(await store.verifyChunks(), { checked: 1, dropped: 0 })
})

t.test('a second opener in the same process gets E_DATA_DIR_IN_USE', async t => {
  const dataDir = await tempDir(t)
  const store = await openStore({ dataDir })
  t.teardown(async () => await store.close())
  await t.rejects(openStore({ dataDir }), { code: 'E_DATA_DIR_IN_USE', message: `data dir ${dataDir} is in use by another storemesh process` })
})
