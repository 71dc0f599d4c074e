/**
 * Issue #21 items 1-2: the release key rotates across a store hub and three devices,
 * each its own process through the real CLI on 127.0.0.1. All start on the static key
 * (the implicit root 0). Two devices are off while the operator gives the running hub
 * root 1 (that key, now under a root key) and root 2 (a new release key): the online
 * device takes both from the hub, the two others walk 0 -> 1 -> 2 when they return,
 * and every node then refuses a bundle signed with the old key (E_KEY_REVOKED), while
 * the new key's bundle verifies.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { generateSigningKey, writeKeyFiles } from '../../src/bundle/keys.js'
import { runCli } from '../support/cli.js'
import { simpleBundle, writeBundleDir } from '../support/bundles.js'
import {
  bundleOf, lanFixture, makeBundleDir, readStatus, spawnDevice, spawnHub, stopProc, waitUntil, type Proc
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
  const oldKeyFile = join(f.dir, 'sign.key.json') // the fixture's release key; its public half is f.trustPath
  const rootKey = generateSigningKey()
  const newRelease = generateSigningKey()
  const rootPriv = join(f.dir, 'root.key.json')
  const rootPub = join(f.dir, 'root.pub.json')
  const newPriv = join(f.dir, 'release2.key.json')
  const newPub = join(f.dir, 'release2.pub.json')
  await writeKeyFiles(rootPriv, rootPub, rootKey)
  await writeKeyFiles(newPriv, newPub, newRelease)
  const cli = async (args: string[]): Promise<string> => {
    const r = await runCli(args)
    t.equal(r.code, 0, `${args.slice(0, 2).join(' ')}: ${r.stderr}`)
    return r.stdout
  }

  const { outDir, info } = await makeBundleDir(f.dir, 'fleet-os', BUNDLE_BYTES, 21)
  const hub = spawnHub(f, join(f.dir, 'hub'), ['--bundle', outDir])
  const devices: Proc[] = [0, 1, 2].map(i => spawnDevice(f, join(f.dir, `dev${i}`)))
  await waitUntil('every device holds the first bundle (all connected)', async () => {
    const all = await Promise.all(devices.map(async d => bundleOf(await readStatus(d.dataDir), info.id)))
    return all.every(b => b?.state === 'verified')
  }, 120_000, [hub, ...devices])
  const [online, ...away] = devices as [Proc, Proc, Proc]
  await Promise.all(away.map(async d => await stopProc(d)))

  // root 1: the static key as release key under a root key; it must be signed by the
  // static key too (root 0's keys) to chain. Root 2 moves releases to the new key.
  const r1 = join(f.dir, 'root.1.json')
  const r2 = join(f.dir, 'root.2.json')
  await cli(['root', 'init', '--out', r1, '--root-key', rootPub, '--release-key', f.trustPath, '--sign', rootPriv, oldKeyFile])
  await cli(['root', 'rotate', '--from', r1, '--out', r2, '--release-key', newPub, '--sign', rootPriv])
  t.match(await cli(['root', 'install', r1, r2, '--data', hub.dataDir, '--trust', f.trustPath]), /0 -> 2/, 'the running hub takes roots 1 and 2')

  await waitUntil('the online device took root 2 from the hub', async () => await rootVersionOf(online.dataDir) === 2, 30_000, [hub, online])
  t.equal(await rootVersionOf(away[0].dataDir), 0, 'the devices that were off still hold root 0')

  const back = away.map(d => spawnDevice(f, d.dataDir))
  await waitUntil('the returning devices walked to root 2', async () => {
    const v = await Promise.all(back.map(async d => await rootVersionOf(d.dataDir)))
    return v.every(x => x === 2)
  }, 60_000, [hub, ...back])
  await Promise.all([hub, online, ...back].map(async p => await stopProc(p)))

  const oldBundle = join(f.dir, 'old-key-bundle')
  const newBundle = join(f.dir, 'new-key-bundle')
  await writeBundleDir(oldBundle, simpleBundle(5, 2, 4096))
  await writeBundleDir(newBundle, simpleBundle(6, 2, 4096, { key: newRelease }))
  for (const node of [hub, online, ...back]) {
    const refused = await runCli(['bundle', 'verify', oldBundle, '--trust', f.trustPath, '--root', node.dataDir])
    t.equal(refused.code, 3, `${node.dataDir}: old key refused`)
    t.match(refused.stderr, /E_KEY_REVOKED/)
    await cli(['bundle', 'verify', newBundle, '--trust', f.trustPath, '--root', node.dataDir])
  }
})
