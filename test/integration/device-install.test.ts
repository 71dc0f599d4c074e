/**
 * `storemesh device install --once | rollback --local | install-status` through the real
 * CLI (child processes) on a real data dir: a bundle built with buildBundle and imported
 * into the device's chunk store, a signed policy, device.yaml and a facts file, and the
 * `file` bootloader backend (slot images and a boot environment in files).
 */
import t, { type Test } from 'tap'
import { createServer, type Server } from 'node:http'
import { mkdir, readFile, writeFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { blake3Hex } from '../../src/bundle/hash.js'
import { generateSigningKey, writeKeyFiles, type PrivateSigningKey } from '../../src/bundle/keys.js'
import type { BundleInfo, TrustOptions } from '../../src/interface/types.js'
import { Journal } from '../../src/install/index.js'
import { parsePolicy } from '../../src/policy/schema.js'
import { encodeSignedPolicy, signPolicy } from '../../src/policy/signed.js'
import { openStore } from '../../src/store/index.js'
import { runCli, type CliResult } from '../support/cli.js'
import { seededBytes, tempDir } from '../support/store-fixture.js'
import { buildSeededBundle } from '../support/bundles.js'

const FACTORY_A = seededBytes(200_000, 1)
const IMAGE_BYTES = 700_000

interface Env {
  root: string
  data: string
  release: PrivateSigningKey
  stranger: PrivateSigningKey
}

const trustOf = (k: PrivateSigningKey): TrustOptions => ({ keys: [{ keyid: k.keyid, publicKey: k.publicKey }] })

async function makeEnv (t: Test): Promise<Env> {
  const root = await tempDir(t, 'storemesh-device-')
  const data = join(root, 'data')
  await mkdir(join(data, 'slots'), { recursive: true })
  const release = generateSigningKey()
  const stranger = generateSigningKey()
  await writeKeyFiles(join(root, 'release.key.json'), join(data, 'release.pub.json'), release)
  await writeFile(join(data, 'device.yaml'), stringify({
    deviceId: 'pos-17', deviceClass: 'pos', labels: { region: 'us-midwest' }, factsFile: 'facts.yaml', trust: { keys: ['release.pub.json'] }
  }))
  await writeFacts(data, {})
  await writeFile(join(data, 'slots', 'slot-a.img'), FACTORY_A)
  return { root, data, release, stranger }
}

async function writeFacts (data: string, over: Record<string, unknown>): Promise<void> {
  await writeFile(join(data, 'facts.yaml'), stringify({
    installedVersion: '3.8.1', configVersion: '12.5.0', batteryPercent: 80, temperatureC: 40, freeDiskMiB: 4096, slotCount: 2, ...over
  }))
}

/** Builds a one-image bundle signed by `signer` and imports it into the device's store. */
async function addBundle (env: Env, version: string, seed: number, signer: PrivateSigningKey = env.release): Promise<{ info: BundleInfo, image: Uint8Array }> {
  const image = seededBytes(IMAGE_BYTES, seed)
  const out = join(env.root, `bundle-${version}-${seed}`)
  const info = await buildSeededBundle({
    artifacts: [{ name: 'notes.txt', bytes: `release notes ${version}\n` }, { name: 'rootfs.img', bytes: image }],
    srcDir: join(env.root, `src-${version}-${seed}`),
    outDir: out, keys: [signer], name: 'pos-os', version, deviceClass: 'pos', expiresInMs: 30 * 86_400_000
  })
  const store = await openStore({ dataDir: join(env.data, 'store') })
  try {
    await store.importBundleDir(out, trustOf(signer))
  } finally {
    await store.stop()
  }
  return { info, image }
}

async function writePolicy (env: Env, info: BundleInfo, version: string, health: Record<string, unknown>, signer = env.release): Promise<void> {
  const policy = parsePolicy({
    apiVersion: 'storemesh/v1',
    kind: 'RolloutPolicy',
    metadata: { name: 'pos-q4', wave: 142 },
    spec: {
      bundle: { id: info.id, version },
      targets: { deviceClass: 'pos', labels: { region: 'us-midwest' }, percentage: 100 },
      guardrails: { minBattery: 40, maxTemperatureC: 70, minFreeDiskMiB: 512, requireDualPartition: true, requireConfig: '>=12.4.1' },
      verification: { healthCheck: { timeoutSeconds: 1, ...health }, rollbackOnHealthLossMins: 0 }
    }
  })
  await writeFile(join(env.data, 'policy.signed.json'), encodeSignedPolicy(signPolicy(policy, [signer])))
}

async function install (env: Env, ...extra: string[]): Promise<CliResult> {
  return await runCli(['device', 'install', '--once', '--data', env.data, ...extra], { timeoutMs: 60_000 })
}

async function bootEnv (env: Env): Promise<Record<string, string>> {
  const text = await readFile(join(env.data, 'slots', 'bootenv'), 'utf8')
  return Object.fromEntries(text.trim().split('\n').map(l => l.split('=') as [string, string]))
}

async function slotHash (env: Env, slot: 'a' | 'b'): Promise<string> {
  return blake3Hex(await readFile(join(env.data, 'slots', `slot-${slot}.img`)))
}

async function healthServer (t: Test): Promise<{ url: string, hits: () => number }> {
  let hits = 0
  const server: Server = createServer((_req, res) => { hits++; res.writeHead(200).end('ok') })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => await new Promise<void>(resolve => server.close(() => resolve())))
  const addr = server.address()
  if (addr === null || typeof addr === 'string') throw new Error('no port')
  return { url: `http://127.0.0.1:${addr.port}/health`, hits: () => hits }
}

t.test('installs into slot b, commits after a passing URL health check, then has nothing to do; upgrade and local rollback', async t => {
  const env = await makeEnv(t)
  const health = await healthServer(t)
  const v2 = await addBundle(env, '3.8.2', 2)
  await writePolicy(env, v2.info, '3.8.2', { url: health.url })

  const first = await install(env)
  t.equal(first.code, 0, first.stderr)
  t.equal(first.stdout, 'installed pos-os 3.8.2 into slot b\n')
  t.equal(await slotHash(env, 'b'), blake3Hex(v2.image), 'slot b holds the image')
  t.equal(await slotHash(env, 'a'), blake3Hex(FACTORY_A), 'slot a untouched')
  t.match(await bootEnv(env), { storemesh_slot: 'b', storemesh_booted: 'b', upgrade_available: '0' })
  t.ok(health.hits() >= 1, 'the health URL was checked')

  const again = await install(env, '--json')
  t.equal(again.code, 0, again.stderr)
  const j = JSON.parse(again.stdout)
  t.match(j, { result: 'nothing', exitCode: 0, verdict: 'idle', waveId: '142', bundle: { id: v2.info.id, version: '3.8.2' } })
  t.match(j.line, /^nothing to do: version\.monotonic already running 3\.8\.2$/)

  const status = await runCli(['device', 'install-status', '--data', env.data, '--json'])
  t.equal(status.code, 0, status.stderr)
  const s = JSON.parse(status.stdout)
  t.match(s, { state: 'committed', backend: { kind: 'file', status: { booted: 'b', primary: 'b' } }, pins: { active: { id: v2.info.id, version: '3.8.2' } } })
  t.notOk(s.pins.lastKnownGood, 'no earlier bundle in the store')

  // The next version goes into slot a; the one it replaces becomes last-known-good.
  const v3 = await addBundle(env, '3.8.3', 3)
  await writePolicy(env, v3.info, '3.8.3', { run: 'true' })
  const upgrade = await install(env)
  t.equal(upgrade.code, 0, upgrade.stderr)
  t.equal(upgrade.stdout, 'installed pos-os 3.8.3 into slot a\n')
  t.equal(await slotHash(env, 'a'), blake3Hex(v3.image))
  t.equal(await slotHash(env, 'b'), blake3Hex(v2.image))
  const s2 = JSON.parse((await runCli(['device', 'install-status', '--data', env.data, '--json'])).stdout)
  t.match(s2.pins, { active: { version: '3.8.3' }, lastKnownGood: { version: '3.8.2' } })

  // The operator goes back by hand: slot b (3.8.2) runs again and is the active bundle.
  const rb = await runCli(['device', 'rollback', '--local', '--data', env.data, '--reason', 'till receipts misprint'])
  t.equal(rb.code, 0, rb.stderr)
  t.match(rb.stdout, /^rolled back pos-os 3\.8\.3 to slot b: operator till receipts misprint$/m)
  t.match(await bootEnv(env), { storemesh_slot: 'b', storemesh_booted: 'b', upgrade_available: '0' })
  const s3 = JSON.parse((await runCli(['device', 'install-status', '--data', env.data, '--json'])).stdout)
  t.match(s3, { state: 'rolled-back', pins: { active: { version: '3.8.2' } } })

  // A bundle rolled back here is refused from then on (exit 3, as every refusal).
  const refused = await install(env)
  t.equal(refused.code, 3, refused.stderr)
  t.match(refused.stdout, /^refused: manifest\.hold 3\.8\.3 rolled back on this device/)

  const nothingToRollBack = await runCli(['device', 'rollback', '--local', '--data', env.data, '--reason', 'again'])
  t.equal(nothingToRollBack.code, 1)
  t.match(nothingToRollBack.stderr, /^storemesh: E_INSTALL_TRANSITION nothing to roll back/)

  // Every decision went to the journal with the wave id.
  const journal = await Journal.open(env.data)
  t.teardown(async () => await journal.close())
  const entries = await journal.readFrom(1)
  const decisions = entries.filter(e => e.kind === 'decision')
  t.equal(decisions.length, 4)
  t.ok(decisions.every(e => e.waveId === '142'))
  t.same(decisions.map(e => e.data?.verdict), ['install', 'idle', 'install', 'refuse'])
  t.ok(entries.some(e => e.kind === 'transition' && e.to === 'committed' && e.waveId === '142'))
})

t.test('low battery defers naming device.battery; nothing is written', async t => {
  const env = await makeEnv(t)
  const v2 = await addBundle(env, '3.8.2', 2)
  await writePolicy(env, v2.info, '3.8.2', { run: 'true' })
  await writeFacts(env.data, { batteryPercent: 20 })
  const r = await install(env)
  t.equal(r.code, 75, r.stderr)
  t.equal(r.stdout, 'deferred: device.battery battery 20 % < 40 %\n')
  t.notOk((await readdir(join(env.data, 'slots'))).includes('slot-b.img'), 'slot b never opened')
  const j = JSON.parse((await install(env, '--json')).stdout)
  t.match(j, { result: 'deferred', exitCode: 75, verdict: 'defer' })
  t.ok(typeof j.nextCheckAt === 'string')
})

t.test('untrusted policy or manifest: exit 3', async t => {
  const env = await makeEnv(t)
  const v2 = await addBundle(env, '3.8.2', 2)
  await writePolicy(env, v2.info, '3.8.2', { run: 'true' }, env.stranger)
  const policy = await install(env)
  t.equal(policy.code, 3)
  t.match(policy.stderr, /^storemesh: E_SIGNATURE_UNTRUSTED /)

  // A manifest signed by a key the device does not trust (the store took it under other trust).
  const rogue = await addBundle(env, '3.8.2', 5, env.stranger)
  await writePolicy(env, rogue.info, '3.8.2', { run: 'true' })
  const manifest = await install(env)
  t.equal(manifest.code, 3, manifest.stderr)
  t.match(manifest.stdout, /^refused: manifest\.signature E_SIGNATURE_UNTRUSTED /)
  t.notOk((await readdir(join(env.data, 'slots'))).includes('slot-b.img'))
})

t.test('a corrupted chunk in the store: exit 2, slot a still active; the next run defers on bundle.complete', async t => {
  const env = await makeEnv(t)
  const v2 = await addBundle(env, '3.8.2', 2)
  await writePolicy(env, v2.info, '3.8.2', { run: 'true' })
  const art = v2.info.manifest.signed.artifacts.find(a => a.name === 'rootfs.img')
  const victim = art?.chunks[1]?.hash ?? ''
  const chunkFile = join(env.data, 'store', 'chunks', victim.slice(0, 2), victim)
  const bytes = await readFile(chunkFile)
  bytes[100] = (bytes[100] ?? 0) ^ 0xff
  await writeFile(chunkFile, bytes)

  const r = await install(env)
  t.equal(r.code, 2, r.stderr)
  t.match(r.stdout, /^failed pos-os 3\.8\.2: E_STORE_CORRUPT chunk 1 of artifact rootfs\.img/)
  t.match(await bootEnv(env), { storemesh_slot: 'a', storemesh_booted: 'a', upgrade_available: '0' })
  t.equal(await slotHash(env, 'a'), blake3Hex(FACTORY_A))

  const next = await install(env)
  t.equal(next.code, 75, next.stderr)
  t.match(next.stdout, /^deferred: bundle\.complete 1 of \d+ chunks missing; bundle\.verified not verified/)
})

t.test('a failing health check rolls back to slot a, its bytes unchanged: exit 4', async t => {
  const env = await makeEnv(t)
  const v2 = await addBundle(env, '3.8.2', 2)
  await writePolicy(env, v2.info, '3.8.2', { run: 'false' })
  const r = await install(env)
  t.equal(r.code, 4, r.stderr)
  t.match(r.stdout, /^rolled back pos-os 3\.8\.2 to slot a: health\.timeout no passing check within 1000 ms/)
  t.match(await bootEnv(env), { storemesh_slot: 'a', storemesh_booted: 'a', upgrade_available: '0' })
  t.equal(await slotHash(env, 'a'), blake3Hex(FACTORY_A), 'slot a bytes unchanged')
  const s = JSON.parse((await runCli(['device', 'install-status', '--data', env.data, '--json'])).stdout)
  t.match(s, { state: 'rolled-back', record: { reason: { code: 'health.timeout' } } })
  t.notOk(s.pins.active, 'the rolled-back bundle is not pinned active')
})

t.test('health lost after the commit: the policy rolls back (exit 4) and slot a runs again, unchanged', async t => {
  const env = await makeEnv(t)
  const v2 = await addBundle(env, '3.8.2', 2)
  await writePolicy(env, v2.info, '3.8.2', { run: 'true' })
  const ok = await install(env)
  t.equal(ok.code, 0, ok.stderr)
  await writeFacts(env.data, { health: { state: 'unhealthy', since: '2026-01-01T00:00:00Z', detail: 'pos app crashed' } })
  const r = await install(env, '--json')
  t.equal(r.code, 4, r.stderr)
  const j = JSON.parse(r.stdout)
  t.match(j, { result: 'rolled-back', verdict: 'rollback', waveId: '142' })
  t.match(j.line, /^rolled back pos-os 3\.8\.2 to slot a: health\.check unhealthy since 2026-01-01T00:00:00Z \(limit 0 min\): pos app crashed$/)
  t.match(await bootEnv(env), { storemesh_slot: 'a', storemesh_booted: 'a' })
  t.equal(await slotHash(env, 'a'), blake3Hex(FACTORY_A))
})
