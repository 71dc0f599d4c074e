/**
 * Roots in an origin (src/origin/publish-root.ts, src/origin/root-source.ts) over a real
 * file:// origin and a real data dir: `root publish` writes `roots/<version>.json` only
 * for roots that chain, never replaces one; a super hub's root feed reading the origin
 * walks from the version after its own (0 -> 2 in one poll), takes a later root when it
 * appears, and refuses a bad object put there by hand once.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import t from 'tap'
import { generateSigningKey, type PrivateSigningKey } from '../../../src/bundle/keys.js'
import { buildRootBody, encodeRoot, RootFeed, RootTrust, signRoot, type RootDocument, type RootFields } from '../../../src/identity/root/index.js'
import type { TrustedKey } from '../../../src/interface/types.js'
import { OriginFetcher, OriginRootSource, rootKey } from '../../../src/origin/index.js'
import { publishRoots } from '../../../src/origin/publish-root.js'
import { tempDir } from '../../support/store-fixture.js'

const DAY_MS = 86_400_000
const pub = (k: PrivateSigningKey): TrustedKey => ({ keyid: k.keyid, publicKey: k.publicKey })
const one = (k: PrivateSigningKey): { keys: TrustedKey[], threshold: number } => ({ keys: [pub(k)], threshold: 1 })

function rootOf (version: number, rootKey_: PrivateSigningKey, release: PrivateSigningKey, signers: PrivateSigningKey[], issuedMs = Date.now() - 60_000): RootDocument {
  const roles: RootFields['roles'] = { root: one(rootKey_), release: one(release), policy: one(release), enrolment: one(rootKey_), timestamp: one(rootKey_) }
  return signRoot(buildRootBody({ version, issuedAt: new Date(issuedMs), expiresAt: new Date(Date.now() + 30 * DAY_MS), roles }), signers)
}

t.test('root publish writes roots/<version>.json only for roots that chain, and never replaces one', async t => {
  const origin = join(await tempDir(t), 'origin')
  const staticKey = generateSigningKey()
  const rootKey1 = generateSigningKey()
  const r1 = rootOf(1, rootKey1, staticKey, [staticKey, rootKey1])
  const r2 = rootOf(2, rootKey1, generateSigningKey(), [rootKey1])
  t.same(await publishRoots(origin, [r2, r1]), { written: [1, 2], present: [] }, 'lowest version first')
  t.same(await publishRoots(origin, [r1, r2]), { written: [], present: [1, 2] }, 'again: nothing to do')
  t.same(JSON.parse(await readFile(join(origin, rootKey(2)), 'utf8')), JSON.parse(Buffer.from(encodeRoot(r2)).toString()), 'byte for byte the root')

  await t.rejects(publishRoots(origin, [rootOf(2, rootKey1, staticKey, [rootKey1], Date.now() - 120_000)]), { code: 'E_ROOT_ROLLBACK' }, 'another root 2 is refused')
  const forger = generateSigningKey()
  await t.rejects(publishRoots(origin, [rootOf(3, forger, forger, [forger])]), { code: 'E_ROOT_SIGNATURE' }, 'a root 3 not signed by root 2\'s keys is refused')
  await t.rejects(publishRoots(origin, [{ ...rootOf(3, rootKey1, forger, [rootKey1]), signatures: [] }]), { code: 'E_ROOT_SIGNATURE' }, 'an unsigned root is refused')
  await t.rejects(readFile(join(origin, rootKey(3))), { code: 'ENOENT' }, 'nothing written for a refused root')
})

t.test('a super hub\'s root feed reads the origin from the version after its own', async t => {
  const data = await tempDir(t)
  const origin = join(await tempDir(t), 'origin')
  await mkdir(origin)
  const staticKey = generateSigningKey()
  const rk = generateSigningKey()
  const rt = await RootTrust.open(data, { keys: [pub(staticKey)] })
  const source = new OriginRootSource(new OriginFetcher({ base: pathToFileURL(origin).href, attempts: 1 }))
  const adopted: Array<[number, number]> = []
  const feed = new RootFeed({ root: rt, sources: [source], onAdopted: (from, to) => { adopted.push([from, to]) } })
  t.teardown(() => { feed.stop() })

  await feed.start()
  t.same(feed.counters(), { adopted: 0, refusedByCode: {}, sourceErrors: {}, version: 0, pending: 0 }, 'an origin without roots/ is not an error')

  await publishRoots(origin, [rootOf(1, rk, staticKey, [staticKey, rk]), rootOf(2, rk, generateSigningKey(), [rk])])
  await feed.scan()
  t.same(adopted, [[0, 2]], 'roots 1 and 2 walked in one poll')
  t.same(await source.poll({ heldVersion: 2 }), [], 'nothing after root 2')

  // a bad root 3 put there by hand (not through root publish): refused once, by code
  const forger = generateSigningKey()
  await writeFile(join(origin, rootKey(3)), encodeRoot(rootOf(3, forger, forger, [forger])))
  await feed.scan()
  await feed.scan()
  t.same(feed.counters().refusedByCode, { E_ROOT_SIGNATURE: 1 }, 'refused once over two polls')
  t.equal(rt.version, 2)

  // replaced by a good one: taken at the next poll
  await writeFile(join(origin, rootKey(3)), encodeRoot(rootOf(3, rk, generateSigningKey(), [rk])))
  await feed.scan()
  t.same(adopted.at(-1), [2, 3])
  t.equal(feed.counters().version, 3)
})
