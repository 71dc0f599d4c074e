/**
 * Table tests for every gate: each row changes one input from the all-pass fixtures
 * and checks one gate's ok, effect and detail, including the boundary values.
 */
import t from 'tap'
import type { DeviceFacts, ManifestBody } from '../../../src/interface/types.js'
import { evaluate, GATE_NAMES } from '../../../src/policy/evaluate.js'
import { waveBucket } from '../../../src/policy/wave.js'
import { BUNDLE_ID, DAY, makeFacts, makeManifest, makePolicy, MIN, T0, WINDOW_CLOSE } from './fixtures.js'

interface Row {
  name: string
  gate: string
  ok: boolean
  effect?: 'defer' | 'refuse' | 'idle' | 'rollback'
  detail?: RegExp
  policy?: (p: Record<string, any>) => void
  facts?: Partial<DeviceFacts>
  manifest?: Partial<ManifestBody>
  manifestId?: string
  nowMs?: number
}

const TRIAL: Partial<DeviceFacts> = { install: { phase: 'booted-trial', version: '3.8.2', sinceMs: T0 - MIN } }
const bucket = waveBucket('pos-q4', 'pos-17')

const rows: Row[] = [
  // bundle
  { name: 'complete', gate: 'bundle.complete', ok: true, detail: /all 10 chunks/ },
  { name: 'chunks missing', gate: 'bundle.complete', ok: false, effect: 'defer', detail: /3 of 10 chunks missing/, facts: { bundle: { complete: false, verified: false, missingChunks: 3, totalChunks: 10 } } },
  { name: 'verified', gate: 'bundle.verified', ok: true },
  { name: 'not verified', gate: 'bundle.verified', ok: false, effect: 'defer', facts: { bundle: { complete: true, verified: false } } },
  // manifest
  { name: 'signature ok', gate: 'manifest.signature', ok: true },
  { name: 'bad signature', gate: 'manifest.signature', ok: false, effect: 'refuse', detail: /E_SIGNATURE_INVALID/, facts: { manifestSignature: { ok: false, detail: 'E_SIGNATURE_INVALID edited' } } },
  { name: 'expires 1 ms after now', gate: 'manifest.expiry', ok: true, manifest: { expires: new Date(T0 + 1).toISOString() } },
  { name: 'expires exactly now', gate: 'manifest.expiry', ok: false, effect: 'refuse', detail: /expired/, manifest: { expires: new Date(T0).toISOString() } },
  { name: 'signed exactly 14 d ago', gate: 'manifest.signed-within', ok: true, manifest: { created: new Date(T0 - 14 * DAY).toISOString() } },
  { name: 'signed 14 d + 1 ms ago', gate: 'manifest.signed-within', ok: false, effect: 'refuse', detail: /> 14 d/, manifest: { created: new Date(T0 - 14 * DAY - 1).toISOString() } },
  { name: 'created in the future', gate: 'manifest.signed-within', ok: false, effect: 'defer', detail: /future/, manifest: { created: new Date(T0 + 10 * MIN).toISOString() } },
  { name: 'created within skew', gate: 'manifest.signed-within', ok: true, manifest: { created: new Date(T0 + 5 * MIN).toISOString() } },
  { name: 'no age limit', gate: 'manifest.signed-within', ok: true, detail: /no age limit/, policy: p => { delete p.spec.guardrails.signedWithinDays }, manifest: { created: new Date(T0 - 400 * DAY).toISOString() } },
  { name: 'no hold', gate: 'manifest.hold', ok: true },
  { name: 'hold on version', gate: 'manifest.hold', ok: false, effect: 'defer', detail: /operator.*until lifted/, facts: { holds: [{ version: '3.8.2', reason: 'operator' }] } },
  { name: 'hold on bundle id until later', gate: 'manifest.hold', ok: false, effect: 'defer', detail: /until 2026/, facts: { holds: [{ bundleId: BUNDLE_ID, reason: 'soak', untilMs: T0 + 1 }] } },
  { name: 'hold ended exactly now', gate: 'manifest.hold', ok: true, facts: { holds: [{ bundleId: BUNDLE_ID, reason: 'soak', untilMs: T0 }] } },
  { name: 'hold on another version', gate: 'manifest.hold', ok: true, facts: { holds: [{ version: '3.9.0', reason: 'operator' }] } },
  { name: 'a device freeze holds every bundle', gate: 'manifest.hold', ok: false, effect: 'defer', detail: /freeze/, facts: { holds: [{ reason: 'freeze for audit' }] } },
  { name: 'rolled back here before', gate: 'manifest.hold', ok: false, effect: 'refuse', detail: /rolled back/, facts: { install: { phase: 'rolled-back', version: '3.8.2' } } },
  // freshness (the freeze bound): default grace 72 h after the statement's expiry
  { name: 'no statement held', gate: 'trust.freshness', ok: true, detail: /not checked/ },
  { name: 'fresh statement', gate: 'trust.freshness', ok: true, detail: /fresh until/, facts: { freshness: { expiresAtMs: T0 + DAY } } },
  { name: 'expired, inside the grace', gate: 'trust.freshness', ok: true, detail: /stale since .*grace 72 h/, facts: { freshness: { expiresAtMs: T0 - DAY } } },
  { name: 'expired exactly grace ago', gate: 'trust.freshness', ok: true, facts: { freshness: { expiresAtMs: T0 - 3 * DAY } } },
  { name: 'expired grace + 1 ms ago', gate: 'trust.freshness', ok: false, effect: 'defer', detail: /grace 72 h ended .*freeze/, facts: { freshness: { expiresAtMs: T0 - 3 * DAY - 1 } } },
  { name: 'grace the policy states', gate: 'trust.freshness', ok: false, effect: 'defer', detail: /grace 12 h ended/, policy: p => { p.spec.guardrails.freshnessGraceHours = 12 }, facts: { freshness: { expiresAtMs: T0 - DAY } } },
  { name: 'zero grace', gate: 'trust.freshness', ok: false, effect: 'defer', policy: p => { p.spec.guardrails.freshnessGraceHours = 0 }, facts: { freshness: { expiresAtMs: T0 - 1 } } },
  { name: 'statement does not verify', gate: 'trust.freshness', ok: false, effect: 'defer', detail: /does not verify: E_KEY_REVOKED/, facts: { freshness: { error: 'E_KEY_REVOKED key gone' } } },
  { name: 'a trial is never deferred by freshness', gate: 'trust.freshness', ok: true, detail: /runs here/, facts: { ...TRIAL, freshness: { expiresAtMs: T0 - 30 * DAY } } },
  // version
  { name: 'upgrade', gate: 'version.monotonic', ok: true, detail: /3\.8\.1 -> 3\.8\.2/ },
  { name: 'fresh device', gate: 'version.monotonic', ok: true, facts: { installedVersion: undefined } },
  { name: 'same version', gate: 'version.monotonic', ok: false, effect: 'idle', detail: /already running/, facts: { installedVersion: '3.8.2' } },
  { name: 'downgrade', gate: 'version.monotonic', ok: false, effect: 'refuse', detail: /older than installed 3\.9\.0/, facts: { installedVersion: '3.9.0' } },
  { name: 'prerelease is older', gate: 'version.monotonic', ok: true, manifest: { version: '3.8.2' }, facts: { installedVersion: '3.8.2-rc.1' } },
  { name: 'installed not semver', gate: 'version.monotonic', ok: false, effect: 'defer', facts: { installedVersion: 'garbage' } },
  // target
  { name: 'class and labels match', gate: 'target.match', ok: true },
  { name: 'wrong device class', gate: 'target.match', ok: false, effect: 'refuse', detail: /class pos, device is kiosk/, facts: { deviceClass: 'kiosk' } },
  { name: 'wrong label', gate: 'target.match', ok: false, effect: 'refuse', detail: /label region=us-east/, facts: { labels: { region: 'us-east' } } },
  { name: 'missing label', gate: 'target.match', ok: false, effect: 'refuse', detail: /region=\(none\)/, facts: { labels: {} } },
  { name: 'label in a list', gate: 'target.match', ok: true, policy: p => { p.spec.targets.labels.region = ['us-east', 'us-midwest'] } },
  { name: 'policy for another bundle', gate: 'target.match', ok: false, effect: 'refuse', detail: /policy is for bundle/, manifestId: 'b3:' + 'ef'.repeat(32) },
  { name: 'policy for another version', gate: 'target.match', ok: false, effect: 'refuse', policy: p => { p.spec.bundle.version = '3.8.3' } },
  { name: 'OS variant unknown', gate: 'target.match', ok: false, effect: 'refuse', detail: /OS debian12/, manifest: { osVariant: 'debian12' } },
  { name: 'OS variant matches', gate: 'target.match', ok: true, manifest: { osVariant: 'debian12' }, facts: { osVariant: 'debian12' } },
  // wave
  { name: 'percentage 100', gate: 'wave.admitted', ok: true },
  { name: 'percentage 0', gate: 'wave.admitted', ok: false, effect: 'defer', detail: /not in this wave/, policy: p => { p.spec.targets.percentage = 0 } },
  { name: 'bucket just inside', gate: 'wave.admitted', ok: true, policy: p => { p.spec.targets.percentage = (bucket + 1) / 100 } },
  { name: 'bucket just outside', gate: 'wave.admitted', ok: false, effect: 'defer', policy: p => { p.spec.targets.percentage = bucket / 100 } },
  { name: 'running', gate: 'wave.paused', ok: true },
  { name: 'paused', gate: 'wave.paused', ok: false, effect: 'defer', detail: /paused: canary/, facts: { fleet: { paused: true, reason: 'canary' } } },
  // schedule
  { name: 'window open', gate: 'schedule.window', ok: true, detail: /open until Tue 2026-03-10 04:00/ },
  { name: 'window start is inclusive', gate: 'schedule.window', ok: true, nowMs: T0 - 60 * MIN },
  { name: 'window end is exclusive', gate: 'schedule.window', ok: false, effect: 'defer', detail: /opens Tue 2026-03-17 02:00/, nowMs: WINDOW_CLOSE },
  { name: 'no window', gate: 'schedule.window', ok: true, detail: /any time/, policy: p => { delete p.spec.schedule.maintenanceWindow } },
  // device
  { name: 'battery exactly min', gate: 'device.battery', ok: true, facts: { batteryPercent: 40 } },
  { name: 'battery below min', gate: 'device.battery', ok: false, effect: 'defer', detail: /39\.9 % < 40 %/, facts: { batteryPercent: 39.9 } },
  { name: 'battery unknown', gate: 'device.battery', ok: false, effect: 'defer', detail: /unknown: command timed out/, facts: { batteryPercent: undefined, factErrors: { batteryPercent: 'command timed out after 2 s' } } },
  { name: 'low battery on mains', gate: 'device.battery', ok: true, detail: /mains/, facts: { batteryPercent: 5, onMains: true } },
  { name: 'no battery guardrail', gate: 'device.battery', ok: true, policy: p => { delete p.spec.guardrails.minBattery }, facts: { batteryPercent: undefined } },
  { name: 'temperature exactly max', gate: 'device.temperature', ok: true, facts: { temperatureC: 70 } },
  { name: 'temperature above max', gate: 'device.temperature', ok: false, effect: 'defer', facts: { temperatureC: 70.1 } },
  { name: 'temperature unknown', gate: 'device.temperature', ok: false, effect: 'defer', facts: { temperatureC: undefined } },
  { name: 'disk exactly min', gate: 'device.disk', ok: true, facts: { freeDiskMiB: 512 } },
  { name: 'disk below min', gate: 'device.disk', ok: false, effect: 'defer', detail: /511 MiB free < 512/, facts: { freeDiskMiB: 511 } },
  { name: 'disk unknown', gate: 'device.disk', ok: false, effect: 'defer', facts: { freeDiskMiB: undefined } },
  { name: 'two slots', gate: 'device.dual-partition', ok: true },
  { name: 'one slot', gate: 'device.dual-partition', ok: false, effect: 'refuse', detail: /A\/B layout is required/, facts: { slotCount: 1 } },
  { name: 'slots unknown', gate: 'device.dual-partition', ok: false, effect: 'defer', facts: { slotCount: undefined } },
  { name: 'one slot, not required', gate: 'device.dual-partition', ok: true, policy: p => { p.spec.guardrails.requireDualPartition = false }, facts: { slotCount: 1 } },
  { name: 'config exactly the minimum', gate: 'config.requires', ok: true, facts: { configVersion: '12.4.1' } },
  { name: 'config below', gate: 'config.requires', ok: false, effect: 'defer', detail: /12\.4\.0 does not satisfy policy >=12\.4\.1/, facts: { configVersion: '12.4.0' } },
  { name: 'config below the bundle range', gate: 'config.requires', ok: false, effect: 'defer', detail: /bundle >=13/, manifest: { requiresConfig: '>=13' } },
  { name: 'config unknown', gate: 'config.requires', ok: false, effect: 'defer', facts: { configVersion: undefined } },
  { name: 'config not semver', gate: 'config.requires', ok: false, effect: 'defer', facts: { configVersion: 'twelve' } },
  { name: 'no config range', gate: 'config.requires', ok: true, policy: p => { delete p.spec.guardrails.requireConfig }, manifest: { requiresConfig: undefined }, facts: { configVersion: undefined } },
  // probes
  { name: 'probe ok', gate: 'probe.scanner', ok: true },
  { name: 'probe failed', gate: 'probe.scanner', ok: false, effect: 'defer', detail: /exit 1/, facts: { probes: { scanner: { ok: false, detail: 'exit 1' } } } },
  { name: 'probe not run', gate: 'probe.scanner', ok: false, effect: 'defer', detail: /not run/, facts: { probes: {} } },
  { name: 'probe failed during trial', gate: 'probe.scanner', ok: false, effect: 'rollback', detail: /during trial/, facts: { ...TRIAL, probes: { scanner: { ok: false, detail: 'exit 1' } } } },
  // lease
  { name: 'lease held', gate: 'hub.lease', ok: true },
  { name: 'lease held 1 ms more', gate: 'hub.lease', ok: true, facts: { lease: { state: 'held', expiresAtMs: T0 + 1 } } },
  { name: 'lease expired exactly now', gate: 'hub.lease', ok: false, effect: 'defer', detail: /expired/, facts: { lease: { state: 'held', expiresAtMs: T0 } } },
  { name: 'no lease yet', gate: 'hub.lease', ok: false, effect: 'defer', detail: /grants 5 at once/, facts: { lease: { state: 'none' } } },
  { name: 'lease denied', gate: 'hub.lease', ok: false, effect: 'defer', detail: /all 5 install slots/, facts: { lease: { state: 'denied' } } },
  { name: 'hub unreachable', gate: 'hub.lease', ok: false, effect: 'defer', facts: { lease: { state: 'unreachable' } } },
  // fleet
  { name: 'no halt', gate: 'fleet.halt', ok: true },
  { name: 'ratio exactly the threshold', gate: 'fleet.halt', ok: true, facts: { fleet: { rollbackRatio: 0.05 } } },
  { name: 'ratio over the threshold', gate: 'fleet.halt', ok: false, effect: 'defer', detail: /0\.0501 > 0\.05/, facts: { fleet: { rollbackRatio: 0.0501 } } },
  { name: 'halt ordered', gate: 'fleet.halt', ok: false, effect: 'defer', facts: { fleet: { halted: true } } },
  { name: 'halt during trial', gate: 'fleet.halt', ok: false, effect: 'rollback', detail: /during trial/, facts: { ...TRIAL, fleet: { halted: true } } },
  {
    name: 'halt during trial, offline rollback forbidden, hub away', gate: 'fleet.halt', ok: false, effect: 'defer', detail: /waits for the hub/,
    policy: p => { p.spec.rollback.offlineAllowed = false }, facts: { ...TRIAL, fleet: { halted: true }, hubReachable: false }
  },
  // health
  { name: 'not running this version', gate: 'health.check', ok: true, detail: /nothing to check/, facts: { health: { state: 'unhealthy', sinceMs: T0 - DAY } } },
  { name: 'running it, healthy', gate: 'health.check', ok: true, facts: { installedVersion: '3.8.2' } },
  { name: 'unhealthy exactly the limit', gate: 'health.check', ok: false, effect: 'rollback', detail: /limit 5 min/, facts: { installedVersion: '3.8.2', health: { state: 'unhealthy', sinceMs: T0 - 5 * MIN } } },
  { name: 'unhealthy 1 ms less', gate: 'health.check', ok: true, detail: /rolls back at/, facts: { installedVersion: '3.8.2', health: { state: 'unhealthy', sinceMs: T0 - 5 * MIN + 1 } } },
  { name: 'trial silent for the budget', gate: 'health.check', ok: false, effect: 'rollback', detail: /within 120 s/, facts: { install: { phase: 'booted-trial', version: '3.8.2', sinceMs: T0 - 120_000 }, health: { state: 'unknown' } } },
  { name: 'trial silent 1 ms less', gate: 'health.check', ok: true, facts: { install: { phase: 'booted-trial', version: '3.8.2', sinceMs: T0 - 120_000 + 1 }, health: { state: 'unknown' } } }
]

function run (r: Row): ReturnType<typeof evaluate> {
  return evaluate(makePolicy(r.policy), makeManifest(r.manifest, r.manifestId), makeFacts(r.facts), r.nowMs ?? T0)
}

t.test('the fixtures pass every gate at T0', async t => {
  const d = evaluate(makePolicy(), makeManifest(), makeFacts(), T0)
  t.same(d.gates.filter(g => !g.ok), [])
  t.equal(d.verdict, 'install')
})

for (const r of rows) {
  t.test(`${r.gate}: ${r.name}`, async t => {
    const d = run(r)
    const g = d.gates.find(x => x.gate === r.gate)
    if (g === undefined) return t.fail(`gate ${r.gate} not reported`)
    t.equal(g.ok, r.ok, g.detail)
    if (r.effect !== undefined) t.equal(g.effect, r.effect)
    if (r.ok) t.equal(g.effect, undefined, 'passing gates carry no effect')
    if (r.detail !== undefined) t.match(g.detail, r.detail)
    // Rows that change only this gate's input leave it the only failure, deciding the verdict.
    const failing = d.gates.filter(x => !x.ok).map(x => x.gate)
    if (r.nowMs === undefined && !r.ok && failing.length === 1) t.equal(d.verdict, r.effect)
  })
}

t.test('every gate has a passing and a failing row', async t => {
  for (const gate of [...GATE_NAMES, 'probe.scanner']) {
    t.ok(rows.some(r => r.gate === gate && r.ok), `${gate} pass row`)
    t.ok(rows.some(r => r.gate === gate && !r.ok), `${gate} fail row`)
  }
})
