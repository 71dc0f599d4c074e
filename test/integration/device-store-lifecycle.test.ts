/**
 * A device whose store quota holds about three versions installs three in a row with
 * the real installer and the `file` slot backend (as device-install.test.ts, but
 * in-process): every import goes through the quota; after each commit the store pins
 * the running version `active` and the one it replaced `last-known-good`, and the
 * clean-up evicts what is older. It ends holding exactly the running version and the
 * last-known-good, with room again, and it can still roll back.
 */
import t, { type Test } from 'tap'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { blake3Hex } from '../../src/bundle/hash.js'
import { generateSigningKey, writeKeyFiles, type PrivateSigningKey } from '../../src/bundle/keys.js'
import type { BundleInfo, TrustOptions } from '../../src/interface/types.js'
import { parsePolicy } from '../../src/policy/schema.js'
import { encodeSignedPolicy, signPolicy } from '../../src/policy/signed.js'
import { rollbackLocal, runDeviceInstallOnce } from '../../src/roles/device-install.js'
import { distinctBytes, openStore, type ChunkStore } from '../../src/store/index.js'
import { buildSeededBundle } from '../support/bundles.js'
import { runCli } from '../support/cli.js'
import { seededBytes, tempDir } from '../support/store-fixture.js'

const IMAGE_BYTES = 600_000
const VERSIONS = ['3.8.2', '3.8.3', '3.8.4'] as const

interface Env { root: string, data: string, key: PrivateSigningKey, trust: TrustOptions }

async function makeEnv (t: Test): Promise<Env> {
  const root = await tempDir(t, 'storemesh-lifecycle-')
  const data = join(root, 'data')
  await mkdir(join(data, 'slots'), { recursive: true })
  const key = generateSigningKey()
  await writeKeyFiles(join(root, 'release.key.json'), join(data, 'release.pub.json'), key)
  await writeFile(join(data, 'device.yaml'), stringify({
    deviceId: 'pos-3', deviceClass: 'pos', labels: { region: 'us-midwest' }, factsFile: 'facts.yaml', trust: { keys: ['release.pub.json'] }
  }))
  await writeFile(join(data, 'facts.yaml'), stringify({
    installedVersion: '3.8.1', configVersion: '12.5.0', batteryPercent: 80, temperatureC: 40, freeDiskMiB: 4096, slotCount: 2
  }))
  await writeFile(join(data, 'slots', 'slot-a.img'), seededBytes(100_000, 1))
  return { root, data, key, trust: { keys: [{ keyid: key.keyid, publicKey: key.publicKey }] } }
}

async function build (env: Env, version: string, seed: number): Promise<{ info: BundleInfo, dir: string, image: Uint8Array }> {
  const image = seededBytes(IMAGE_BYTES, seed)
  const dir = join(env.root, `bundle-${version}`)
  const info = await buildSeededBundle({
    artifacts: [{ name: 'rootfs.img', bytes: image }], srcDir: join(env.root, `src-${version}`), outDir: dir,
    keys: [env.key], name: 'pos-os', version, deviceClass: 'pos', expiresInMs: 30 * 86_400_000
  })
  return { info, dir, image }
}

async function writePolicy (env: Env, info: BundleInfo, version: string): Promise<void> {
  const policy = parsePolicy({
    apiVersion: 'storemesh/v1',
    kind: 'RolloutPolicy',
    metadata: { name: 'pos-q4', wave: 150 },
    spec: {
      bundle: { id: info.id, version },
      targets: { deviceClass: 'pos', labels: { region: 'us-midwest' }, percentage: 100 },
      guardrails: { minBattery: 40, requireDualPartition: true },
      verification: { healthCheck: { run: 'true', timeoutSeconds: 5 }, rollbackOnHealthLossMins: 0 }
    }
  })
  await writeFile(join(env.data, 'policy.signed.json'), encodeSignedPolicy(signPolicy(policy, [env.key])))
}

async function withStore<T> (env: Env, quotaBytes: number, fn: (s: ChunkStore) => Promise<T>): Promise<T> {
  const store = await openStore({ dataDir: join(env.data, 'store'), quotaBytes })
  try {
    return await fn(store)
  } finally {
    await store.stop()
  }
}

const held = (s: ChunkStore): string[] => s.listBundles().map(b => `${b.version}:${b.pins.join(',') || '-'}`).sort()

t.test('three versions through a quota: ends with the running one and the last-known-good, and rolls back', async t => {
  const env = await makeEnv(t)
  const bundles = []
  for (const [i, v] of VERSIONS.entries()) bundles.push(await build(env, v, 10 + i))
  const bundleBytes = distinctBytes(bundles[0]!.info.pieces)
  // room for three versions and a little: the running one, its last-known-good, and the next
  const quotaBytes = Math.floor(bundleBytes * 3.2)
  let peakUsed = 0

  for (const [i, b] of bundles.entries()) {
    const version = VERSIONS[i]!
    await withStore(env, quotaBytes, async s => {
      await s.importBundleDir(b.dir, env.trust)
      peakUsed = Math.max(peakUsed, s.stats().usedBytes)
    })
    await writePolicy(env, b.info, version)
    const r = await runDeviceInstallOnce({ dataDir: env.data })
    t.equal(r.result, 'installed', `${version}: ${r.line}`)
  }
  t.ok(peakUsed > bundleBytes * 2.9 && peakUsed <= quotaBytes, `the quota filled up: ${peakUsed} of ${quotaBytes} bytes at the third version`)

  const [v1, v2, v3] = bundles as [typeof bundles[0], typeof bundles[0], typeof bundles[0]]
  await withStore(env, quotaBytes, async s => {
    t.same(held(s), ['3.8.3:last-known-good', '3.8.4:active'], 'holds the running version and the last-known-good, nothing else')
    t.equal(s.getBundle(v1.info.id), undefined, 'the oldest version was evicted after the commit')
    for (const p of v1.info.pieces) t.equal(await s.has(p.hash), false, 'its chunks are gone')
    t.equal(s.stats().usedBytes, bundleBytes * 2, 'two versions of bytes in use')
    t.equal((await s.markVerified(v2.info.id)).state, 'verified', 'the last-known-good is whole')
  })

  const rb = await rollbackLocal({ dataDir: env.data, reason: 'receipts misprint' })
  t.equal(rb.result, 'rolled-back', rb.line)
  const slots = { a: blake3Hex(await readFile(join(env.data, 'slots', 'slot-a.img'))), b: blake3Hex(await readFile(join(env.data, 'slots', 'slot-b.img'))) }
  const bootenv = await readFile(join(env.data, 'slots', 'bootenv'), 'utf8')
  const booted = /storemesh_slot=(\w)/.exec(bootenv)?.[1] as 'a' | 'b'
  t.equal(slots[booted], blake3Hex(v2.image), 'the slot now booting holds the last-known-good image')
  await withStore(env, quotaBytes, async s => {
    t.same(held(s).filter(h => h.startsWith('3.8.3')), ['3.8.3:active'], 'the rolled-back-to version is the active bundle again')
    t.ok(s.getBundle(v3.info.id), 'the rolled-back version stays until a later commit cleans up')
  })

  // the same through the CLI: the list shows the pins; gc finds nothing older than the running version
  // one after the other: each opens the store, which one process holds at a time
  const list = await runCli(['device', 'cache', 'list', '--data', env.data, '--json'])
  const gc = await runCli(['device', 'cache', 'gc', '--data', env.data, '--dry-run'])
  t.equal(list.code, 0, list.stderr)
  t.same(JSON.parse(list.stdout).bundles.map((b: { version: string, pins: string[] }) => `${b.version}:${b.pins.join(',')}`).sort(), ['3.8.3:active', '3.8.4:'])
  t.equal(gc.code, 0, gc.stderr)
  t.equal(gc.stdout, 'nothing older than the last-known-good\n')
})
