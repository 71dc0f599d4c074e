/**
 * `storemesh policy sign | verify | explain` through the real CLI (child processes):
 * exit codes, one-line errors with codes, the gate table and its JSON form.
 */
import t from 'tap'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { generateSigningKey, writeKeyFiles } from '../../../src/bundle/keys.js'
import { runCli } from '../../support/cli.js'
import { GATE_NAMES } from '../../../src/policy/evaluate.js'
import { basePolicyInput, T0, WINDOW_CLOSE, writeBundle } from './fixtures.js'

const FACTS = `installedVersion: 3.8.1
configVersion: 12.5.0
batteryPercent: 80
temperatureC: 40
freeDiskMiB: 4096
slotCount: 2
lease: { state: held }
install: { phase: committed, version: 3.8.1 }
health: { state: healthy }
`

t.test('sign, verify, explain', async t => {
  const dir = t.testdir({})
  const key = generateSigningKey()
  const stranger = generateSigningKey()
  await writeKeyFiles(join(dir, 'release.key.json'), join(dir, 'release.pub.json'), key)
  await writeKeyFiles(join(dir, 'other.key.json'), join(dir, 'other.pub.json'), stranger)
  const bundle = await writeBundle(dir, [key])
  const policy = basePolicyInput()
  policy.spec.bundle.id = bundle.id
  await writeFile(join(dir, 'policy.yaml'), stringify(policy))
  await writeFile(join(dir, 'device.yaml'), 'deviceId: pos-17\ndeviceClass: pos\nlabels: { region: us-midwest }\nfactsFile: facts.yaml\ntrust: { keys: [release.pub.json] }\n')
  await writeFile(join(dir, 'facts.yaml'), FACTS)
  const signed = join(dir, 'policy.signed.json')

  const sign = await runCli(['policy', 'sign', join(dir, 'policy.yaml'), '--key', join(dir, 'release.key.json'), '--out', signed])
  t.equal(sign.code, 0, sign.stderr)
  t.match(sign.stdout, /signed policy pos-q4 wave 142/)

  const verify = await runCli(['policy', 'verify', signed, '--trust', join(dir, 'release.pub.json'), join(dir, 'other.pub.json'), '--json'])
  t.equal(verify.code, 0, verify.stderr)
  t.match(JSON.parse(verify.stdout), { ok: true, name: 'pos-q4', wave: 142, signedBy: [key.keyid] })

  const untrusted = await runCli(['policy', 'verify', signed, '--trust', join(dir, 'other.pub.json')])
  t.equal(untrusted.code, 3)
  t.match(untrusted.stderr, /^storemesh: E_SIGNATURE_UNTRUSTED /)

  const explain = await runCli(['policy', 'explain', '--data', dir, '--at', new Date(T0).toISOString(), '--json'])
  t.equal(explain.code, 0, explain.stderr)
  const j = JSON.parse(explain.stdout)
  t.equal(j.verdict, 'install')
  t.equal(j.nextCheckAt, new Date(WINDOW_CLOSE).toISOString())
  t.same(j.gates.map((g: { gate: string }) => g.gate).filter((g: string) => !g.startsWith('probe.')), GATE_NAMES)
  t.same(j.gates.filter((g: { ok: boolean }) => !g.ok), [])
  t.equal(j.bundle.id, bundle.id)

  const deferred = await runCli(['policy', 'explain', '--data', dir, '--at', String(WINDOW_CLOSE)])
  t.equal(deferred.code, 75, deferred.stderr)
  t.match(deferred.stdout, /^schedule\.window\s+FAIL\s+closed; opens Tue 2026-03-17 02:00 -05:00/m)
  t.match(deferred.stdout, /^verdict: defer {2}\(next check 2026-03-17T07:00:00\.000Z\)$/m)
  t.match(deferred.stdout, /^device\.battery\s+ok\s+battery 80 % >= 40 %$/m)

  // A tampered signed policy: explain and verify both stop with exit 3.
  const env = JSON.parse(await readFile(signed, 'utf8'))
  env.signed.policy.spec.targets.percentage = 50
  await writeFile(signed, JSON.stringify(env))
  const tampered = await runCli(['policy', 'explain', '--data', dir, '--json'])
  t.equal(tampered.code, 3)
  t.match(JSON.parse(tampered.stderr), { error: { code: 'E_SIGNATURE_INVALID' } })
})

t.test('sign refuses a bad policy with the field and line', async t => {
  const dir = t.testdir({ 'p.yaml': 'apiVersion: storemesh/v1\nkind: RolloutPolicy\nmetadata: { name: x, wave: 1 }\nspec:\n  bundle: { id: b3:' + 'a'.repeat(64) + ', version: 1.0.0 }\n  guardrails:\n    minBatery: 40\n' })
  const key = generateSigningKey()
  await writeKeyFiles(join(dir, 'k.json'), undefined, key)
  const r = await runCli(['policy', 'sign', join(dir, 'p.yaml'), '--key', join(dir, 'k.json'), '--out', join(dir, 'out.json')])
  t.equal(r.code, 3)
  t.match(r.stderr, /^storemesh: E_POLICY_INVALID spec\.guardrails\.minBatery: unknown field \(line 7\)/)
})
