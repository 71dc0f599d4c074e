import { writeFile } from 'node:fs/promises'
import t from 'tap'
import { signEnvelope } from '../../../../src/bundle/envelope.js'
import { generateSigningKey, type PrivateSigningKey } from '../../../../src/bundle/keys.js'
import {
  buildRootBody, decodeTimestamp, encodeTimestamp, FreshnessWatch, installTimestamp, RootTrust, signRoot, signTimestamp, timestampPath
} from '../../../../src/identity/root/index.js'
import type { TrustedKey } from '../../../../src/interface/types.js'
import { createMetrics } from '../../../../src/metrics/index.js'
import { tempDir } from '../../../support/store-fixture.js'

const HOUR_MS = 3_600_000
const pub = (k: PrivateSigningKey): TrustedKey => ({ keyid: k.keyid, publicKey: k.publicKey })
const entry = { deviceClass: 'pos', bundleId: 'b3:' + 'ab'.repeat(32), policyId: 'p3:' + 'cd'.repeat(32) }

t.test('a statement by the timestamp role: strict, verified, never replaced by an older one, fresh then stale', async t => {
  const dir = await tempDir(t)
  const [rootKey, ts1, ts2] = [generateSigningKey(), generateSigningKey(), generateSigningKey()]
  const one = (k: PrivateSigningKey): { keys: TrustedKey[], threshold: number } => ({ keys: [pub(k)], threshold: 1 })
  const roles = (ts: PrivateSigningKey) => ({ root: one(rootKey), release: one(rootKey), policy: one(rootKey), enrolment: one(rootKey), timestamp: one(ts) })
  const expiresAt = new Date(Date.now() + 24 * HOUR_MS)
  const rt = await RootTrust.open(dir, { keys: [] })
  await rt.enrol(signRoot(buildRootBody({ version: 1, expiresAt, roles: roles(ts1) }), [rootKey]))
  const trust = rt.trust('timestamp')

  const now = Date.now()
  const first = signTimestamp({ entries: [entry], issuedAt: new Date(now - HOUR_MS), expiresAt: new Date(now + HOUR_MS) }, [ts1])
  t.same(decodeTimestamp(encodeTimestamp(first)), first)
  const watch = new FreshnessWatch(dir, trust)
  t.same(await watch.read(), { state: 'none' })
  await installTimestamp(dir, first, trust)
  t.equal((await watch.read(now)).state, 'fresh')
  t.equal((await watch.read(now + 2 * HOUR_MS)).state, 'stale', 'past its expiry the store is stale')

  const older = signTimestamp({ entries: [entry], issuedAt: new Date(now - 2 * HOUR_MS), expiresAt: new Date(now + 5 * HOUR_MS) }, [ts1])
  await t.rejects(installTimestamp(dir, older, trust), { code: 'E_TIMESTAMP_ROLLBACK' }, 'a replayed older statement cannot hide a freeze')
  await t.rejects(installTimestamp(dir, signTimestamp({ entries: [], expiresAt: new Date(now + HOUR_MS) }, [rootKey]), trust), { code: 'E_SIGNATURE_UNTRUSTED' })

  const enc = (x: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(x))
  t.throws(() => decodeTimestamp(enc(signEnvelope({ ...first.signed, extra: 1 }, [ts1]))), { code: 'E_TIMESTAMP_INVALID' }, 'unknown member')
  t.throws(() => signTimestamp({ entries: [entry], expiresAt: new Date(now + 8 * 24 * HOUR_MS) }, [ts1]), { code: 'E_TIMESTAMP_INVALID' }, 'over 7 days')
  t.throws(() => decodeTimestamp(enc({ ...first, signed: { ...first.signed, entries: [entry, entry] } })), { code: 'E_TIMESTAMP_INVALID' }, 'duplicate class')

  // the timestamp key rotates: the old key's statements are revoked
  await rt.accept([signRoot(buildRootBody({ version: 2, expiresAt, roles: roles(ts2) }), [rootKey])])
  const byOld = signTimestamp({ entries: [entry], expiresAt: new Date(now + HOUR_MS) }, [ts1])
  await t.rejects(installTimestamp(dir, byOld, trust), { code: 'E_KEY_REVOKED' })
  await writeFile(timestampPath(dir), encodeTimestamp(byOld))
  const shown = await new FreshnessWatch(dir, trust).read()
  t.equal(shown.state, 'none', 'a stored statement that no longer verifies counts as none')
  t.match(shown.error, /E_KEY_REVOKED/)

  await installTimestamp(dir, signTimestamp({ entries: [entry], issuedAt: new Date(now - 3 * HOUR_MS), expiresAt: new Date(now - HOUR_MS) }, [ts2]), trust)
  const metrics = createMetrics(undefined, { trust: { rootVersion: () => rt.version, stale: async () => (await watch.read()).state === 'stale' ? 1 : 0 } })
  const text = await metrics.text()
  t.match(text, /storemesh_root_version 2/)
  t.match(text, /storemesh_store_stale 1/, 'an expired statement shows as stale in the metrics')
})
