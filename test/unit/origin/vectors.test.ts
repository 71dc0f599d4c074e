/** protocols/origin/vectors.json matches what publish writes, and its index verifies. */
import t from 'tap'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { REPO_ROOT } from '../../support/cli.js'
import { decodeIndex } from '../../../src/origin/index.js'
import { decodeTimestamp, verifyTimestamp } from '../../../src/identity/root/index.js'
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
})
