/**
 * Roots travel super hub -> store hub over the WAN puller's manifest client
 * (`/storemesh/manifest/1.1.0` `{rootsAfter}`): the super hub holds roots 1 and 2 (the
 * release key rotated), the store hub on root 0 (its static key) walks to 2 at its
 * first pull round and then refuses the old key's bundles.
 */
import t from 'tap'
import { generateSigningKey, type PrivateSigningKey } from '../../src/bundle/keys.js'
import { verifyManifest } from '../../src/bundle/manifest.js'
import { buildRootBody, RootTrust, signRoot, type RootFields } from '../../src/identity/root/index.js'
import type { TrustedKey } from '../../src/interface/types.js'
import { catchUpRoots } from '../../src/roles/root-catch-up.js'
import { FIXTURE_KEY, simpleBundle, tempDir } from '../support/store-fixture.js'
import { waitFor } from '../support/poll.js'
import { storeHubFixture, superFixture, trust } from './wan-fixture.js'

const pub = (k: PrivateSigningKey): TrustedKey => ({ keyid: k.keyid, publicKey: k.publicKey })

t.test('a store hub takes the super hub\'s newer roots at its pull round', async t => {
  const rootKey = generateSigningKey()
  const newRelease = generateSigningKey()
  const one = (k: PrivateSigningKey): { keys: TrustedKey[], threshold: number } => ({ keys: [pub(k)], threshold: 1 })
  const roles = (release: PrivateSigningKey): RootFields['roles'] =>
    ({ root: one(rootKey), release: one(release), policy: one(release), enrolment: one(rootKey), timestamp: one(rootKey) })
  const expiresAt = new Date(Date.now() + 86_400_000)
  const r1 = signRoot(buildRootBody({ version: 1, expiresAt, roles: roles(FIXTURE_KEY) }), [rootKey, FIXTURE_KEY])
  const r2 = signRoot(buildRootBody({ version: 2, expiresAt, roles: roles(newRelease) }), [rootKey])

  const sup = await superFixture(t, [simpleBundle(1, 1, 512)])
  // as `root install --data <super dir>` beside the running super hub
  t.same(await (await RootTrust.open(sup.dataDir, trust)).accept([r2, r1]), { from: 0, to: 2 })

  const hubRoot = await RootTrust.open(await tempDir(t, 'root-wan-hub-'), trust)
  const hub = await storeHubFixture(t, [sup.addr], {
    onRound: async ({ manifests, supers, signal }) => {
      for (const addr of supers) await catchUpRoots(manifests, hubRoot, addr, { signal })
    }
  })
  await hub.puller.start()
  await waitFor(async () => hubRoot.version === 2, 15_000, 'the store hub on root 2')
  const oldKeyBundle = simpleBundle(2, 1, 512).info.manifest
  t.throws(() => verifyManifest(oldKeyBundle, hubRoot.trust('release')), { code: 'E_KEY_REVOKED' })
  t.ok(verifyManifest(simpleBundle(3, 1, 512, { key: newRelease }).info.manifest, hubRoot.trust('release')))
})
