import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import t from 'tap'
import { buildBundle, type BuildOptions } from '../../../src/bundle/build.js'
import { canonicalize } from '../../../src/bundle/canonical.js'
import { blake3Hex } from '../../../src/bundle/hash.js'
import { bundleJsonPath, chunkPathIn } from '../../../src/bundle/layout.js'
import { bundleIdOf } from '../../../src/bundle/manifest.js'
import { verifyBundleDir } from '../../../src/bundle/verify.js'
import { chunkFiles, makeKey, randomFile } from './fixture.js'

const DAY_MS = 86_400_000

function opts (over: Partial<BuildOptions> & Pick<BuildOptions, 'artifacts' | 'keys' | 'outDir'>): BuildOptions {
  return { name: 'pos-app', version: '3.8.2', deviceClass: 'pos', expiresAt: new Date(Date.now() + 30 * DAY_MS), ...over }
}

t.test('builds a folder of chunks and a signed manifest that verifies', async t => {
  const dir = t.testdir()
  const k = await makeKey(dir, 'signer')
  const fw = await randomFile(join(dir, 'rootfs.img'), 5 * 1024 * 1024 + 99)
  await writeFile(join(dir, 'config.tar'), 'tiny config')
  await mkdir(join(dir, 'copy'))
  await writeFile(join(dir, 'copy', 'rootfs-copy.img'), fw)
  const outDir = join(dir, 'out')
  const progress: number[] = []
  const info = await buildBundle(opts({
    artifacts: [join(dir, 'rootfs.img'), join(dir, 'config.tar'), join(dir, 'copy', 'rootfs-copy.img')],
    keys: [k.key],
    outDir,
    cycle: '2025-q4',
    requiresConfig: '>=12.4.1',
    onProgress: p => progress.push(p.doneBytes)
  }))
  const body = info.manifest.signed
  t.match(info.id, /^b3:[0-9a-f]{64}$/)
  t.equal(info.id, bundleIdOf(info.manifest))
  t.same(body.artifacts.map(a => a.name), ['rootfs.img', 'config.tar', 'rootfs-copy.img'])
  t.equal(body.artifacts[0]?.blake3, blake3Hex(fw))
  t.equal(body.cycle, '2025-q4')
  t.equal(body.requiresConfig, '>=12.4.1')
  t.same(body.chunking, { algorithm: 'fastcdc', minBytes: 65536, avgBytes: 262144, maxBytes: 1048576 })
  t.same(body.artifacts[2]?.chunks, body.artifacts[0]?.chunks, 'same content, same chunks')
  t.equal(info.pieces.length, (body.artifacts[0]?.chunks.length ?? 0) + 1, 'pieces are unique chunks')
  t.equal(progress.at(-1), fw.length * 2 + 11, 'progress reaches the total')

  const files = await chunkFiles(outDir)
  t.equal(files.length, info.pieces.length, 'one file per unique chunk, no temp files left')
  for (const f of files) t.equal(blake3Hex(await readFile(f)), basename(f), `${basename(f)} holds its content`)
  t.same(await readFile(bundleJsonPath(outDir)), Buffer.from(canonicalize(info.manifest)), 'bundle.json is canonical')

  const r = await verifyBundleDir(outDir, { keys: [k.key] })
  t.same(r.problems, [])
  t.equal(r.info.id, info.id)
  t.equal(r.checkedBytes, fw.length * 2 + 11)

  // the same inputs at the same time give the same bundle id, in any folder
  const again = await buildBundle(opts({
    artifacts: [join(dir, 'rootfs.img'), join(dir, 'config.tar'), join(dir, 'copy', 'rootfs-copy.img')],
    keys: [k.key],
    outDir: join(dir, 'out2'),
    cycle: '2025-q4',
    requiresConfig: '>=12.4.1',
    now: new Date(body.created),
    expiresAt: body.expires
  }))
  t.equal(again.id, info.id, 'deterministic id')
})

t.test('one byte inserted in the middle of a 64 MiB artifact changes at most 3 chunks', async t => {
  const dir = t.testdir()
  const k = await makeKey(dir, 'signer')
  const v1 = await randomFile(join(dir, 'v1-image.bin'), 64 * 1024 * 1024)
  const mid = v1.length >> 1
  const v2 = Buffer.concat([v1.subarray(0, mid), Buffer.from([0x42]), v1.subarray(mid)])
  await writeFile(join(dir, 'v2-image.bin'), v2)
  const a = await buildBundle(opts({ artifacts: [join(dir, 'v1-image.bin')], keys: [k.key], outDir: join(dir, 'a'), version: '1.0.0' }))
  const b = await buildBundle(opts({ artifacts: [join(dir, 'v2-image.bin')], keys: [k.key], outDir: join(dir, 'b'), version: '1.0.1' }))
  const old = new Set(a.pieces.map(p => p.hash))
  const fresh = b.pieces.filter(p => !old.has(p.hash))
  t.ok(a.pieces.length > 150, `many chunks (${a.pieces.length})`)
  t.ok(fresh.length >= 1 && fresh.length <= 3, `${fresh.length} new chunk(s) in v2`)
  t.equal(b.manifest.signed.artifacts[0]?.size, v1.length + 1)
})

t.test('refuses bad names, bad fields and missing files before hashing', async t => {
  const dir = t.testdir({ a: { 'fw.bin': 'x' }, b: { 'fw.bin': 'y' }, 'ok.bin': 'z' })
  const k = await makeKey(dir, 'signer')
  const base = { keys: [k.key], outDir: join(dir, 'out') }
  const cases: Array<[Partial<BuildOptions>, string]> = [
    [{ artifacts: [join(dir, 'a', 'fw.bin'), join(dir, 'b', 'fw.bin')] }, 'E_INVALID_ARGUMENT'],
    [{ artifacts: [`${dir}/a/..`] }, 'E_PATH_ESCAPE'],
    [{ artifacts: ['/'] }, 'E_PATH_ESCAPE'],
    [{ artifacts: [] }, 'E_USAGE'],
    [{ artifacts: [join(dir, 'missing.bin')] }, 'E_FILE_NOT_FOUND'],
    [{ artifacts: [join(dir, 'a')] }, 'E_INVALID_ARGUMENT'],
    [{ artifacts: [join(dir, 'ok.bin')], version: '1.2' }, 'E_MANIFEST_INVALID'],
    [{ artifacts: [join(dir, 'ok.bin')], name: '../etc' }, 'E_MANIFEST_INVALID'],
    [{ artifacts: [join(dir, 'ok.bin')], requiresConfig: 'not a range' }, 'E_MANIFEST_INVALID'],
    [{ artifacts: [join(dir, 'ok.bin')], expiresAt: new Date(Date.now() - 1000) }, 'E_INVALID_ARGUMENT'],
    [{ artifacts: [join(dir, 'ok.bin')], expiresAt: 'someday' }, 'E_INVALID_ARGUMENT'],
    [{ artifacts: [join(dir, 'ok.bin')], chunking: { avgBytes: 100000 } }, 'E_INVALID_ARGUMENT'],
    [{ artifacts: [join(dir, 'ok.bin')], keys: [] }, 'E_USAGE']
  ]
  for (const [over, code] of cases) {
    await t.rejects(buildBundle(opts({ ...base, ...over } as BuildOptions)), { code }, JSON.stringify(over))
  }
})

t.test('chunk files are written once and found by hash', async t => {
  const dir = t.testdir()
  const k = await makeKey(dir, 'signer')
  await randomFile(join(dir, 'small.bin'), 300_000)
  const info = await buildBundle(opts({ artifacts: [join(dir, 'small.bin')], keys: [k.key], outDir: join(dir, 'out'),
    chunking: { minBytes: 4096, avgBytes: 16384, maxBytes: 65536 } }))
  for (const p of info.pieces) {
    const bytes = await readFile(chunkPathIn(join(dir, 'out'), p.hash))
    t.equal(bytes.length, p.size)
  }
  t.ok(info.pieces.length > 5, 'custom chunking applied')
  t.same(info.manifest.signed.chunking, { algorithm: 'fastcdc', minBytes: 4096, avgBytes: 16384, maxBytes: 65536 })
})
