import { readFile, rm, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { buildBundle } from '../../../src/bundle/build.js'
import { inspectBundleDir, bundleSummary } from '../../../src/bundle/inspect.js'
import { bundleJsonPath, chunkPathIn } from '../../../src/bundle/layout.js'
import { MAX_MANIFEST_BYTES } from '../../../src/bundle/manifest.js'
import { verifyBundleDir } from '../../../src/bundle/verify.js'
import type { BundleInfo, ManifestBody } from '../../../src/interface/types.js'
import { makeKey, randomFile, writeSigned, type KeyFiles } from './fixture.js'

const DAY_MS = 86_400_000

async function sample (dir: string, k: KeyFiles, signers = [k.key]): Promise<{ out: string, info: BundleInfo }> {
  await randomFile(join(dir, 'fw.img'), 2 * 1024 * 1024 + 5)
  await randomFile(join(dir, 'pkg.tar'), 700_000)
  const out = join(dir, 'bundle')
  const info = await buildBundle({
    artifacts: [join(dir, 'fw.img'), join(dir, 'pkg.tar')],
    keys: signers,
    name: 'kiosk',
    version: '2.0.0',
    deviceClass: 'kiosk',
    expiresAt: new Date(Date.now() + DAY_MS),
    outDir: out,
    chunking: { minBytes: 16384, avgBytes: 65536, maxBytes: 262144 }
  })
  return { out, info }
}

/** A fresh copy of the body, for editing. */
function bodyOf (info: BundleInfo): ManifestBody {
  return JSON.parse(JSON.stringify(info.manifest.signed)) as ManifestBody
}

t.test('content problems name artifact, chunk index and hash', async t => {
  const dir = t.testdir()
  const k = await makeKey(dir, 'a')
  const { out, info } = await sample(dir, k)
  const trust = { keys: [k.key] }
  t.same((await verifyBundleDir(out, trust)).problems, [])
  const fw = info.manifest.signed.artifacts[0]
  const pkg = info.manifest.signed.artifacts[1]
  if (fw === undefined || pkg === undefined) throw new Error('fixture')
  t.ok(fw.chunks.length >= 4)

  // one flipped byte
  const c2 = fw.chunks[2]
  const p2 = chunkPathIn(out, c2?.hash ?? '')
  const orig = await readFile(p2)
  const bad = Buffer.from(orig)
  bad[bad.length >> 1] = (bad[bad.length >> 1] ?? 0) ^ 0x01
  await writeFile(p2, bad)
  let r = await verifyBundleDir(out, trust)
  t.equal(r.problems.length, 1, 'only the chunk is reported, not the artifact as well')
  t.match(r.problems[0], { code: 'E_CHUNK_HASH_MISMATCH', artifact: 'fw.img', chunk: 2, hash: c2?.hash })
  await writeFile(p2, orig)

  // missing and short chunks
  const last = pkg.chunks.length - 1
  await rm(chunkPathIn(out, pkg.chunks[last]?.hash ?? ''))
  await truncate(chunkPathIn(out, fw.chunks[0]?.hash ?? ''), 10)
  r = await verifyBundleDir(out, trust)
  t.match(r.problems, [
    { code: 'E_SIZE_MISMATCH', artifact: 'fw.img', chunk: 0 },
    { code: 'E_CHUNK_MISSING', artifact: 'pkg.tar', chunk: last }
  ])
})

t.test('a signed manifest whose whole-file hash is wrong fails on the artifact', async t => {
  const dir = t.testdir()
  const k = await makeKey(dir, 'a')
  const { out, info } = await sample(dir, k)
  const body = bodyOf(info)
  const a = body.artifacts[1]
  if (a !== undefined) a.blake3 = 'f'.repeat(64)
  await writeSigned(out, body, [k.key])
  const r = await verifyBundleDir(out, { keys: [k.key] })
  t.match(r.problems, [{ code: 'E_ARTIFACT_HASH_MISMATCH', artifact: 'pkg.tar' }])
})

t.test('manifest and trust failures throw with their codes', async t => {
  const dir = t.testdir()
  const k = await makeKey(dir, 'a')
  const other = await makeKey(dir, 'b')
  const { out, info } = await sample(dir, k)
  const trust = { keys: [k.key] }
  const original = await readFile(bundleJsonPath(out))

  await t.rejects(verifyBundleDir(out, { keys: [other.key] }), { code: 'E_SIGNATURE_UNTRUSTED' }, 'wrong trust key')
  await t.rejects(verifyBundleDir(out, { keys: [k.key, other.key], threshold: 2 }), { code: 'E_SIGNATURE_THRESHOLD' })
  await t.rejects(verifyBundleDir(out, { ...trust, nowMs: Date.now() + 2 * DAY_MS }), { code: 'E_MANIFEST_EXPIRED' })

  // edited body, signature kept
  const edited = JSON.parse(original.toString()) as { signed: ManifestBody }
  edited.signed.version = '2.0.1'
  await writeFile(bundleJsonPath(out), JSON.stringify(edited))
  await t.rejects(verifyBundleDir(out, trust), { code: 'E_SIGNATURE_INVALID' }, 'edited manifest')

  // properly signed, but refused by the schema
  const escape = bodyOf(info)
  if (escape.artifacts[0] !== undefined) escape.artifacts[0].name = '../../etc/shadow'
  await writeSigned(out, escape, [k.key])
  await t.rejects(verifyBundleDir(out, trust), { code: 'E_PATH_ESCAPE' })
  if (escape.artifacts[0] !== undefined) escape.artifacts[0].name = '/etc/shadow'
  await writeSigned(out, escape, [k.key])
  await t.rejects(verifyBundleDir(out, trust), { code: 'E_PATH_ESCAPE' })

  const sizes = bodyOf(info)
  if (sizes.artifacts[0] !== undefined) sizes.artifacts[0].size += 1
  await writeSigned(out, sizes, [k.key])
  await t.rejects(verifyBundleDir(out, trust), { code: 'E_SIZE_MISMATCH' }, 'declared size disagrees with chunks')

  await writeFile(bundleJsonPath(out), Buffer.alloc(MAX_MANIFEST_BYTES + 1, 0x20))
  await t.rejects(verifyBundleDir(out, trust), { code: 'E_MANIFEST_TOO_LARGE' })
  await t.rejects(inspectBundleDir(out), { code: 'E_MANIFEST_TOO_LARGE' })
  await writeFile(bundleJsonPath(out), '{"signed": 1')
  await t.rejects(verifyBundleDir(out, trust), { code: 'E_MANIFEST_INVALID' })
  await t.rejects(verifyBundleDir(join(dir, 'nowhere'), trust), { code: 'E_BUNDLE_NOT_FOUND' })

  await writeFile(bundleJsonPath(out), original)
  t.same((await verifyBundleDir(out, trust)).problems, [], 'the original still verifies')
})

t.test('two signers meet a threshold of two; inspect needs no trust', async t => {
  const dir = t.testdir()
  const a = await makeKey(dir, 'a')
  const b = await makeKey(dir, 'b')
  const { out, info } = await sample(dir, a, [a.key, b.key])
  const r = await verifyBundleDir(out, { keys: [a.key, b.key], threshold: 2 })
  t.same(r.problems, [])
  const s = bundleSummary(await inspectBundleDir(out))
  t.equal(s.id, info.id)
  t.same(s.signedBy, [a.key.keyid, b.key.keyid])
})
