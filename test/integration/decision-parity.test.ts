/**
 * One decision (issue 15): `storemesh policy explain --data <device dir>` and
 * `storemesh device install --once` read the same inputs through the same collector
 * (src/roles/device-decision.ts), so on the same device directory they give the same
 * verdict, the same deciding gates and the same exit code. Each situation is a real
 * device directory (chunk store, signed policy, device.yaml, facts file, install.yaml,
 * the agent's wave-orders.json, the `file` bootloader backend) and both commands run
 * through the real CLI. Explain runs first: it must not change what the install decides.
 */
import t, { type Test } from 'tap'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { buildBundle } from '../../src/bundle/build.js'
import { generateSigningKey, writeKeyFiles, type PrivateSigningKey } from '../../src/bundle/keys.js'
import { EXIT } from '../../src/interface/errors.js'
import type { BundleInfo, GateReport } from '../../src/interface/types.js'
import { parsePolicy } from '../../src/policy/schema.js'
import { encodeSignedPolicy, signPolicy } from '../../src/policy/signed.js'
import { openStore } from '../../src/store/index.js'
import { runCli } from '../support/cli.js'
import { seededBytes, tempDir } from '../support/store-fixture.js'

const DAY_MS = 86_400_000
const WAVE = 142

interface Shared {
  root: string
  release: PrivateSigningKey
  bundleDir: string
  info: BundleInfo
}

interface Situation {
  name: string
  verdict: string
  /** the failing gates that decided the verdict (empty for install) */
  deciding: string[]
  exitCode: number
  /** facts file fields over the healthy defaults */
  facts?: Record<string, unknown>
  /** policy spec fields over the defaults */
  spec?: (spec: Record<string, any>) => void
  installYaml?: Record<string, unknown>
  waveOrders?: unknown[]
  /** evaluate both at this time (ms); default now */
  atMs?: number
}

/** One bundle, built once, imported into each device's store. */
async function shared (t: Test): Promise<Shared> {
  const root = await tempDir(t, 'storemesh-parity-')
  const release = generateSigningKey()
  await writeKeyFiles(join(root, 'release.key.json'), join(root, 'release.pub.json'), release)
  const src = join(root, 'src')
  await mkdir(src, { recursive: true })
  await writeFile(join(src, 'rootfs.img'), seededBytes(400_000, 2))
  const bundleDir = join(root, 'bundle-3.8.2')
  const info = await buildBundle({
    artifacts: [join(src, 'rootfs.img')], keys: [release], outDir: bundleDir, name: 'pos-os', version: '3.8.2', deviceClass: 'pos',
    expiresAt: new Date(Date.now() + 30 * DAY_MS)
  })
  return { root, release, bundleDir, info }
}

async function makeDevice (s: Shared, name: string, sit: Situation): Promise<string> {
  const data = join(s.root, name.replace(/[^a-z0-9]+/gi, '-'))
  await mkdir(join(data, 'slots'), { recursive: true })
  await writeKeyFiles(join(s.root, `${name}.key.json`), join(data, 'release.pub.json'), s.release)
  await writeFile(join(data, 'device.yaml'), stringify({
    deviceId: 'pos-17', deviceClass: 'pos', labels: { region: 'us-midwest' }, factsFile: 'facts.yaml', trust: { keys: ['release.pub.json'] }
  }))
  await writeFile(join(data, 'facts.yaml'), stringify({
    installedVersion: '3.8.1', configVersion: '12.5.0', batteryPercent: 80, temperatureC: 40, freeDiskMiB: 4096, slotCount: 2, ...sit.facts
  }))
  await writeFile(join(data, 'slots', 'slot-a.img'), seededBytes(400_000, 1))
  if (sit.installYaml !== undefined) await writeFile(join(data, 'install.yaml'), stringify(sit.installYaml))
  if (sit.waveOrders !== undefined) await writeFile(join(data, 'wave-orders.json'), JSON.stringify(sit.waveOrders))
  const spec: Record<string, any> = {
    bundle: { id: s.info.id, version: '3.8.2' },
    targets: { deviceClass: 'pos', labels: { region: 'us-midwest' }, percentage: 100 },
    guardrails: { minBattery: 40, maxTemperatureC: 70, minFreeDiskMiB: 512, requireDualPartition: true, requireConfig: '>=12.4.1' },
    verification: { healthCheck: { run: 'true', timeoutSeconds: 5 }, rollbackOnHealthLossMins: 0 }
  }
  sit.spec?.(spec)
  const policy = parsePolicy({ apiVersion: 'storemesh/v1', kind: 'RolloutPolicy', metadata: { name: 'pos-q4', wave: WAVE }, spec })
  await writeFile(join(data, 'policy.signed.json'), encodeSignedPolicy(signPolicy(policy, [s.release])))
  const store = await openStore({ dataDir: join(data, 'store') })
  try {
    await store.importBundleDir(s.bundleDir, { keys: [{ keyid: s.release.keyid, publicKey: s.release.publicKey }] })
  } finally {
    await store.stop()
  }
  return data
}

function decidingOf (verdict: string, gates: GateReport[]): string[] {
  return gates.filter(g => !g.ok && g.effect === verdict).map(g => g.gate)
}

/** The next UTC noon at least a day away, so a manifest created now is not from the future. */
function nextNoonUtc (): number {
  const d = new Date(Date.now() + DAY_MS)
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), 12)
}

const SITUATIONS: Situation[] = [
  { name: 'every gate passes: install', verdict: 'install', deciding: [], exitCode: EXIT.OK },
  { name: 'low battery defers', verdict: 'defer', deciding: ['device.battery'], exitCode: EXIT.DEFERRED, facts: { batteryPercent: 10 } },
  {
    name: 'another region is refused by target.match', verdict: 'refuse', deciding: ['target.match'], exitCode: EXIT.TRUST,
    spec: s => { s.targets.labels = { region: 'eu-west' } }
  },
  {
    name: 'an older version than installed is refused by version.monotonic', verdict: 'refuse', deciding: ['version.monotonic'], exitCode: EXIT.TRUST,
    facts: { installedVersion: '9.0.0' }
  },
  { name: 'an expired manifest is refused', verdict: 'refuse', deciding: ['manifest.expiry'], exitCode: EXIT.TRUST, atMs: Date.now() + 31 * DAY_MS },
  {
    name: 'outside the maintenance window defers', verdict: 'defer', deciding: ['schedule.window'], exitCode: EXIT.DEFERRED,
    spec: s => { s.schedule = { maintenanceWindow: '02:00-04:00', timezone: 'UTC' } }, atMs: nextNoonUtc()
  },
  {
    name: 'a hub lease that no one-shot command can ask for defers on hub.lease', verdict: 'defer', deciding: ['hub.lease'], exitCode: EXIT.DEFERRED,
    installYaml: { lease: { kind: 'hub' } }
  },
  {
    name: 'a wave the hub paused (the agent\'s order book) defers on wave.paused', verdict: 'defer', deciding: ['wave.paused'], exitCode: EXIT.DEFERRED,
    waveOrders: [{ waveId: String(WAVE), action: 'pause', reason: 'operator: hold for the weekend', issuedAtMs: Date.now() }]
  },
  {
    name: 'a wave the hub halted defers on fleet.halt', verdict: 'defer', deciding: ['fleet.halt'], exitCode: EXIT.DEFERRED,
    waveOrders: [{ waveId: String(WAVE), action: 'halt', reason: 'rollback ratio', issuedAtMs: Date.now() }]
  }
]

t.test('policy explain and device install --once agree on the same device directory', async t => {
  const s = await shared(t)
  for (const sit of SITUATIONS) {
    await t.test(sit.name, async t => {
      const data = await makeDevice(s, sit.name, sit)
      const at = sit.atMs !== undefined ? ['--at', new Date(sit.atMs).toISOString()] : []
      const explain = await runCli(['policy', 'explain', '--data', data, '--json', ...at], { timeoutMs: 60_000 })
      t.equal(explain.code, sit.exitCode, `explain exit: ${explain.stderr}`)
      const e = JSON.parse(explain.stdout) as { verdict: string, gates: GateReport[], bundle: { id: string } | null }
      const install = await runCli(['device', 'install', '--once', '--data', data, '--json', ...at], { timeoutMs: 60_000 })
      t.equal(install.code, sit.exitCode, `install exit: ${install.stderr}`)
      const i = JSON.parse(install.stdout) as { verdict: string, gates: GateReport[], result: string, bundle: { id: string } | null }

      t.equal(e.bundle?.id, s.info.id, 'explain read the bundle from the device\'s chunk store')
      t.equal(e.verdict, sit.verdict, 'explain verdict')
      t.equal(i.verdict, sit.verdict, 'install verdict')
      t.same(decidingOf(e.verdict, e.gates), sit.deciding, 'explain deciding gates')
      t.same(decidingOf(i.verdict, i.gates), sit.deciding, 'install deciding gates')
      t.same(e.gates, i.gates, 'every gate with the same outcome and detail')
      if (sit.verdict === 'install') t.equal(i.result, 'installed', 'and the install then ran')
    })
  }
})
