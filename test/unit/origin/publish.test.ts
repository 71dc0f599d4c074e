/** `bundle publish` into an origin folder: layout, idempotence, a killed publish completed, shared chunks not rewritten. */
import t from 'tap'
import { readdir, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises'
import { join, dirname } from 'node:path'
import { publishBundle, chunkKey, manifestKey, indexKey, decodeIndex, newestEntry } from '../../../src/origin/index.js'
import { decodeManifest } from '../../../src/bundle/manifest.js'
import { FIXTURE_KEY, FIXTURE_TRUST, makeBundle, seededBytes, simpleBundle, tempDir, writeBundleDir } from '../../support/store-fixture.js'

const keys = [FIXTURE_KEY]

t.test('publish writes chunks, the manifest and a signed class index', async t => {
  const root = await tempDir(t, 'origin-pub-')
  const b = simpleBundle(71, 6, 4096)
  await writeBundleDir(join(root, 'b1'), b)
  const origin = join(root, 'origin')
  const r = await publishBundle(join(root, 'b1'), origin, { keys, trust: FIXTURE_TRUST })
  t.equal(r.id, b.info.id)
  t.equal(r.chunksWritten, b.info.pieces.length)
  t.equal(r.bytesWritten, b.info.totalBytes)
  for (const p of b.info.pieces) {
    const bytes = await readFile(join(origin, chunkKey(p.hash)))
    t.same(new Uint8Array(bytes), b.chunks.get(p.hash), `chunk ${p.hash.slice(0, 8)} at chunks/${p.hash.slice(0, 2)}/`)
  }
  t.equal(decodeManifest(await readFile(join(origin, manifestKey(b.info.id))), FIXTURE_TRUST).id, b.info.id, 'manifest verifies and hashes to the id')
  const index = decodeIndex(await readFile(join(origin, indexKey('pos'))), FIXTURE_TRUST, 'pos')
  t.equal(index.version, 1)
  t.equal(newestEntry(index, Date.now())?.id, b.info.id)
})

t.test('publishing again changes nothing and rewrites no file', async t => {
  const root = await tempDir(t, 'origin-pub-')
  const b = simpleBundle(72, 4, 4096)
  await writeBundleDir(join(root, 'b1'), b)
  const origin = join(root, 'origin')
  await publishBundle(join(root, 'b1'), origin, { keys })
  const before = await inodes(origin)
  const r = await publishBundle(join(root, 'b1'), origin, { keys })
  t.equal(r.chunksWritten, 0)
  t.equal(r.chunksPresent, b.info.pieces.length)
  t.equal(r.manifestWritten, false)
  t.equal(r.indexWritten, false)
  t.equal(r.indexVersion, 1)
  t.same(await inodes(origin), before, 'same files, same inodes and mtimes')
})

t.test('a new version copies only its new chunks; the index lists both, newest first', async t => {
  const root = await tempDir(t, 'origin-pub-')
  const base = seededBytes(8 * 4096, 73)
  const v1 = makeBundle({ artifacts: [{ name: 'app.bin', bytes: base }], chunkBytes: 4096, version: '1.0.0' })
  const changed = new Uint8Array(base)
  changed.set(seededBytes(4096, 74), 3 * 4096)
  const v2 = makeBundle({ artifacts: [{ name: 'app.bin', bytes: changed }], chunkBytes: 4096, version: '1.1.0' })
  await writeBundleDir(join(root, 'v1'), v1)
  await writeBundleDir(join(root, 'v2'), v2)
  const origin = join(root, 'origin')
  await publishBundle(join(root, 'v1'), origin, { keys })
  const r = await publishBundle(join(root, 'v2'), origin, { keys })
  t.equal(r.chunksWritten, 1, 'one changed chunk copied')
  t.equal(r.indexVersion, 2)
  const index = decodeIndex(await readFile(join(origin, indexKey('pos'))), FIXTURE_TRUST, 'pos')
  t.same(index.bundles.map(e => e.version), ['1.1.0', '1.0.0'])
})

t.test('a publish killed midway completes on the next run', async t => {
  const root = await tempDir(t, 'origin-pub-')
  const b = simpleBundle(75, 8, 4096)
  await writeBundleDir(join(root, 'b1'), b)
  const origin = join(root, 'origin')
  // what a kill leaves: some chunks renamed, one temporary file, no manifest, no index
  const half = b.info.pieces.slice(0, 3)
  for (const p of half) {
    const path = join(origin, chunkKey(p.hash))
    await mkdir(dirname(path), { recursive: true })
    await writeFile(path, b.chunks.get(p.hash)!)
  }
  const cut = b.info.pieces[3]!
  await mkdir(dirname(join(origin, chunkKey(cut.hash))), { recursive: true })
  await writeFile(join(dirname(join(origin, chunkKey(cut.hash))), `.${cut.hash}.123.x.tmp`), b.chunks.get(cut.hash)!.subarray(0, 100))
  const r = await publishBundle(join(root, 'b1'), origin, { keys })
  t.equal(r.chunksPresent, 3, 'chunks present are kept')
  t.equal(r.chunksWritten, 5)
  t.ok(r.manifestWritten && r.indexWritten)
  for (const p of b.info.pieces) t.equal((await stat(join(origin, chunkKey(p.hash)))).size, p.size)
})

t.test('a chunk of the wrong size in the origin (not ours) is replaced', async t => {
  const root = await tempDir(t, 'origin-pub-')
  const b = simpleBundle(76, 3, 4096)
  await writeBundleDir(join(root, 'b1'), b)
  const origin = join(root, 'origin')
  await publishBundle(join(root, 'b1'), origin, { keys })
  const p = b.info.pieces[1]!
  await writeFile(join(origin, chunkKey(p.hash)), 'short')
  const r = await publishBundle(join(root, 'b1'), origin, { keys })
  t.equal(r.chunksWritten, 1)
  t.same(new Uint8Array(await readFile(join(origin, chunkKey(p.hash)))), b.chunks.get(p.hash))
})

t.test('a corrupt bundle folder is refused before its chunk reaches the origin', async t => {
  const root = await tempDir(t, 'origin-pub-')
  const b = simpleBundle(77, 3, 4096)
  await writeBundleDir(join(root, 'b1'), b)
  const p = b.info.pieces[2]!
  const bad = new Uint8Array(b.chunks.get(p.hash)!)
  bad[0] = bad[0]! ^ 1
  await writeFile(join(root, 'b1', chunkKey(p.hash)), bad)
  const origin = join(root, 'origin')
  await t.rejects(publishBundle(join(root, 'b1'), origin, { keys }), { code: 'E_CHUNK_HASH_MISMATCH' })
  await t.rejects(stat(join(origin, chunkKey(p.hash))), 'the bad chunk is not in the origin')
  await t.rejects(stat(join(origin, manifestKey(b.info.id))), 'no manifest for an incomplete bundle')
  await rm(join(root, 'b1', chunkKey(p.hash)))
  await t.rejects(publishBundle(join(root, 'b1'), origin, { keys }), { code: 'E_CHUNK_MISSING' })
})

t.test('a manifest that does not verify against --trust is refused', async t => {
  const root = await tempDir(t, 'origin-pub-')
  const b = simpleBundle(78, 2, 4096)
  await writeBundleDir(join(root, 'b1'), b)
  await t.rejects(publishBundle(join(root, 'b1'), join(root, 'origin'), { keys, trust: { keys: [] } }), { code: 'E_SIGNATURE_UNTRUSTED' })
})

async function inodes (dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue
    const s = await stat(join(e.parentPath, e.name))
    out.push(`${join(e.parentPath, e.name)}:${s.ino}:${s.mtimeMs}`)
  }
  return out.sort()
}
