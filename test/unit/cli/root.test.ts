/**
 * `storemesh root init|rotate|sign|show|install|publish` through the real CLI, and `bundle
 * verify --root`: the release key rotates; a rotation signed only by the new root key
 * is refused; a node walks two versions; the old key's bundle is then E_KEY_REVOKED.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { writeKeyFiles, generateSigningKey } from '../../../src/bundle/keys.js'
import { decodeTimestamp, encodeTimestamp, signTimestamp } from '../../../src/identity/root/index.js'
import { ORIGIN_TIMESTAMP_KEY } from '../../../src/origin/index.js'
import { runCli } from '../../support/cli.js'
import { simpleBundle, writeBundleDir } from '../../support/bundles.js'
import { tempDir } from '../../support/store-fixture.js'

t.test('root lifecycle through the CLI', async t => {
  const dir = await tempDir(t, 'storemesh-root-cli-')
  const keys = { rootA: generateSigningKey(), rootB: generateSigningKey(), rel1: generateSigningKey(), rel2: generateSigningKey() }
  const priv = (n: keyof typeof keys): string => join(dir, `${n}.key.json`)
  const pubf = (n: keyof typeof keys): string => join(dir, `${n}.pub.json`)
  for (const n of Object.keys(keys) as Array<keyof typeof keys>) await writeKeyFiles(priv(n), pubf(n), keys[n])
  const ok = async (args: string[]): Promise<string> => {
    const r = await runCli(args)
    t.equal(r.code, 0, `${args.slice(0, 2).join(' ')}: ${r.stderr}`)
    return r.stdout
  }
  const r1 = join(dir, 'root.1.json')
  const r2 = join(dir, 'root.2.json')
  const r3 = join(dir, 'root.3.json')
  await ok(['root', 'init', '--out', r1, '--root-key', pubf('rootA'), '--release-key', pubf('rel1'), '--sign', priv('rootA')])
  await ok(['root', 'rotate', '--from', r1, '--out', r2, '--release-key', pubf('rel2')])
  // signed by nothing yet: a node refuses it
  const node = join(dir, 'node')
  await mkdir(node)
  await ok(['root', 'install', '--data', node, '--enrol', r1])
  const refused = await runCli(['root', 'install', '--data', node, r2, '--json'])
  t.equal(refused.code, 3)
  t.match(refused.stdout + refused.stderr, /E_ROOT_SIGNATURE/)
  await ok(['root', 'sign', r2, '--key', priv('rootA')])
  // root 3 moves the root key: the new key alone is not enough
  await ok(['root', 'rotate', '--from', r2, '--out', r3, '--root-key', pubf('rootB'), '--sign', priv('rootB')])
  const half = await runCli(['root', 'install', '--data', node, r2, r3])
  t.equal(half.code, 3, 'root 3 without the old root key is refused')
  t.match(half.stderr, /E_ROOT_SIGNATURE/)
  await ok(['root', 'sign', r3, '--key', priv('rootA')])
  t.match(await ok(['root', 'install', '--data', node, r3, r2, '--json']), /"to": 3/, 'walked 2 then 3')

  // the chain into an origin folder, where super hubs pulling through find it (roots/<version>.json)
  const origin = join(dir, 'origin')
  t.same(JSON.parse(await ok(['root', 'publish', '--origin', origin, r3, r1, r2, '--json'])), { kind: 'root-publish', origin, written: [1, 2, 3], present: [] })
  t.equal((await readFile(join(origin, 'roots', '3.json'), 'utf8')), await readFile(r3, 'utf8'), 'roots/3.json is the root file')
  const replaced = await runCli(['root', 'publish', '--origin', origin, r1, '--json'])
  t.equal(replaced.code, 0, 'the same root again: nothing to do')

  const shown = JSON.parse(await ok(['root', 'show', node, '--json'])) as { version: number, chain: number[], revoked: Record<string, string[]> }
  t.equal(shown.version, 3)
  t.same(shown.chain, [1, 2, 3])
  t.ok(shown.revoked.release?.includes(keys.rel1.keyid), 'the old release key is listed as revoked')
  t.ok(shown.revoked.root?.includes(keys.rootA.keyid), 'and the old root key')

  const oldBundle = join(dir, 'old-bundle')
  const newBundle = join(dir, 'new-bundle')
  await writeBundleDir(oldBundle, simpleBundle(1, 2, 1024, { key: keys.rel1 }))
  await writeBundleDir(newBundle, simpleBundle(2, 2, 1024, { key: keys.rel2 }))
  const before = await runCli(['bundle', 'verify', oldBundle, '--trust', pubf('rel1')])
  t.equal(before.code, 0, 'with the static key alone the old bundle verifies')
  const revoked = await runCli(['bundle', 'verify', oldBundle, '--trust', pubf('rel1'), '--root', node])
  t.equal(revoked.code, 3)
  t.match(revoked.stderr, /E_KEY_REVOKED/)
  await ok(['bundle', 'verify', newBundle, '--trust', pubf('rel1'), '--root', node])

  // the timestamp role (root A's, kept by the rotations) signs a statement the node stores
  const entry = `pos=b3:${'ab'.repeat(32)}`
  const stranger = await runCli(['root', 'timestamp', '--key', priv('rel2'), '--entry', entry, '--data', node])
  t.equal(stranger.code, 3, 'a key outside the timestamp role is refused')
  t.match(await ok(['root', 'timestamp', '--key', priv('rootA'), '--entry', entry, '--expires', '2h', '--data', node, '--json']), /"deviceClass": "pos"/)
})

t.test('root timestamp --origin writes the origin\'s timestamp.json, never over a statement issued later', async t => {
  const dir = await tempDir(t, 'storemesh-root-origin-')
  const key = generateSigningKey()
  await writeKeyFiles(join(dir, 'ts.key.json'), join(dir, 'ts.pub.json'), key)
  const origin = join(dir, 'origin')
  await mkdir(origin)
  const entry = `pos=b3:${'ab'.repeat(32)}`
  const first = await runCli(['root', 'timestamp', '--key', join(dir, 'ts.key.json'), '--entry', entry, '--origin', origin])
  t.equal(first.code, 0, first.stderr)
  const written = decodeTimestamp(await readFile(join(origin, ORIGIN_TIMESTAMP_KEY)))
  t.same(written.signed.entries, [{ deviceClass: 'pos', bundleId: `b3:${'ab'.repeat(32)}` }], 'the statement is the origin\'s timestamp.json')

  // a statement issued later (a signer whose clock runs ahead) is not rolled back
  const later = signTimestamp({ entries: [], issuedAt: new Date(Date.now() + 3_600_000), expiresAt: new Date(Date.now() + 7_200_000) }, [key])
  await writeFile(join(origin, ORIGIN_TIMESTAMP_KEY), encodeTimestamp(later))
  const second = await runCli(['root', 'timestamp', '--key', join(dir, 'ts.key.json'), '--entry', entry, '--origin', origin])
  t.equal(second.code, 3, 'refused: exit 3')
  t.match(second.stderr, /E_TIMESTAMP_ROLLBACK/)
  t.same(decodeTimestamp(await readFile(join(origin, ORIGIN_TIMESTAMP_KEY))), later, 'the later statement stays')

  // a torn file there is replaced
  await writeFile(join(origin, ORIGIN_TIMESTAMP_KEY), '{"signed":')
  const third = await runCli(['root', 'timestamp', '--key', join(dir, 'ts.key.json'), '--entry', entry, '--origin', origin])
  t.equal(third.code, 0, third.stderr)
  t.equal(decodeTimestamp(await readFile(join(origin, ORIGIN_TIMESTAMP_KEY))).signed.entries.length, 1)
})
