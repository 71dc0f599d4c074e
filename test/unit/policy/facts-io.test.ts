/**
 * Fact collection (src/install/facts.ts): device config, facts file, fact commands with
 * an injected exec, statfs, the bundle folder check, and the whole data directory
 * gathered into a decision.
 */
import t from 'tap'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { writeKeyFiles, generateSigningKey } from '../../../src/bundle/keys.js'
import { chunkPathIn } from '../../../src/bundle/layout.js'
import {
  collectFacts, gatherDeviceInputs, parseDeviceConfig, parseFactOutput, type StatfsFn
} from '../../../src/install/facts.js'
import { checkBundleFolder } from '../../../src/install/bundle-folder.js'
import type { ExecFn } from '../../../src/install/probes.js'
import { encodeSignedPolicy, signPolicy } from '../../../src/policy/signed.js'
import { collectDecisionInputs, decideDevice } from '../../../src/roles/device-decision.js'
import { makePolicy, T0, writeBundle } from './fixtures.js'

const statfs: StatfsFn = async () => ({ bavail: 4096, bsize: 1024 * 1024 })

function fakeExec (outputs: Record<string, { stdout?: string, exitCode?: number, timedOut?: boolean }>): ExecFn {
  return async req => {
    const o = outputs[req.command]
    if (o === undefined) return { exitCode: 127, signal: null, stdout: '', stderr: 'not found', timedOut: false, durationMs: 0 }
    return { exitCode: o.timedOut === true ? null : (o.exitCode ?? 0), signal: null, stdout: o.stdout ?? '', stderr: '', timedOut: o.timedOut === true, durationMs: 0 }
  }
}

const CONFIG = `deviceId: pos-17
deviceClass: pos
labels: { region: us-midwest }
factsFile: facts.yaml
factCommands:
  batteryPercent: { run: battery, timeoutSeconds: 2 }
  temperatureC: { run: thermal, scale: 0.001 }
  configVersion: { run: config }
  slotCount: { run: slots, timeoutSeconds: 1 }
trust:
  keys: [release.pub.json]
`

const FACTS = `installedVersion: 3.8.1
batteryPercent: 10
freeDiskMiB: 900
labels: { store: "0042" }
lease: { state: held, expiresAt: "2026-03-10T08:30:00Z" }
install: { phase: committed, version: 3.8.1 }
holds:
  - { version: 3.9.0, reason: operator, until: 1773136800000 }
`

t.test('device config: strict, with lines', async t => {
  const c = parseDeviceConfig(CONFIG)
  t.equal(c.deviceId, 'pos-17')
  t.same(c.trust, { keys: ['release.pub.json'] })
  t.throws(() => parseDeviceConfig(CONFIG.replace('batteryPercent: {', 'batteryPercnt: {')), { code: 'E_CONFIG_INVALID', message: /factCommands\.batteryPercnt: .*\(line 6\)/ })
  t.throws(() => parseDeviceConfig(CONFIG.replace('trust:\n  keys: [release.pub.json]\n', '')), { code: 'E_CONFIG_INVALID', message: /trust: required field missing/ })
})

t.test('fact output parsing', async t => {
  t.equal(parseFactOutput('batteryPercent', ' 87\n'), 87)
  t.equal(parseFactOutput('temperatureC', '45123\n', 0.001), 45.12)
  t.equal(parseFactOutput('onMains', 'yes'), true)
  t.equal(parseFactOutput('configVersion', '12.5.0\n'), '12.5.0')
  t.throws(() => parseFactOutput('batteryPercent', 'full'), /not a number/)
  t.throws(() => parseFactOutput('onMains', 'maybe'), /not a boolean/)
  t.throws(() => parseFactOutput('configVersion', 'a\nb'), /one line/)
})

t.test('facts file plus commands: commands win, failures are explained', async t => {
  const dir = t.testdir({ 'facts.yaml': FACTS })
  const exec = fakeExec({ battery: { stdout: '77\n' }, thermal: { stdout: '45000' }, config: { stdout: '12.5.0' }, slots: { timedOut: true } })
  const f = await collectFacts(parseDeviceConfig(CONFIG), { dataDir: dir, exec, statfs })
  t.equal(f.batteryPercent, 77, 'the command beats the file')
  t.equal(f.temperatureC, 45)
  t.equal(f.configVersion, '12.5.0')
  t.equal(f.freeDiskMiB, 900, 'from the file; statfs only when nothing gave it')
  t.equal(f.installedVersion, '3.8.1')
  t.same(f.labels, { region: 'us-midwest', store: '0042' })
  t.same(f.lease, { state: 'held', expiresAtMs: Date.parse('2026-03-10T08:30:00Z') })
  t.same(f.holds, [{ version: '3.9.0', reason: 'operator', untilMs: 1773136800000 }])
  t.equal(f.slotCount, undefined)
  t.equal(f.factErrors.slotCount, 'command timed out after 1 s (killed)')
  t.same(f.health, { state: 'unknown' }, 'defaults for what nobody reported')
  t.equal(f.bundle, undefined, 'bundle state is left to the caller')
})

t.test('a missing facts file fails its facts closed, with the reason; statfs fills the disk', async t => {
  const dir = t.testdir({})
  const f = await collectFacts(parseDeviceConfig(CONFIG), { dataDir: dir, exec: fakeExec({ battery: { stdout: 'n/a' } }), statfs })
  t.equal(f.freeDiskMiB, 4096)
  t.equal(f.factErrors.batteryPercent, 'command output not a number: "n/a"')
  t.equal(f.factErrors.installedVersion, 'facts file facts.yaml not found')
  t.equal(f.factErrors.configVersion, 'command exit 127: not found')
})

t.test('a wrong facts file is an error naming field and line', async t => {
  const dir = t.testdir({ 'facts.yaml': FACTS.replace('freeDiskMiB', 'freeDiskMB') })
  await t.rejects(collectFacts(parseDeviceConfig(CONFIG), { dataDir: dir, exec: fakeExec({}), statfs }),
    { code: 'E_CONFIG_INVALID', message: /freeDiskMB: unknown field \(line 3\)/ })
})

t.test('real commands through sh, with a real timeout', async t => {
  const dir = t.testdir({})
  const config = parseDeviceConfig(`deviceId: d1
deviceClass: pos
factCommands:
  batteryPercent: { run: "echo 55" }
  temperatureC: { run: "sleep 5", timeoutSeconds: 0.3 }
trust: { keys: [k] }
`)
  const f = await collectFacts(config, { dataDir: dir })
  t.equal(f.batteryPercent, 55)
  t.equal(f.factErrors.temperatureC, 'command timed out after 0.3 s (killed)')
  t.ok(typeof f.freeDiskMiB === 'number' && f.freeDiskMiB >= 0, 'real statfs of the data dir')
})

t.test('bundle folder: complete, missing, corrupt', async t => {
  const dir = t.testdir({})
  const key = generateSigningKey()
  const b = await writeBundle(dir, [key])
  const pieces = b.chunks.map(c => ({ hash: c.hash, size: c.bytes.length }))
  t.same(await checkBundleFolder(b.dir, pieces), { complete: true, verified: true, missingChunks: 0, totalChunks: 3 })
  await writeFile(chunkPathIn(b.dir, pieces[1]!.hash), new Uint8Array(pieces[1]!.size).fill(0xee))
  t.same(await checkBundleFolder(b.dir, pieces), { complete: false, verified: false, missingChunks: 1, totalChunks: 3 }, 'a corrupt chunk counts as missing')
  await rm(chunkPathIn(b.dir, pieces[0]!.hash))
  t.same(await checkBundleFolder(b.dir, pieces), { complete: false, verified: false, missingChunks: 2, totalChunks: 3 })
})

t.test('a whole data directory gathered and decided', async t => {
  const dir = t.testdir({})
  const key = generateSigningKey()
  await writeKeyFiles(join(dir, 'release.key.json'), join(dir, 'release.pub.json'), key)
  const b = await writeBundle(dir, [key])
  const policy = makePolicy(p => { p.spec.bundle.id = b.id; p.spec.verification.peripheralChecks[0].run = 'probe-scanner' })
  await writeFile(join(dir, 'policy.signed.json'), encodeSignedPolicy(signPolicy(policy, [key])))
  await writeFile(join(dir, 'device.yaml'), CONFIG)
  await writeFile(join(dir, 'facts.yaml'), FACTS.replace('batteryPercent: 10', 'batteryPercent: 90'))
  const exec = fakeExec({ thermal: { stdout: '41000' }, config: { stdout: '12.5.0' }, slots: { stdout: '2' }, 'probe-scanner': { stdout: 'ok' } })
  const inputs = await collectDecisionInputs({ dataDir: dir }, { exec, statfs, atMs: T0 })
  t.equal(inputs.policy?.policy.spec.bundle.id, b.id)
  t.equal(inputs.bundle?.info.id, b.id, 'the lab bundle folder, parsed once')
  t.same(inputs.facts.bundle, { complete: true, verified: true, missingChunks: 0, totalChunks: 3 })
  t.same(inputs.facts.probes.scanner, { ok: true, detail: 'exit 0: ok', exitCode: 0, durationMs: 0 })
  const decision = await decideDevice(inputs)
  // The battery command fails (not in fakeExec): the file's 90 stands in, and the failure is recorded.
  t.equal(inputs.facts.batteryPercent, 90)
  t.equal(inputs.facts.factErrors.batteryPercent, 'command exit 127: not found')
  t.same(decision.gates.filter(g => !g.ok), [])
  t.equal(decision.verdict, 'install')
  t.equal(decision.nextCheckAt, Date.parse('2026-03-10T08:30:00Z'), 'until the lease from the facts file ends')

  await rm(join(dir, 'policy.signed.json'))
  const none = await collectDecisionInputs({ dataDir: dir }, { exec, statfs, atMs: T0 })
  t.equal(none.policy, undefined)
  t.equal(none.bundle, undefined)
  t.equal((await decideDevice(none)).verdict, 'idle', 'no policy: nothing to do')

  const untrusted = generateSigningKey()
  await writeFile(join(dir, 'policy.signed.json'), encodeSignedPolicy(signPolicy(policy, [untrusted])))
  await t.rejects(gatherDeviceInputs(dir, { exec, statfs }), { code: 'E_SIGNATURE_UNTRUSTED' })
})
