import t from 'tap'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateSigningKey } from '../../../src/bundle/keys.js'
import { chunkPathIn } from '../../../src/bundle/layout.js'
import { openStore } from '../../../src/store/index.js'
import { FIXTURE_TRUST, makeBundle, seededBytes, simpleBundle, writeBundleDir, tempDir } from '../../support/store-fixture.js'

t.test('a bundle goes partial -> complete as its chunks arrive; state survives reopen', async t => {
  const dataDir = await tempDir(t)
  const fx = simpleBundle(1, 6, 2048)
  let store = await openStore({ dataDir })
  const rec = await store.addBundle(fx.info)
  t.match(rec, { id: fx.info.id, name: 'pos-os', version: '1.0.0', deviceClass: 'pos', state: 'partial', pins: [], pieceCount: 6, totalBytes: 6 * 2048 })
  t.same(Buffer.from(await store.bitfield(fx.info.id)), Buffer.from([0]))
  const hashes = fx.info.pieces.map(p => p.hash)
  await store.put(hashes[0]!, fx.chunks.get(hashes[0]!)!)
  await store.put(hashes[5]!, fx.chunks.get(hashes[5]!)!)
  t.same([...await store.bitfield(fx.info.id)], [0b10000100])
  t.same((await store.missingPieces(fx.info.id)).map(p => p.index), [1, 2, 3, 4])
  await store.close()

  store = await openStore({ dataDir })
  t.equal(store.bundleState(fx.info.id), 'partial')
  t.same((await store.missingPieces(fx.info.id)).map(p => p.index), [1, 2, 3, 4], 'missing set rebuilt at open')
  for (const h of hashes.slice(1, 5)) await store.put(h, fx.chunks.get(h)!)
  t.equal(store.bundleState(fx.info.id), 'complete')
  t.same(await store.missingPieces(fx.info.id), [])
  const verified = await store.markVerified(fx.info.id)
  t.equal(verified.state, 'verified')
  t.type(verified.verifiedMs, 'number')
  await store.close()

  store = await openStore({ dataDir })
  t.equal(store.bundleState(fx.info.id), 'verified')
  t.same(store.listBundles().map(b => b.id), [fx.info.id])
  t.equal((await store.bundleInfo(fx.info.id)).id, fx.info.id)
  await store.close()
})

t.test('a chunk held for one bundle counts for another (bitfield from the store)', async t => {
  const dataDir = await tempDir(t)
  const store = await openStore({ dataDir })
  t.teardown(async () => await store.close())
  const shared = seededBytes(4096 * 3, 7)
  const v1 = makeBundle({ artifacts: [{ name: 'a.img', bytes: shared }], chunkBytes: 4096, version: '1.0.0' })
  const tail = seededBytes(4096, 8)
  const both = new Uint8Array(shared.length + tail.length)
  both.set(shared)
  both.set(tail, shared.length)
  const v2 = makeBundle({ artifacts: [{ name: 'a.img', bytes: both }], chunkBytes: 4096, version: '1.1.0' })
  await store.addBundle(v1.info)
  for (const [h, b] of v1.chunks) await store.put(h, b)
  t.equal(store.bundleState(v1.info.id), 'complete')
  // v2 has never been seen, yet three of its four pieces are already held.
  const rec = await store.addBundle(v2.info)
  t.equal(rec.state, 'partial')
  t.same([...await store.bitfield(v2.info.id)], [0b11100000])
  t.same((await store.missingPieces(v2.info.id)).map(p => p.index), [3])
  const last = v2.info.pieces[3]!
  await store.put(last.hash, v2.chunks.get(last.hash)!)
  t.equal(store.bundleState(v2.info.id), 'complete')
  t.equal(store.newestForClass('pos')?.id, v2.info.id)
  t.equal(store.newestForClass('kiosk'), undefined)
})

t.test('importBundleDir verifies the manifest, every chunk and every artifact', async t => {
  const fx = makeBundle({
    artifacts: [{ name: 'rootfs.img', bytes: seededBytes(50_000, 3) }, { name: 'cfg/app.tar', bytes: seededBytes(9_000, 4) }],
    chunkBytes: 8192
  })
  const src = await tempDir(t)
  await writeBundleDir(src, fx)

  t.test('good bundle imports as verified', async t => {
    const store = await openStore({ dataDir: await tempDir(t) })
    t.teardown(async () => await store.close())
    const r = await store.importBundleDir(src, FIXTURE_TRUST)
    t.match(r, { chunksWritten: fx.chunks.size, bytesWritten: 59_000, chunksAlreadyHeld: 0 })
    t.equal(r.bundle.state, 'verified')
    t.equal(store.bundleState(fx.info.id), 'verified')
    const again = await store.importBundleDir(src, FIXTURE_TRUST)
    t.match(again, { chunksWritten: 0, chunksAlreadyHeld: fx.info.manifest.signed.artifacts.reduce((s, a) => s + a.chunks.length, 0) })
  })

  t.test('untrusted key, flipped chunk byte, missing chunk', async t => {
    const store = await openStore({ dataDir: await tempDir(t) })
    t.teardown(async () => await store.close())
    const other = generateSigningKey()
    await t.rejects(store.importBundleDir(src, { keys: [other] }), { code: 'E_SIGNATURE_UNTRUSTED' })
    t.same(store.listBundles(), [], 'nothing recorded for an untrusted manifest')

    const bad = await tempDir(t)
    await writeBundleDir(bad, fx)
    const victim = fx.info.manifest.signed.artifacts[0]!.chunks[2]!
    const bytes = Buffer.from(fx.chunks.get(victim.hash)!)
    bytes[0] = bytes[0]! ^ 0xff
    await writeFile(chunkPathIn(bad, victim.hash), bytes)
    await t.rejects(store.importBundleDir(bad, FIXTURE_TRUST), { code: 'E_CHUNK_HASH_MISMATCH', meta: { artifact: 'rootfs.img', chunk: 2 } })
    t.equal(await store.has(victim.hash), false, 'the bad chunk was not stored')
    t.equal(store.bundleState(fx.info.id), 'partial')

    const { rm } = await import('node:fs/promises')
    await rm(chunkPathIn(bad, victim.hash))
    await t.rejects(store.importBundleDir(bad, FIXTURE_TRUST), { code: 'E_CHUNK_MISSING' })
    await rm(join(bad, 'bundle.json'))
    await t.rejects(store.importBundleDir(bad, FIXTURE_TRUST), { code: 'E_FILE_NOT_FOUND' })
    // Finish from the good folder: chunks already stored are not re-read from it.
    const r = await store.importBundleDir(src, FIXTURE_TRUST)
    t.equal(r.bundle.state, 'verified')
    t.ok(r.chunksAlreadyHeld > 0)
  })
})

t.test('pins are exclusive per device class and reason; unpin and remove', async t => {
  const dataDir = await tempDir(t)
  let store = await openStore({ dataDir })
  t.teardown(async () => await store.close())
  const a = simpleBundle(1, 2, 1024, { version: '1.0.0' })
  const b = simpleBundle(2, 2, 1024, { version: '2.0.0' })
  const k = simpleBundle(3, 2, 1024, { version: '1.0.0', deviceClass: 'kiosk' })
  for (const fx of [a, b, k]) await store.addBundle(fx.info)
  await store.pin(a.info.id, 'active')
  await store.pin(k.info.id, 'active')
  t.same(store.getBundle(a.info.id)?.pins, ['active'])
  await store.pin(b.info.id, 'active')
  await store.pin(a.info.id, 'last-known-good')
  t.same(store.getBundle(a.info.id)?.pins, ['last-known-good'], 'active moved to b')
  t.same(store.getBundle(b.info.id)?.pins, ['active'])
  t.same(store.getBundle(k.info.id)?.pins, ['active'], 'other class untouched')
  await store.close()
  store = await openStore({ dataDir })
  t.same(store.listBundles().map(r => `${r.deviceClass}@${r.version}:${r.pins.join(',')}`).sort(),
    ['kiosk@1.0.0:active', 'pos@1.0.0:last-known-good', 'pos@2.0.0:active'], 'pins survive a reopen')
  await t.rejects(store.removeBundle(a.info.id), { code: 'E_BUNDLE_PINNED' }, 'a pinned bundle is refused with its own code')
  await store.unpin(a.info.id)
  await store.removeBundle(a.info.id)
  t.equal(store.getBundle(a.info.id), undefined)
  await t.rejects(store.pin(a.info.id, 'active'), { code: 'E_BUNDLE_NOT_FOUND' })
  await t.rejects(store.bitfield(a.info.id), { code: 'E_BUNDLE_NOT_FOUND' })
  await t.rejects(store.markVerified(b.info.id), { code: 'E_CHUNK_MISSING' })
})

t.test('a partial bundle whose state write was lost completes at open', async t => {
  // Simulates a crash between indexing the last chunk and recording completion: the
  // chunks are put while no bundle lists them, then the bundle is added after reopen.
  const dataDir = await tempDir(t)
  const fx = simpleBundle(9, 3, 1024)
  let store = await openStore({ dataDir })
  await store.addBundle(fx.info)
  await store.close()
  // Write the chunk files behind the store's back, as a lost index tail would leave them.
  const { mkdir } = await import('node:fs/promises')
  for (const [h, bytes] of fx.chunks) {
    await mkdir(join(dataDir, 'chunks', h.slice(0, 2)), { recursive: true })
    await writeFile(join(dataDir, 'chunks', h.slice(0, 2), h), bytes)
  }
  store = await openStore({ dataDir })
  t.teardown(async () => await store.close())
  t.equal(store.recovery?.orphansAdopted, 3)
  t.equal(store.bundleState(fx.info.id), 'complete')
})
