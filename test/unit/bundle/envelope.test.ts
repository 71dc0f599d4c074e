import t from 'tap'
import { canonicalString } from '../../../src/bundle/canonical.js'
import { signEnvelope, verifyEnvelope } from '../../../src/bundle/envelope.js'
import { generateSigningKey, signingKeyFromSeed } from '../../../src/bundle/keys.js'
import { bundleInfo, parseManifestBody, verifyManifest } from '../../../src/bundle/manifest.js'
import type { ManifestBody } from '../../../src/interface/types.js'

const body = (): ManifestBody => ({
  type: 'storemesh/bundle',
  specVersion: 1,
  name: 'pos-os',
  version: '1.2.3',
  deviceClass: 'pos',
  created: '2026-01-01T00:00:00.000Z',
  expires: '2099-01-01T00:00:00.000Z',
  chunking: { algorithm: 'fastcdc', minBytes: 65536, avgBytes: 262144, maxBytes: 1048576 },
  artifacts: [{ name: 'a.img', size: 3, blake3: 'a'.repeat(64), chunks: [{ hash: 'b'.repeat(64), size: 3 }] }]
})

t.test('canonical JSON sorts keys and drops whitespace', async t => {
  t.equal(canonicalString({ b: 1, a: [true, null, 'x'], c: { z: 1, y: 2 } }), '{"a":[true,null,"x"],"b":1,"c":{"y":2,"z":1}}')
  t.throws(() => canonicalString({ a: Number.NaN }))
})

t.test('envelope verifies with the right key and threshold, and fails closed otherwise', async t => {
  const k1 = signingKeyFromSeed(new Uint8Array(32).fill(1))
  const k2 = generateSigningKey()
  const env = signEnvelope(body(), [k1])
  verifyEnvelope(env, { keys: [k1] })
  t.throws(() => verifyEnvelope(env, { keys: [k2] }), { code: 'E_SIGNATURE_UNTRUSTED' })
  t.throws(() => verifyEnvelope(env, { keys: [k1, k2], threshold: 2 }), { code: 'E_SIGNATURE_THRESHOLD' })
  const both = signEnvelope(body(), [k1, k2])
  verifyEnvelope(both, { keys: [k1, k2], threshold: 2 })
  const edited = { ...env, signed: { ...env.signed, version: '9.9.9' } }
  t.throws(() => verifyEnvelope(edited, { keys: [k1] }), { code: 'E_SIGNATURE_INVALID' })
})

t.test('manifest checks: paths, sizes, expiry', async t => {
  const k = generateSigningKey()
  const info = verifyManifest(signEnvelope(body(), [k]), { keys: [k] })
  t.match(info.id, /^b3:[0-9a-f]{64}$/)
  t.equal(info.infoHash.length, 20)
  t.same(bundleInfo(info.manifest).id, info.id)
  for (const name of ['../x', '/etc/passwd', 'a/../../b', 'a\\b', '']) {
    const b = body()
    b.artifacts[0]!.name = name
    t.throws(() => parseManifestBody(b), { code: /^(E_PATH_ESCAPE|E_MANIFEST_INVALID)$/ }, name)
  }
  const bad = body()
  bad.artifacts[0]!.size = 4
  t.throws(() => parseManifestBody(bad), { code: 'E_SIZE_MISMATCH' })
  const unknown = { ...body(), extra: 1 }
  t.throws(() => parseManifestBody(unknown), { code: 'E_MANIFEST_INVALID' })
  const old = body()
  old.expires = '2020-01-01T00:00:00.000Z'
  t.throws(() => verifyManifest(signEnvelope(old, [k]), { keys: [k] }), { code: 'E_MANIFEST_EXPIRED' })
})
