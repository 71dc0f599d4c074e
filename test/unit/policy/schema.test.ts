/**
 * The RolloutPolicy schema: the DESIGN.md example parses, defaults come from one place,
 * and every error names the field path and its line.
 */
import t from 'tap'
import {
  DEFAULT_FRESHNESS_GRACE_HOURS, DEFAULT_HALT_ON_ROLLBACK_RATIO, DEFAULT_MAX_CONCURRENT_PER_HUB, DEFAULT_PERCENTAGE, DEFAULT_PROBE_TIMEOUT_SECONDS,
  DEFAULT_REQUIRE_DUAL_PARTITION, DEFAULT_ROLLBACK_ON_HEALTH_LOSS_MINS, DEFAULT_TIMEZONE, MAX_POLICY_YAML_BYTES
} from '../../../src/policy/constants.js'
import { parsePolicy, parsePolicyYaml } from '../../../src/policy/schema.js'
import { BUNDLE_ID } from './fixtures.js'

/** DESIGN.md section 7, block style so each field has its own line (line numbers in comments). */
const DESIGN_YAML = `apiVersion: storemesh/v1
kind: RolloutPolicy
metadata: { name: pos-q4, wave: 142 }
spec:
  bundle: { id: ${BUNDLE_ID}, version: 3.8.2 }
  targets: { deviceClass: pos, labels: { region: us-midwest }, percentage: 5, hubBudget: 2 }
  schedule: { maintenanceWindow: "Tue 02:00-04:00", timezone: America/Chicago, prestageHours: 48 }
  rollout: { maxConcurrentPerHub: 5, batchDelayMinutes: 15, haltOnRollbackRatio: 0.05 }
  guardrails:
    minBattery: 40
    maxTemperatureC: 70
    minFreeDiskMiB: 512
    requireDualPartition: true
    requireConfig: ">=12.4.1"
    signedWithinDays: 14
  verification:
    peripheralChecks: [ { name: scanner, run: "lsusb | grep -q scanner", timeoutSeconds: 5 } ]
    healthCheck: { url: "http://127.0.0.1:8080/health", timeoutSeconds: 120 }
    rollbackOnHealthLossMins: 5
  rollback: { offlineAllowed: true }
`

const MINIMAL = `apiVersion: storemesh/v1
kind: RolloutPolicy
metadata:
  name: tiny
  wave: 1
spec:
  bundle:
    id: ${BUNDLE_ID}
    version: 1.0.0
`

t.test('the DESIGN.md example parses to exactly its values', async t => {
  const p = parsePolicyYaml(DESIGN_YAML)
  t.same(p.metadata, { name: 'pos-q4', wave: 142 })
  t.same(p.spec.targets, { deviceClass: 'pos', labels: { region: 'us-midwest' }, percentage: 5, hubBudget: 2 })
  t.same(p.spec.schedule, { maintenanceWindow: 'Tue 02:00-04:00', timezone: 'America/Chicago', prestageHours: 48 })
  t.same(p.spec.guardrails, { minBattery: 40, maxTemperatureC: 70, minFreeDiskMiB: 512, requireDualPartition: true, requireConfig: '>=12.4.1', signedWithinDays: 14, freshnessGraceHours: DEFAULT_FRESHNESS_GRACE_HOURS })
  t.same(p.spec.verification.peripheralChecks, [{ name: 'scanner', run: 'lsusb | grep -q scanner', timeoutSeconds: 5 }])
  t.same(p.spec.verification.healthCheck, { url: 'http://127.0.0.1:8080/health', timeoutSeconds: 120 })
  t.equal(p.spec.rollback.offlineAllowed, true)
})

t.test('absent fields take the DEFAULT_* values', async t => {
  const p = parsePolicyYaml(MINIMAL)
  t.equal(p.spec.targets.percentage, DEFAULT_PERCENTAGE)
  t.same(p.spec.targets.labels, {})
  t.equal(p.spec.schedule.timezone, DEFAULT_TIMEZONE)
  t.equal(p.spec.schedule.maintenanceWindow, undefined)
  t.equal(p.spec.rollout.maxConcurrentPerHub, DEFAULT_MAX_CONCURRENT_PER_HUB)
  t.equal(p.spec.rollout.haltOnRollbackRatio, DEFAULT_HALT_ON_ROLLBACK_RATIO)
  t.equal(p.spec.guardrails.requireDualPartition, DEFAULT_REQUIRE_DUAL_PARTITION)
  t.equal(p.spec.guardrails.minBattery, undefined, 'a guardrail left out is not checked')
  t.equal(p.spec.guardrails.freshnessGraceHours, DEFAULT_FRESHNESS_GRACE_HOURS, 'the freeze bound always has a grace')
  t.equal(p.spec.verification.rollbackOnHealthLossMins, DEFAULT_ROLLBACK_ON_HEALTH_LOSS_MINS)
  const withProbe = parsePolicyYaml(MINIMAL + '  verification:\n    peripheralChecks:\n      - { name: s, run: "true" }\n')
  t.equal(withProbe.spec.verification.peripheralChecks[0]?.timeoutSeconds, DEFAULT_PROBE_TIMEOUT_SECONDS)
  // Defaults are idempotent: re-validating the output changes nothing (what is signed is what runs).
  t.same(parsePolicy(JSON.parse(JSON.stringify(p))), p)
})

t.test('JSON is accepted as YAML', async t => {
  const p = parsePolicyYaml(JSON.stringify(parsePolicyYaml(DESIGN_YAML)))
  t.equal(p.metadata.name, 'pos-q4')
})

const errors: Array<[string, (y: string) => string, string | RegExp]> = [
  ['the typo of the brief', y => y.replace('minBattery: 40', 'minBatery: 40'), 'E_POLICY_INVALID spec.guardrails.minBatery: unknown field (line 10)'],
  ['unknown top-level field', y => y + 'extra: 1\n', /^E_POLICY_INVALID extra: unknown field \(line 21\)$/],
  ['unknown field in a flow mapping', y => y.replace('prestageHours: 48', 'prestageHour: 48'), /spec\.schedule\.prestageHour: unknown field \(line 7\)/],
  ['unknown field in a list item', y => y.replace('timeoutSeconds: 5 }', 'timeoutSecond: 5 }'), /spec\.verification\.peripheralChecks\.0\.timeoutSecond: unknown field \(line 17\)/],
  ['wrong type', y => y.replace('minFreeDiskMiB: 512', 'minFreeDiskMiB: lots'), /spec\.guardrails\.minFreeDiskMiB: expected number, got string \(line 12\)/],
  ['out of range', y => y.replace('percentage: 5', 'percentage: 105'), /spec\.targets\.percentage: .*100.* \(line 6\)/],
  ['missing required field', y => y.replace('version: 3.8.2 }', 'vers: 3.8.2 }'), /spec\.bundle\.version: required field missing \(line 5\)/],
  ['bad semver', y => y.replace('version: 3.8.2 }', 'version: three }'), /spec\.bundle\.version: not a semver version .* \(line 5\)/],
  ['bad semver range', y => y.replace('">=12.4.1"', '"at least twelve"'), /spec\.guardrails\.requireConfig: not a semver range .* \(line 14\)/],
  ['bad bundle id', y => y.replace(BUNDLE_ID, 'b3:xyz'), /spec\.bundle\.id: not a bundle id .* \(line 5\)/],
  ['bad window', y => y.replace('"Tue 02:00-04:00"', '"Tue 02:00-4pm"'), /spec\.schedule\.maintenanceWindow: expected "\[days\] HH:MM-HH:MM".* \(line 7\)/],
  ['bad time zone', y => y.replace('America/Chicago', 'America/Springfield'), /spec\.schedule\.timezone: not an IANA time zone .* \(line 7\)/],
  ['wrong kind', y => y.replace('kind: RolloutPolicy', 'kind: Policy'), /kind: must be "RolloutPolicy" \(line 2\)/],
  ['wrong apiVersion', y => y.replace('storemesh/v1', 'storemesh/v2'), /apiVersion: must be "storemesh\/v1" \(line 1\)/],
  ['health check with both url and run', y => y.replace('timeoutSeconds: 120', 'run: "true", timeoutSeconds: 120'), /spec\.verification\.healthCheck: give exactly one of url or run \(line 18\)/],
  ['duplicate probe names', y => y.replace('timeoutSeconds: 5 } ]', 'timeoutSeconds: 5 }, { name: scanner, run: "true" } ]'), /spec\.verification\.peripheralChecks: probe names must be unique \(line 17\)/],
  ['probe name that cannot be a gate name', y => y.replace('name: scanner', 'name: "scan ner"'), /peripheralChecks\.0\.name: .* \(line 17\)/],
  ['duplicate key', y => y.replace('    maxTemperatureC: 70\n', '    maxTemperatureC: 70\n    maxTemperatureC: 80\n'), /YAML duplicate key: .* \(line 12\)/],
  ['YAML syntax error', y => y.replace('peripheralChecks: [ {', 'peripheralChecks: [ [ {'), /YAML .* \(line \d+\)/],
  ['not a mapping', () => '- just\n- a list\n', /\(document\): expected object, got a list \(line 1\)/]
]

for (const [name, edit, expected] of errors) {
  t.test(`error: ${name}`, async t => {
    let line = ''
    try {
      parsePolicyYaml(edit(DESIGN_YAML))
      t.fail('parsed')
    } catch (err: any) {
      t.equal(err.code, 'E_POLICY_INVALID')
      line = err.toLine()
    }
    if (typeof expected === 'string') t.equal(line, expected)
    else t.match(line, expected)
  })
}

t.test('several errors are all listed, in line order', async t => {
  const y = DESIGN_YAML.replace('wave: 142', 'wave: -1').replace('minBattery: 40', 'minBatery: 40').replace('offlineAllowed: true', 'offlineAllowed: yes please')
  t.throws(() => parsePolicyYaml(y, 'p.yaml'), {
    code: 'E_POLICY_INVALID',
    message: /^metadata\.wave: .*\(line 3\); spec\.guardrails\.minBatery: unknown field \(line 10\); spec\.rollback\.offlineAllowed: expected boolean, got string \(line 20\)$/,
    meta: { file: 'p.yaml' }
  })
})

t.test('size limit', async t => {
  t.throws(() => parsePolicyYaml(DESIGN_YAML + '#'.repeat(MAX_POLICY_YAML_BYTES)), { code: 'E_POLICY_INVALID', message: /limit/ })
})

t.test('a policy object (a signed body) is validated the same way, by path', async t => {
  const p = parsePolicyYaml(DESIGN_YAML) as any
  p.spec.guardrails.minBatery = 1
  t.throws(() => parsePolicy(p), { code: 'E_POLICY_INVALID', message: 'spec.guardrails.minBatery: unknown field' })
})
