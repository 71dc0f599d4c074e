import { readFile, writeFile } from 'node:fs/promises'
import t from 'tap'
import { signEnvelope } from '../../../../src/bundle/envelope.js'
import { generateSigningKey, type PrivateSigningKey } from '../../../../src/bundle/keys.js'
import { verifyManifest } from '../../../../src/bundle/manifest.js'
import { buildRootBody, decodeRoot, encodeRoot, RootTrust, rootChainPath, signRoot, type RootDocument } from '../../../../src/identity/root/index.js'
import { isStoremeshError } from '../../../../src/interface/errors.js'
import type { TrustedKey } from '../../../../src/interface/types.js'
import { verifyPolicy } from '../../../../src/policy/signed.js'
import { simpleBundle } from '../../../support/bundles.js'
import { tempDir } from '../../../support/store-fixture.js'

const DAY_MS = 86_400_000
const pub = (k: PrivateSigningKey): TrustedKey => ({ keyid: k.keyid, publicKey: k.publicKey })
const one = (k: PrivateSigningKey): { keys: TrustedKey[], threshold: number } => ({ keys: [pub(k)], threshold: 1 })

function root (version: number, rootKey: PrivateSigningKey, release: PrivateSigningKey, policy: PrivateSigningKey, signers: PrivateSigningKey[], lifeMs = 30 * DAY_MS): RootDocument {
  return signRoot(buildRootBody({
    version,
    issuedAt: new Date(Date.now() - DAY_MS),
    expiresAt: new Date(Date.now() + lifeMs),
    roles: { root: one(rootKey), release: one(release), policy: one(policy), enrolment: one(rootKey), timestamp: one(rootKey) }
  }), signers)
}

const codeOf = (fn: () => unknown): string => {
  try { fn(); return 'ok' } catch (err) { if (isStoremeshError(err)) return err.code; throw err }
}

t.test('static keys are root 0; root 1 signed by them moves trust in-band and revokes the old release key', async t => {
  const dir = await tempDir(t)
  const oldRelease = generateSigningKey()
  const rootKey = generateSigningKey()
  const newRelease = generateSigningKey()
  const rt = await RootTrust.open(dir, { keys: [pub(oldRelease)] })
  t.equal(rt.version, 0)
  const release = rt.trust('release')
  const oldBundle = simpleBundle(1, 2, 1024, { key: oldRelease }).info.manifest
  const newBundle = simpleBundle(2, 2, 1024, { key: newRelease }).info.manifest
  t.equal(codeOf(() => verifyManifest(oldBundle, release)), 'ok', 'before: the static key signs bundles')

  // root 1 names new keys; without the static key's signature it does not chain from root 0
  const unsigned = root(1, rootKey, newRelease, newRelease, [rootKey])
  await t.rejects(rt.accept([unsigned]), { code: 'E_ROOT_SIGNATURE' })
  t.equal(rt.version, 0, 'a refused root changes nothing')
  t.equal(await readFile(rootChainPath(dir)).catch(() => undefined), undefined, 'and writes nothing')

  const r1 = root(1, rootKey, newRelease, newRelease, [rootKey, oldRelease])
  t.same(await rt.accept([r1]), { from: 0, to: 1 })
  t.equal(codeOf(() => verifyManifest(oldBundle, release)), 'E_KEY_REVOKED', 'the same view now refuses the removed key')
  t.equal(codeOf(() => verifyManifest(newBundle, release)), 'ok', 'and trusts the new one')
  const policy = signEnvelope({ type: 'storemesh/policy', policy: {} }, [oldRelease])
  t.equal(codeOf(() => verifyPolicy(policy, rt.trust('policy'))), 'E_KEY_REVOKED', 'policies too')

  // persisted: a restart keeps root 1 and the revocation
  const again = await RootTrust.open(dir, { keys: [pub(oldRelease)] })
  t.equal(again.version, 1)
  t.equal(codeOf(() => verifyManifest(oldBundle, again.trust('release'))), 'E_KEY_REVOKED')
})

t.test('a node that missed versions walks them; a gap, a replay or an expired newest root is refused', async t => {
  const dir = await tempDir(t)
  const [a, b, rel1, rel2, rel3] = [generateSigningKey(), generateSigningKey(), generateSigningKey(), generateSigningKey(), generateSigningKey()]
  const r1 = root(1, a, rel1, rel1, [a])
  const r2 = root(2, a, rel2, rel2, [a])
  const r3 = root(3, b, rel3, rel3, [a, b])
  const r4expired = root(4, b, rel3, rel3, [b], -1000)
  const rt = await RootTrust.open(dir, { keys: [pub(rel1)] })
  await rt.enrol(r1)
  await t.rejects(rt.enrol(r2), { code: 'E_ROOT_VERSION' }, 'enrolment is only for a node without a root')
  await t.rejects(rt.accept([r3]), { code: 'E_ROOT_VERSION' }, 'root 3 cannot follow root 1')
  t.same(await rt.accept([r3, r2, r1]), { from: 1, to: 3 }, 'walks 2 then 3')
  t.same(await rt.accept([r2]), { from: 3, to: 3 }, 'an older root offered again changes nothing')
  await t.rejects(rt.accept([r4expired]), { code: 'E_ROOT_EXPIRED' })
  t.equal(rt.version, 3)
  t.same(decodeRoot(encodeRoot(r3)), r3)
  t.equal(rt.rootsAfter(3), undefined)
  const chain = JSON.parse(new TextDecoder().decode(rt.rootsAfter(1))) as { roots: RootDocument[] }
  t.same(chain.roots.map(r => r.signed.version), [2, 3], 'serves what a peer at root 1 lacks')
  // rel1 (root 1) and rel2 (root 2) are both revoked by root 3
  const b1 = simpleBundle(1, 1, 512, { key: rel1 }).info.manifest
  const b2 = simpleBundle(2, 1, 512, { key: rel2 }).info.manifest
  t.equal(codeOf(() => verifyManifest(b1, rt.trust('release'))), 'E_KEY_REVOKED')
  t.equal(codeOf(() => verifyManifest(b2, rt.trust('release'))), 'E_KEY_REVOKED')
})

t.test('a root in force that expired refuses what it would have trusted; a tampered chain file is refused at load', async t => {
  const dir = await tempDir(t)
  const a = generateSigningKey()
  const r1 = root(1, a, a, a, [a], 60_000)
  const rt = await RootTrust.open(dir, { keys: [] })
  await rt.enrol(r1)
  const m = simpleBundle(1, 1, 512, { key: a }).info.manifest
  t.equal(codeOf(() => verifyManifest(m, { ...rt.snapshot('release'), nowMs: Date.now() + 120_000 })), 'E_ROOT_EXPIRED')
  const text = await readFile(rootChainPath(dir), 'utf8')
  await writeFile(rootChainPath(dir), text.replace('"version":1', '"version":2'))
  await t.rejects(RootTrust.open(dir, { keys: [] }), { code: 'E_ROOT_SIGNATURE' })
})
