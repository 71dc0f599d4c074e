/**
 * Issue 21: a rotated root reaches a device through its hub with no `root install`
 * anywhere, over real libp2p with real processes. A `storemesh super-hub --root-dir
 * <feed>` (the folder the root keys' holders drop roots into), a store hub under it
 * (`storemesh hub --super …`) and a device agent, all on the static key (root 0).
 *
 * 1. Root 1 (the static key as release key, under a root key) and root 2 (a new release
 *    key: the static key revoked) are dropped into the feed. The super hub adopts them
 *    (they chain from its root 0), which wakes the hub's held report poll; the hub
 *    walks 0 -> 2 from the answer and hands them to the device the same way.
 * 2. The device then refuses a bundle signed only by the revoked key (`bundle verify
 *    --root <device data>`: exit 3, E_KEY_REVOKED), while the new key's bundle verifies.
 * 3. A different root 1 (a rollback) and a forged root 3 dropped in later are refused
 *    by the super hub, named in its log and counted on its /metrics; the chain it and
 *    the device hold does not move.
 *
 * The waits are bounds, not timings.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { generateSigningKey, writeKeyFiles, type PrivateSigningKey } from '../../src/bundle/keys.js'
import { buildRootBody, encodeRoot, signRoot, type RootDocument, type RootFields } from '../../src/identity/root/index.js'
import type { TrustedKey } from '../../src/interface/types.js'
import { runCli, spawnCli } from '../support/cli.js'
import { FIXTURE_KEY, simpleBundle, writeBundleDir } from '../support/bundles.js'
import { adopt, lanFixture, makeBundleDir, readStatus, spawnDevice, spawnHub, waitUntil } from '../support/lan-fixture.js'
import { superHubAddr, superHubApi } from '../support/super-hub-proc.js'

const DAY_MS = 86_400_000
/** bounds only: a held poll ends within 30 s even when nothing wakes it */
const WAIT_MS = 120_000

const pub = (k: PrivateSigningKey): TrustedKey => ({ keyid: k.keyid, publicKey: k.publicKey })
const one = (k: PrivateSigningKey): { keys: TrustedKey[], threshold: number } => ({ keys: [pub(k)], threshold: 1 })

function rootOf (version: number, rootKey: PrivateSigningKey, release: PrivateSigningKey, signers: PrivateSigningKey[], issuedMs = Date.now() - 60_000): RootDocument {
  const roles: RootFields['roles'] = { root: one(rootKey), release: one(release), policy: one(release), enrolment: one(rootKey), timestamp: one(rootKey) }
  return signRoot(buildRootBody({ version, issuedAt: new Date(issuedMs), expiresAt: new Date(Date.now() + 30 * DAY_MS), roles }), signers)
}

/** as a signer should: a dot name (skipped by the feed), then a rename */
async function drop (dir: string, name: string, root: RootDocument): Promise<void> {
  await writeFile(join(dir, `.${name}`), encodeRoot(root))
  await rename(join(dir, `.${name}`), join(dir, name))
}

/** The root version a node stored, 0 when it has none. */
async function rootVersionOf (dataDir: string): Promise<number> {
  const text = await readFile(join(dataDir, 'root-chain.json'), 'utf8').catch(() => undefined)
  if (text === undefined) return 0
  return (JSON.parse(text) as { roots: Array<{ signed: { version: number } }> }).roots.at(-1)?.signed.version ?? 0
}

t.test('a rotated root dropped into the super hub\'s root feed reaches a device through its hub; the device then refuses the revoked key', async t => {
  const f = await lanFixture(t)
  const startedMs = Date.now()
  const phase = (what: string): void => { t.comment(`${what} at ${((Date.now() - startedMs) / 1000).toFixed(1)} s`) }
  const rootKey = generateSigningKey()
  const newRelease = generateSigningKey()
  const { outDir } = await makeBundleDir(f.dir, 'fleet-os', 256 * 1024, 73)

  const feed = join(f.dir, 'roots')
  await mkdir(feed)
  const superDir = join(f.dir, 'super')
  const noBundles = join(f.dir, 'no-bundles')
  await mkdir(noBundles)
  const sup = adopt(f, spawnCli(['super-hub', '--data', superDir, '--bundles', noBundles, '--swarm-key', f.swarmKeyPath, '--trust', f.trustPath,
    '--listen', '/ip4/127.0.0.1/tcp/0', '--api-port', '0', '--root-dir', feed, '--json']), superDir)
  const superAddr = await superHubAddr(sup)
  const api = await superHubApi(sup, superDir)
  const hub = spawnHub(f, join(f.dir, 'hub'), ['--bundle', outDir, '--super', superAddr, '--hub-id', 'store-roots'])
  const dev = spawnDevice(f, join(f.dir, 'dev'), ['--report-interval-ms', '300'])
  const all = [sup, hub, dev]
  await waitUntil('the device reports to its hub', async () => (await readStatus(dev.dataDir)) !== undefined, WAIT_MS, all)
  t.equal(await rootVersionOf(dev.dataDir), 0, 'the device starts on its static key (root 0)')
  phase('all up')

  // 1. root 1 must be signed by root 0's keys (the static key) and its own; root 2 by root 1's root key
  await drop(feed, '2.json', rootOf(2, rootKey, newRelease, [rootKey]))
  await drop(feed, '1.json', rootOf(1, rootKey, FIXTURE_KEY, [FIXTURE_KEY, rootKey]))
  await waitUntil('the super hub adopted roots 1 and 2', async () => await rootVersionOf(superDir) === 2, WAIT_MS, all)
  phase('super hub on root 2')
  t.match(sup.stdout(), /root version 0 -> 2 from /, 'the super hub says where the roots came from')
  await waitUntil('the hub walked to root 2 from the super hub\'s answer', async () => await rootVersionOf(hub.dataDir) === 2, WAIT_MS, all)
  phase('hub on root 2')
  await waitUntil('the device walked to root 2 from its hub\'s answer', async () => await rootVersionOf(dev.dataDir) === 2, WAIT_MS, all)
  phase('device on root 2')
  t.pass('root 2 reached the device through its hub')

  // 2. the device refuses a bundle signed only by the revoked (static) key; the new key's verifies
  const oldBundle = join(f.dir, 'old-key-bundle')
  const newBundle = join(f.dir, 'new-key-bundle')
  await writeBundleDir(oldBundle, simpleBundle(5, 2, 4096))
  await writeBundleDir(newBundle, simpleBundle(6, 2, 4096, { key: newRelease }))
  const refused = await runCli(['bundle', 'verify', oldBundle, '--trust', f.trustPath, '--root', dev.dataDir])
  t.equal(refused.code, 3, 'the old key\'s bundle: exit 3')
  t.match(refused.stderr, /E_KEY_REVOKED/)
  const accepted = await runCli(['bundle', 'verify', newBundle, '--trust', f.trustPath, '--root', dev.dataDir])
  t.equal(accepted.code, 0, `the new key's bundle verifies: ${accepted.stderr}`)

  // 3. a rollback (another root 1) and a forged root 3: refused once each, counted, nothing moves
  const forger = generateSigningKey()
  await writeKeyFiles(join(f.dir, 'forger.key.json'), join(f.dir, 'forger.pub.json'), forger)
  const chainBefore = await readFile(join(superDir, 'root-chain.json'))
  await drop(feed, 'other-1.json', rootOf(1, rootKey, FIXTURE_KEY, [FIXTURE_KEY, rootKey], Date.now() - 120_000))
  await drop(feed, 'forged-3.json', rootOf(3, forger, forger, [forger]))
  let metrics = ''
  await waitUntil('the super hub counted both refusals', async () => {
    metrics = await (await fetch(`${api}/metrics`)).text()
    return /storemesh_root_feed_refused_total\{code="E_ROOT_ROLLBACK"\} 1\b/.test(metrics) && /storemesh_root_feed_refused_total\{code="E_ROOT_SIGNATURE"\} 1\b/.test(metrics)
  }, WAIT_MS, all)
  t.match(metrics, /storemesh_root_feed_adopted_total 2\b/, 'two roots adopted')
  t.match(metrics, /storemesh_root_version 2\b/, 'root 2 in force')
  t.match(sup.stdout(), /refused root \S*other-1\.json: E_ROOT_ROLLBACK/, 'the rollback named with its file and code')
  t.match(sup.stdout(), /refused root \S*forged-3\.json: E_ROOT_SIGNATURE/, 'the forged root named with its file and code')
  t.same(await readFile(join(superDir, 'root-chain.json')), chainBefore, 'the super hub\'s chain file is unchanged')
  t.equal(await rootVersionOf(dev.dataDir), 2, 'the device stays on root 2')
})
