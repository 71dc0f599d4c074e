/**
 * The store imports what `bundle build` produces (FastCDC chunks, src/bundle/build.ts),
 * and a second version that differs by one inserted byte reuses almost every chunk.
 */
import t from 'tap'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { buildBundle } from '../../../src/bundle/build.js'
import { openStore } from '../../../src/store/index.js'
import { FIXTURE_KEY, FIXTURE_TRUST, seededBytes, tempDir } from '../../support/store-fixture.js'

const CHUNKING = { minBytes: 16 * 1024, avgBytes: 64 * 1024, maxBytes: 256 * 1024 }

t.test('import a built bundle, then a one-byte-different version', async t => {
  const work = await tempDir(t)
  const v1Bytes = seededBytes(4 * 1024 * 1024, 77)
  const v2Bytes = Buffer.concat([v1Bytes.subarray(0, 2_000_000), Buffer.from([0x42]), v1Bytes.subarray(2_000_000)])
  await writeFile(join(work, 'v1.img'), v1Bytes)
  await writeFile(join(work, 'v2.img'), v2Bytes)
  const common = { keys: [FIXTURE_KEY], name: 'pos-os', deviceClass: 'pos', expiresAt: '2099-01-01T00:00:00Z', chunking: CHUNKING }
  const v1 = await buildBundle({ ...common, artifacts: [join(work, 'v1.img')], version: '1.0.0', outDir: join(work, 'b1') })
  const v2 = await buildBundle({ ...common, artifacts: [join(work, 'v2.img')], version: '1.0.1', outDir: join(work, 'b2') })

  const store = await openStore({ dataDir: await tempDir(t) })
  t.teardown(async () => await store.close())
  const r1 = await store.importBundleDir(join(work, 'b1'), FIXTURE_TRUST)
  t.equal(r1.bundle.id, v1.id)
  t.equal(r1.bundle.state, 'verified')
  t.equal(r1.chunksWritten, v1.pieces.length)

  // Before importing v2, the store already holds most of its pieces.
  await store.addBundle(v2)
  const missing = await store.missingPieces(v2.id)
  t.ok(missing.length >= 1 && missing.length <= 3, `${missing.length} of ${v2.pieces.length} pieces missing for v2`)
  const r2 = await store.importBundleDir(join(work, 'b2'), FIXTURE_TRUST)
  t.equal(r2.chunksWritten, missing.length, 'only the changed chunks were copied')
  t.equal(store.newestForClass('pos')?.id, v2.id)

  const out = join(work, 'out.img')
  await store.exportArtifact(v2.id, 'v2.img', out)
  t.ok(Buffer.compare(await readFile(out), v2Bytes) === 0, 'reconstructed v2 is byte-identical')
})
