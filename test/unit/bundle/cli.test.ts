/**
 * The real `storemesh` CLI as a child process: keygen, bundle build / verify / inspect
 * and their exit codes. Runs that do not depend on each other go side by side (each
 * broken bundle is a copy of its own) to keep the file quick.
 */
import { cp, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { buildBundle } from '../../../src/bundle/build.js'
import { readSigningKeyFile } from '../../../src/bundle/keys.js'
import { bundleJsonPath, chunkPathIn } from '../../../src/bundle/layout.js'
import type { ManifestBody } from '../../../src/interface/types.js'
import { runCli } from '../../support/cli.js'
import { randomFile } from './fixture.js'

const DAY_MS = 86_400_000

/** A copy of a bundle folder with one byte of one chunk flipped. */
async function flippedCopy (out: string, copy: string, hash: string, at: number): Promise<void> {
  await cp(out, copy, { recursive: true })
  const path = chunkPathIn(copy, hash)
  const bad = await readFile(path)
  bad[at % bad.length] = (bad[at % bad.length] ?? 0) ^ 0x80
  await writeFile(path, bad)
}

t.test('keygen, build, verify, inspect, and every way verify fails', async t => {
  const dir = t.testdir()
  const key = join(dir, 'signer.key')
  const pub = join(dir, 'signer.pub')
  const otherPub = join(dir, 'other.key.pub')

  const [k1, k2] = await Promise.all([
    runCli(['keygen', '--out', key, '--public', pub]),
    runCli(['keygen', '--out', join(dir, 'other.key'), '--json'])
  ])
  t.equal(k1.code, 0, k1.stderr)
  t.match(k1.stdout, /^[0-9a-f]{32}\n$/, 'prints the key id')
  const keyid = k1.stdout.trim()
  t.equal(k2.code, 0, k2.stderr)
  t.match(JSON.parse(k2.stdout), { kind: 'ed25519-signing', id: /^[0-9a-f]{32}$/, files: { public: otherPub } })

  await randomFile(join(dir, 'rootfs.img'), 3 * 1024 * 1024)
  await writeFile(join(dir, 'app.cfg'), 'config v12\n')
  const out = join(dir, 'bundle')
  const [b, again] = await Promise.all([
    runCli(['bundle', 'build', join(dir, 'rootfs.img'), join(dir, 'app.cfg'), '--key', key, '--name', 'pos-app',
      '--version', '3.8.2', '--device-class', 'pos', '--cycle', 'q4', '--expires', '30d', '--requires-config', '>=12.4.1',
      '--min-chunk', '32KiB', '--avg-chunk', '128k', '--max-chunk', '512KiB', '--out', out]),
    runCli(['keygen', '--out', key])
  ])
  t.equal(again.code, 64, 'keygen refuses to overwrite a key')
  t.match(again.stderr, /^storemesh: E_INVALID_ARGUMENT .*--force/)
  t.equal(b.code, 0, b.stderr)
  t.match(b.stdout, /^b3:[0-9a-f]{64}\n$/, 'build prints the bundle id')
  t.equal(b.stderr, '', 'no progress bar off a terminal')
  const id = b.stdout.trim()

  const manifest = JSON.parse(await readFile(bundleJsonPath(out), 'utf8')) as { signed: ManifestBody }
  const chunks = manifest.signed.artifacts[0]?.chunks ?? []
  t.ok(chunks.length >= 5, `${chunks.length} chunks`)
  const flips = [0, chunks.length - 1]
  for (const i of flips) await flippedCopy(out, join(dir, `flip-${i}`), chunks[i]?.hash ?? '', i * 7919 + 5)
  const edited = join(dir, 'edited')
  await cp(out, edited, { recursive: true })
  await writeFile(bundleJsonPath(edited), (await readFile(bundleJsonPath(out), 'utf8')).replace('"version":"3.8.2"', '"version":"3.8.3"'))

  const [ok, okJson, inspectJson, inspectText, untrusted, threshold, editedRun, ...flipped] = await Promise.all([
    runCli(['bundle', 'verify', out, '--trust', pub]),
    runCli(['bundle', 'verify', out, '--trust', pub, '--json']),
    runCli(['bundle', 'inspect', out, '--json']),
    runCli(['bundle', 'inspect', out]),
    runCli(['bundle', 'verify', out, '--trust', otherPub]),
    runCli(['bundle', 'verify', out, '--trust', pub, otherPub, '--threshold', '2']),
    runCli(['bundle', 'verify', edited, '--trust', pub, '--json']),
    ...flips.map(i => runCli(['bundle', 'verify', join(dir, `flip-${i}`), '--trust', pub]))
  ])

  t.equal(ok.code, 0, ok.stderr)
  t.match(ok.stdout, new RegExp(`^ok ${id} pos-app 3.8.2: 2 artifact\\(s\\), \\d+ chunks, .* verified\\n$`))
  t.equal(okJson.code, 0, okJson.stderr)
  t.match(JSON.parse(okJson.stdout), { ok: true, id, problems: [] })

  t.equal(inspectJson.code, 0, inspectJson.stderr)
  const s = JSON.parse(inspectJson.stdout) as Record<string, unknown> & { artifacts: Array<Record<string, unknown> & { chunks: unknown[] }> }
  t.match(s, { id, name: 'pos-app', version: '3.8.2', deviceClass: 'pos', expires: String, cycle: 'q4', signedBy: [keyid] })
  t.same(Object.keys(s.artifacts[0] ?? {}), ['name', 'size', 'blake3', 'chunks'])
  t.match(s.artifacts, [{ name: 'rootfs.img', size: 3 * 1024 * 1024, blake3: /^[0-9a-f]{64}$/ }, { name: 'app.cfg', size: 11 }])
  t.same(s.artifacts[0]?.chunks, chunks.map(c => ({ hash: c.hash, size: c.size })))
  t.equal(inspectText.code, 0)
  t.match(inspectText.stdout, id)
  t.match(inspectText.stdout, /rootfs\.img/)

  t.equal(untrusted.code, 3, 'wrong trust key: exit 3')
  t.match(untrusted.stderr, /^storemesh: E_SIGNATURE_UNTRUSTED/)
  t.equal(threshold.code, 3, 'too few signatures: exit 3')
  t.match(threshold.stderr, /^storemesh: E_SIGNATURE_THRESHOLD/)
  t.equal(editedRun.code, 3, 'edited manifest: exit 3')
  t.match(JSON.parse(editedRun.stderr), { error: { code: 'E_SIGNATURE_INVALID' } })

  flipped.forEach((r, k) => {
    const i = flips[k] as number
    t.equal(r.code, 2, `flipped byte in chunk ${i}: exit 2`)
    t.match(r.stderr, new RegExp(`^storemesh: E_CHUNK_HASH_MISMATCH chunk ${i} of artifact rootfs\\.img \\(${chunks[i]?.hash ?? ''}\\)`))
    t.equal(r.stderr.trim().split('\n').length, 1, 'one line')
  })
})

t.test('expired bundles and keys of the wrong kind exit 3; bad flags exit 64', async t => {
  const dir = t.testdir()
  const key = join(dir, 'k')
  t.equal((await runCli(['keygen', '--out', key])).code, 0)
  await randomFile(join(dir, 'a.bin'), 100_000)
  const out = join(dir, 'old')
  const longAgo = Date.now() - 400 * DAY_MS
  await buildBundle({ artifacts: [join(dir, 'a.bin')], keys: [await readSigningKeyFile(key)], name: 'old', version: '1.0.0',
    deviceClass: 'pos', now: new Date(longAgo), expiresAt: new Date(longAgo + DAY_MS), outDir: out })
  await writeFile(join(dir, 'swarm.key'), '/key/swarm/psk/1.0.0/\n/base16/\n' + 'ab'.repeat(32) + '\n')
  const build = (k: string, i: number): string[] => ['bundle', 'build', join(dir, 'a.bin'), '--key', k, '--name', 'x',
    '--version', '1.0.0', '--device-class', 'pos', '--out', join(dir, `new-${i}`)]

  const [expired, pubSigns, swarmSigns, privTrusted, avg, expires, missing] = await Promise.all([
    runCli(['bundle', 'verify', out, '--trust', `${key}.pub`]),
    runCli(build(`${key}.pub`, 1)),
    runCli(build(join(dir, 'swarm.key'), 2)),
    runCli(['bundle', 'verify', out, '--trust', key]),
    runCli([...build(key, 3), '--avg-chunk', '100000']),
    runCli([...build(key, 4), '--expires', 'soonish']),
    runCli(['bundle', 'build', join(dir, 'a.bin'), '--key', key, '--out', join(dir, 'n')])
  ])
  t.equal(expired.code, 3, 'expired: exit 3')
  t.match(expired.stderr, /^storemesh: E_MANIFEST_EXPIRED/)
  t.equal(pubSigns.code, 3, 'a public key cannot sign')
  t.match(pubSigns.stderr, /E_KEY_INVALID .*not a private signing key/)
  t.equal(swarmSigns.code, 3, 'a swarm key cannot sign')
  t.match(swarmSigns.stderr, /E_KEY_INVALID/)
  t.equal(privTrusted.code, 3, 'a private key is not a trust file')
  t.match(privTrusted.stderr, /E_KEY_INVALID .*not a public trust key/)
  t.equal(avg.code, 64, 'avg chunk not a power of two')
  t.match(avg.stderr, /E_INVALID_ARGUMENT chunking/)
  t.equal(expires.code, 64, 'unreadable --expires')
  t.equal(missing.code, 64, 'missing required options')
})

t.test('--chunking presets: disk-image cuts smaller chunks, flags override it, unknown presets exit 64', async t => {
  const dir = t.testdir()
  const key = join(dir, 'k')
  t.equal((await runCli(['keygen', '--out', key])).code, 0)
  await randomFile(join(dir, 'img.bin'), 2 * 1024 * 1024)
  const build = (i: number, ...extra: string[]): string[] => ['bundle', 'build', join(dir, 'img.bin'), '--key', key,
    '--name', 'img', '--version', '1.0.0', '--device-class', 'pos', '--out', join(dir, `b-${i}`), ...extra]
  const [plain, disk, mixed, unknown] = await Promise.all([
    runCli(build(1)),
    runCli(build(2, '--chunking', 'disk-image')),
    runCli(build(3, '--chunking', 'disk-image', '--max-chunk', '64KiB')),
    runCli(build(4, '--chunking', 'tiny'))
  ])
  for (const r of [plain, disk, mixed]) t.equal(r.code, 0, r.stderr)
  const params = async (i: number): Promise<{ minBytes: number, avgBytes: number, maxBytes: number, chunks: number }> => {
    const m = JSON.parse(await readFile(bundleJsonPath(join(dir, `b-${i}`)), 'utf8')) as { signed: ManifestBody }
    return { ...m.signed.chunking, chunks: m.signed.artifacts[0]?.chunks.length ?? 0 }
  }
  const [p1, p2, p3] = await Promise.all([params(1), params(2), params(3)])
  t.match(p1, { minBytes: 64 * 1024, avgBytes: 256 * 1024, maxBytes: 1024 * 1024 })
  t.match(p2, { minBytes: 8 * 1024, avgBytes: 32 * 1024, maxBytes: 128 * 1024 })
  t.ok(p2.chunks > 4 * p1.chunks, `disk-image: ${p2.chunks} chunks against ${p1.chunks}`)
  t.match(p3, { minBytes: 8 * 1024, avgBytes: 32 * 1024, maxBytes: 64 * 1024 }, '--max-chunk overrides the preset')
  t.equal(unknown.code, 64)
  t.match(unknown.stderr, /E_USAGE --chunking: unknown preset "tiny" \(default, disk-image\)/)
})
