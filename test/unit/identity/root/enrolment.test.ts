/**
 * The root's enrolment role replaces `--enrolment-trust` (src/identity/root/enrolment.ts):
 * on a real RootTrust (chain file in a temp dir) and the PeerIdentities every node
 * runs, certificates and peer revocation lists are verified against the root in force:
 * `--enrolment-trust` keys as the implicit root 0, then the signed root's enrolment keys
 * and threshold, a rotated-out enrolment key refused from the moment the new root is
 * accepted, and again after a restart.
 */
import t from 'tap'
import { generateSigningKey, type PrivateSigningKey } from '../../../../src/bundle/keys.js'
import { issueCertificate, type NodeCertificate } from '../../../../src/identity/certificate.js'
import { PeerIdentities } from '../../../../src/identity/peer-identities.js'
import { signRevocationList, verifyRevocationList } from '../../../../src/identity/revocation.js'
import { buildRootBody, enrolmentFromRoot, implicitEnrolment, RootTrust, signRoot, type RootDocument } from '../../../../src/identity/root/index.js'
import type { TrustedKey } from '../../../../src/interface/types.js'
import { tempDir } from '../../../support/store-fixture.js'
import { codeOf, DAY_MS, newPeerId } from '../fixture.js'

const pub = (k: PrivateSigningKey): TrustedKey => ({ keyid: k.keyid, publicKey: k.publicKey })

function root (version: number, rootKey: PrivateSigningKey, release: PrivateSigningKey, enrolment: PrivateSigningKey[], threshold: number,
  signers: PrivateSigningKey[]): RootDocument {
  const one = (k: PrivateSigningKey): { keys: TrustedKey[], threshold: number } => ({ keys: [pub(k)], threshold: 1 })
  return signRoot(buildRootBody({
    version,
    issuedAt: new Date(Date.now() - DAY_MS),
    expiresAt: new Date(Date.now() + 30 * DAY_MS),
    roles: { root: one(rootKey), release: one(release), policy: one(release), enrolment: { keys: enrolment.map(pub), threshold }, timestamp: one(rootKey) }
  }), signers)
}

async function cert (keys: PrivateSigningKey[], peerId?: string): Promise<NodeCertificate> {
  return issueCertificate({
    peerId: peerId ?? await newPeerId(), deviceId: 'pos-17', storeId: 'store-0042', role: 'device', deviceClass: 'pos', expiresAt: new Date(Date.now() + DAY_MS)
  }, keys)
}

t.test('enrolment key rotation: --enrolment-trust is root 0, a signed root\'s enrolment role and threshold decide from then on', async t => {
  const dir = await tempDir(t)
  const release = generateSigningKey()
  const rootKey = generateSigningKey()
  const [e1, e2, e3] = [generateSigningKey(), generateSigningKey(), generateSigningKey()]
  const identityOptions = { trust: [pub(e1)], requireCertificates: true }
  const rt = await RootTrust.open(dir, { keys: [pub(release)] }, implicitEnrolment(identityOptions))
  const identities = new PeerIdentities(enrolmentFromRoot(identityOptions, rt))
  const verify = async (c: NodeCertificate): Promise<string> => codeOf(() => identities.verify(c.signed.peerId, c))

  // root 0: the --enrolment-trust key, and only it (the release key is not an enrolment key)
  t.equal(rt.version, 0)
  t.equal(await verify(await cert([e1])), 'ok', 'root 0: the --enrolment-trust key certifies')
  t.equal(await verify(await cert([release])), 'E_CERT_SIGNATURE', 'root 0: the release key does not')
  t.same(identities.adoptRevocations(signRevocationList({ version: 1, serials: [], peerIds: [] }, [e1])), [], 'root 0: its lists are adopted')

  // root 1 (signed by root 0's root role: the static release key) names e2 as the enrolment key
  const r1 = root(1, rootKey, release, [e2], 1, [release, rootKey])
  t.same(await rt.accept([r1]), { from: 0, to: 1 })
  t.equal(await verify(await cert([e1])), 'E_CERT_SIGNATURE', 'the rotated-out key certifies nothing, on the same live view')
  t.equal(codeOf(() => identities.adoptRevocations(signRevocationList({ version: 2, serials: [], peerIds: [] }, [e1]))), 'E_REVOCATION_INVALID',
    'nor signs revocation lists')
  t.equal(identities.revocationVersion, 1, 'a refused list changes nothing')
  t.equal(await verify(await cert([e2])), 'ok', 'the new enrolment key certifies')
  const revokedPeer = await newPeerId()
  t.same(identities.adoptRevocations(signRevocationList({ version: 2, serials: [], peerIds: [revokedPeer] }, [e2])), [])
  t.equal(identities.isDenied(revokedPeer), true, 'a list by the new key is in force')

  // root 2: two enrolment keys at threshold 2
  const r2 = root(2, rootKey, release, [e2, e3], 2, [rootKey])
  await rt.accept([r2])
  t.equal(await verify(await cert([e2])), 'E_CERT_SIGNATURE', 'one signature is below the threshold')
  t.equal(await verify(await cert([e2, e3])), 'ok', 'two meet it')

  // a restart reads the chain: the rotation holds, --enrolment-trust no longer counts
  const again = await RootTrust.open(dir, { keys: [pub(release)] }, implicitEnrolment(identityOptions))
  t.equal(again.version, 2)
  const revList = signRevocationList({ version: 3, serials: [], peerIds: [] }, [e1])
  t.equal(codeOf(() => verifyRevocationList(revList, enrolmentFromRoot(identityOptions, again).trust)), 'E_REVOCATION_INVALID')
  t.equal(codeOf(() => verifyRevocationList(signRevocationList({ version: 3, serials: [], peerIds: [] }, [e2, e3]), again.trust('enrolment'))), 'ok')
})

t.test('without --enrolment-trust the implicit root 0 enrolment role is the static keys, as before', async t => {
  const dir = await tempDir(t)
  const key = generateSigningKey()
  const rt = await RootTrust.open(dir, { keys: [pub(key)] }, implicitEnrolment(undefined))
  t.same(rt.snapshot('enrolment').keys.map(k => k.keyid), [key.keyid])
})
