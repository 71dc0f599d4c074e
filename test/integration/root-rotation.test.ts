/**
 * Issue #21 items 1-2: the release key rotates across a store hub and three devices,
 * each its own process through the real CLI on 127.0.0.1. All start on the static key
 * (the implicit root 0). Two devices are off while the operator gives the running hub
 * root 1 (that key, now under a root key) and root 2 (a new release key): the online
 * device takes both from the hub, the two others walk 0 -> 1 -> 2 when they return,
 * and every node then refuses a bundle signed with the old key (E_KEY_REVOKED), while
 * the new key's bundle verifies.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { generateSigningKey } from '../../src/bundle/keys.js'
import { verifyBundleDir } from '../../src/bundle/verify.js'
import { buildRootBody, encodeRoot, RootTrust, signRoot, type RootFields } from '../../src/identity/root/index.js'
import type { TrustedKey } from '../../src/interface/types.js'
import { runCli } from '../support/cli.js'
import { FIXTURE_KEY, simpleBundle, writeBundleDir } from '../support/bundles.js'
import {
  bundleOf, FIXTURE_TRUST, lanFixture, makeBundleDir, readStatus, spawnDevice, spawnHub, stopProc, waitUntil, type Proc
} from '../support/lan-fixture.js'

const BUNDLE_BYTES = 256 * 1024

/** The root version a node stored, 0 when it has none. */
async function rootVersionOf (dataDir: string): Promise<number> {
  const text = await readFile(join(dataDir, 'root-chain.json'), 'utf8').catch(() => undefined)
  if (text === undefined) return 0
  const chain = JSON.parse(text) as { roots: Array<{ signed: { version: number } }> }
  return chain.roots.at(-1)?.signed.version ?? 0
}

t.test('a release key rotation reaches a hub and three devices, two of them offline during it', async t => {
  const f = await lanFixture(t)
  const rootKey = generateSigningKey()
  const newRelease = generateSigningKey()
  const startedMs = Date.now()
  const phase = (what: string): void => { t.comment(`${what} at ${((Date.now() - startedMs) / 1000).toFixed(1)} s`) }
  const cli = async (args: string[]): Promise<string> => {
    const r = await runCli(args)
    t.equal(r.code, 0, `${args.slice(0, 2).join(' ')}: ${r.stderr}`)
    return r.stdout
  }

  // root 1: the static key as release key under a root key; it must be signed by the
  // static key too (root 0's keys) to chain. Root 2 moves releases to the new key.
  // Made in-process (the CLI's init and rotate have their own test); the running hub
  // gets them as an operator would, through `root install`.
  const r1 = join(f.dir, 'root.1.json')
  const r2 = join(f.dir, 'root.2.json')
  const one = (k: TrustedKey): { keys: TrustedKey[], threshold: number } => ({ keys: [k], threshold: 1 })
  const roles = (release: TrustedKey): RootFields['roles'] =>
    ({ root: one(rootKey), release: one(release), policy: one(release), enrolment: one(rootKey), timestamp: one(rootKey) })
  const expiresAt = new Date(Date.now() + 86_400_000)
  await writeFile(r1, encodeRoot(signRoot(buildRootBody({ version: 1, expiresAt, roles: roles(FIXTURE_KEY) }), [rootKey, FIXTURE_KEY])))
  await writeFile(r2, encodeRoot(signRoot(buildRootBody({ version: 2, expiresAt, roles: roles(newRelease) }), [rootKey])))

  const { outDir, info } = await makeBundleDir(f.dir, 'fleet-os', BUNDLE_BYTES, 21)
  const hub = spawnHub(f, join(f.dir, 'hub'), ['--bundle', outDir])
  const devices: Proc[] = [0, 1, 2].map(i => spawnDevice(f, join(f.dir, `dev${i}`)))
  await waitUntil('every device holds the first bundle (all connected)', async () => {
    const all = await Promise.all(devices.map(async d => bundleOf(await readStatus(d.dataDir), info.id)))
    return all.every(b => b?.state === 'verified')
  }, 120_000, [hub, ...devices])
  phase('all connected')
  const [online, ...away] = devices as [Proc, Proc, Proc]
  await Promise.all(away.map(async d => await stopProc(d)))
  phase('two stopped')

  t.match(await cli(['root', 'install', r1, r2, '--data', hub.dataDir, '--trust', f.trustPath]), /0 -> 2/, 'the running hub takes roots 1 and 2')
  phase('hub on root 2')

  await waitUntil('the online device took root 2 from the hub', async () => await rootVersionOf(online.dataDir) === 2, 30_000, [hub, online])
  phase('online device on root 2')
  t.equal(await rootVersionOf(away[0].dataDir), 0, 'the devices that were off still hold root 0')

  const back = away.map(d => spawnDevice(f, d.dataDir))
  await waitUntil('the returning devices walked to root 2', async () => {
    const v = await Promise.all(back.map(async d => await rootVersionOf(d.dataDir)))
    return v.every(x => x === 2)
  }, 60_000, [hub, ...back])
  phase('returning devices on root 2')
  await Promise.all([hub, online, ...back].map(async p => await stopProc(p)))
  phase('all stopped')

  const oldBundle = join(f.dir, 'old-key-bundle')
  const newBundle = join(f.dir, 'new-key-bundle')
  await writeBundleDir(oldBundle, simpleBundle(5, 2, 4096))
  await writeBundleDir(newBundle, simpleBundle(6, 2, 4096, { key: newRelease }))
  // every node's stored root, in-process (the CLI path once, on a returning device)
  for (const node of [hub, online, ...back]) {
    const release = (await RootTrust.open(node.dataDir, FIXTURE_TRUST)).snapshot('release')
    await t.rejects(verifyBundleDir(oldBundle, release), { code: 'E_KEY_REVOKED' }, `${node.dataDir}: the old key's bundle is refused`)
    t.equal((await verifyBundleDir(newBundle, release)).problems.length, 0, `${node.dataDir}: the new key's bundle verifies`)
  }
  const refused = await runCli(['bundle', 'verify', oldBundle, '--trust', f.trustPath, '--root', back[0]!.dataDir])
  t.equal(refused.code, 3)
  t.match(refused.stderr, /E_KEY_REVOKED/)
})
