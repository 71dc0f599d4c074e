import t from 'tap'
import type { Test } from 'tap'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { signEnvelope } from '../../../src/bundle/envelope.js'
import { blake3Hex } from '../../../src/bundle/hash.js'
import { bundleInfo } from '../../../src/bundle/manifest.js'
import { openStore, type ChunkStore } from '../../../src/store/index.js'
import { FIXTURE_KEY, makeBundle, seededBytes, type FixtureBundle, tempDir } from '../../support/store-fixture.js'

async function collect (it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const p of it) parts.push(Buffer.from(p))
  return Buffer.concat(parts)
}

async function filled (t: Test, fx: FixtureBundle): Promise<{ store: ChunkStore, dataDir: string }> {
  const dataDir = await tempDir(t)
  const store = await openStore({ dataDir })
  t.teardown(async () => await store.close())
  await store.addBundle(fx.info)
  for (const [h, b] of fx.chunks) await store.put(h, b)
  return { store, dataDir }
}

// Repeated chunks inside one artifact must come back in manifest order.
const block = seededBytes(4096, 1)
const art = Buffer.concat([block, seededBytes(4096, 2), block, seededBytes(1000, 3)])
const fx = makeBundle({ artifacts: [{ name: 'fw/rootfs.img', bytes: art }, { name: 'b.bin', bytes: seededBytes(10, 4) }], chunkBytes: 4096 })

t.test('artifactStream yields the exact bytes; exportArtifact writes them durably', async t => {
  const { store } = await filled(t, fx)
  t.equal(fx.info.pieces.length, 4, 'the repeated chunk is one piece')
  t.same(await collect(store.artifactStream(fx.info.id, 'fw/rootfs.img')), art)
  t.same(await collect(store.artifactStream(fx.info.id, 'b.bin', { readAheadChunks: 1 })), Buffer.from(fx.artifacts[1]!.bytes))
  t.same(await collect(await store.artifactReadable(fx.info.id, 'fw/rootfs.img')), art)
  const out = join(await tempDir(t), 'rootfs.img')
  const r = await store.exportArtifact(fx.info.id, 'fw/rootfs.img', out)
  t.same(r, { bytes: art.length, blake3: blake3Hex(art) })
  t.same(await readFile(out), art)
  await t.rejects(collect(store.artifactStream(fx.info.id, 'nope')), { code: 'E_INVALID_ARGUMENT' })
  await t.rejects(collect(store.artifactStream('b3:' + '0'.repeat(64), 'b.bin')), { code: 'E_BUNDLE_NOT_FOUND' })
})

t.test('a corrupt chunk stops the stream and the export leaves nothing behind', async t => {
  const { store, dataDir } = await filled(t, fx)
  const victim = fx.info.pieces[1]!.hash
  const bad = Buffer.from(fx.chunks.get(victim)!)
  bad[7] = bad[7]! ^ 0x10
  await writeFile(join(dataDir, 'chunks', victim.slice(0, 2), victim), bad)
  const outDir = await tempDir(t)
  await t.rejects(store.exportArtifact(fx.info.id, 'fw/rootfs.img', join(outDir, 'x.img')),
    { code: 'E_STORE_CORRUPT', meta: { artifact: 'fw/rootfs.img', chunk: 1, hash: victim } })
  t.same(await readdir(outDir), [], 'no output file and no temp file')
  t.equal(store.bundleState(fx.info.id), 'partial')
  await t.rejects(collect(store.artifactStream(fx.info.id, 'fw/rootfs.img')), { code: 'E_CHUNK_MISSING', meta: { chunk: 1 } })
})

t.test('a whole-file hash mismatch is an error at the end', async t => {
  // A signed manifest whose artifact hash disagrees with its chunks.
  const body = structuredClone(fx.info.manifest.signed)
  body.artifacts[0]!.blake3 = 'f'.repeat(64)
  const lying: FixtureBundle = { ...fx, info: bundleInfo(signEnvelope(body, [FIXTURE_KEY])) }
  const { store } = await filled(t, lying)
  let bytes = 0
  await t.rejects((async () => { for await (const p of store.artifactStream(lying.info.id, 'fw/rootfs.img')) bytes += p.length })(),
    { code: 'E_ARTIFACT_HASH_MISMATCH', meta: { artifact: 'fw/rootfs.img' } })
  t.equal(bytes, art.length, 'every byte was delivered before the end check')
  const outDir = await tempDir(t)
  await t.rejects(store.exportArtifact(lying.info.id, 'fw/rootfs.img', join(outDir, 'y.img')), { code: 'E_ARTIFACT_HASH_MISMATCH' })
  t.same(await readdir(outDir), [])
  await t.rejects(store.markVerified(lying.info.id), { code: 'E_ARTIFACT_HASH_MISMATCH' })
  t.equal(store.bundleState(lying.info.id), 'complete', 'never marked verified')
})

t.test('abort stops a stream; close aborts streams in flight', async t => {
  const big = makeBundle({ artifacts: [{ name: 'a', bytes: seededBytes(64 * 1024, 9) }], chunkBytes: 1024 })
  const { store } = await filled(t, big)
  const ac = new AbortController()
  let n = 0
  await t.rejects((async () => {
    for await (const _ of store.artifactStream(big.info.id, 'a', { signal: ac.signal })) {
      if (++n === 3) ac.abort()
    }
  })(), { name: 'AbortError' })
  t.equal(n, 3)
  const it = store.artifactStream(big.info.id, 'a')[Symbol.asyncIterator]()
  await it.next()
  await store.close()
  await t.rejects(it.next(), { code: 'E_STORE_CLOSED' })
})

t.test('reuseBuffers: the same bytes from a ring of scratch buffers; a corrupt chunk still fails and is dropped', async t => {
  // many chunks, so the ring (read-ahead + 1) wraps several times; repeated chunks come back in order
  const parts = Array.from({ length: 23 }, (_, i) => seededBytes(4096, 100 + (i % 7)))
  const big = Buffer.concat([...parts, seededBytes(123, 9)])
  const fxBig = makeBundle({ artifacts: [{ name: 'big.img', bytes: big }], chunkBytes: 4096 })
  const { store, dataDir } = await filled(t, fxBig)
  const seen: Buffer[] = []
  for await (const p of store.artifactStream(fxBig.info.id, 'big.img', { reuseBuffers: true, readAheadChunks: 2 })) seen.push(Buffer.from(p))
  t.same(Buffer.concat(seen), big, 'every byte in order, each piece copied before the next was asked for')
  t.equal((await store.markVerified(fxBig.info.id)).state, 'verified', 'markVerified reads through the ring')
  const victim = fxBig.info.pieces[3]!.hash
  const bad = Buffer.from(fxBig.chunks.get(victim)!)
  bad[0] = bad[0]! ^ 1
  await writeFile(join(dataDir, 'chunks', victim.slice(0, 2), victim), bad)
  await t.rejects(store.markVerified(fxBig.info.id), { code: 'E_STORE_CORRUPT' }, 'a corrupt chunk read into scratch is refused')
  t.equal(store.bundleState(fxBig.info.id), 'partial', 'and dropped')
})
