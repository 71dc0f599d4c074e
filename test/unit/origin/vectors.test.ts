/** protocols/origin/vectors.json matches what publish writes, and its index verifies. */
import t from 'tap'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { REPO_ROOT } from '../../support/cli.js'
import { decodeIndex } from '../../../src/origin/index.js'
import { decodeRoot, decodeTimestamp, RootTrust, verifySelfSigned, verifyTimestamp } from '../../../src/identity/root/index.js'
import { tempDir } from '../../support/store-fixture.js'
import { signingKeyFromSeed } from '../../../src/bundle/keys.js'
import { computeOriginVectors, VECTOR_SEED_HEX, type OriginVectors } from './vectors-lib.js'

t.test('publish reproduces the spec vectors byte for byte', async t => {
  const stored = JSON.parse(await readFile(join(REPO_ROOT, 'protocols', 'origin', 'vectors.json'), 'utf8')) as OriginVectors
  t.same(await computeOriginVectors(), stored)
  const key = signingKeyFromSeed(new Uint8Array(Buffer.from(VECTOR_SEED_HEX, 'hex')))
  const index = decodeIndex(new TextEncoder().encode(stored.index), { keys: [{ keyid: key.keyid, publicKey: key.publicKey }] }, 'pos')
  t.same(index.bundles.map(b => b.id), [stored.bundles[1]!.id, stored.bundles[0]!.id], 'newest first')
  t.equal(index.version, 2)
  t.equal(Object.keys(stored.objects).filter(k => k.startsWith('chunks/')).length, 3, 'three distinct chunks: A shared by both versions')
  const ts = verifyTimestamp(decodeTimestamp(new TextEncoder().encode(stored.timestamp)), { keys: [{ keyid: key.keyid, publicKey: key.publicKey }] })
  t.same(ts.signed.entries, [{ deviceClass: 'pos', bundleId: stored.bundles[1]!.id }], 'timestamp.json names the newest bundle of the class')
  const root1 = decodeRoot(new TextEncoder().encode(stored.roots['roots/1.json']))
  t.equal(verifySelfSigned(root1).version, 1, 'roots/1.json is root 1, signed by its own root key')
  t.ok(stored.objects['roots/1.json'], 'and listed among the objects')
  // a node on the vector key alone (root 0) takes it: signed by root 0's keys and by its own (a fixed now: the vector never ages)
  const node = await RootTrust.open(await tempDir(t), { keys: [{ keyid: key.keyid, publicKey: key.publicKey }] })
  t.same(await node.accept([root1], Date.parse('2026-12-01T12:00:00Z')), { from: 0, to: 1 }, 'a node on the static vector key walks 0 -> 1')
})
