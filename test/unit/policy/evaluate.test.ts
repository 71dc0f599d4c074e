/**
 * evaluate(): every gate always reported, the verdict precedence, nextCheckAt, and
 * determinism.
 */
import t from 'tap'
import type { DeviceFacts } from '../../../src/interface/types.js'
import { decidingGates, evaluate, GATE_NAMES, summarize, waitsOnlyForLease } from '../../../src/policy/evaluate.js'
import { BUNDLE_ID, DAY, makeFacts, makeManifest, makePolicy, MIN, T0, WINDOW_CLOSE } from './fixtures.js'

const ALL_GATES = [...GATE_NAMES.slice(0, GATE_NAMES.indexOf('hub.lease')), 'probe.scanner', ...GATE_NAMES.slice(GATE_NAMES.indexOf('hub.lease'))]
const DESIGN_GATES = [
  'bundle.complete', 'bundle.verified', 'manifest.signature', 'manifest.expiry', 'manifest.signed-within', 'manifest.hold',
  'version.monotonic', 'target.match', 'wave.admitted', 'wave.paused', 'schedule.window', 'device.battery',
  'device.temperature', 'device.disk', 'device.dual-partition', 'config.requires', 'hub.lease', 'fleet.halt'
]
const NEXT_TUESDAY_0200_CDT = Date.parse('2026-03-17T07:00:00Z')

t.test('the stable gate names include every gate of DESIGN.md section 7', async t => {
  for (const g of DESIGN_GATES) t.ok(GATE_NAMES.includes(g), g)
  t.same(GATE_NAMES.filter(g => !DESIGN_GATES.includes(g)), ['trust.freshness', 'health.check'], 'additions: trust.freshness (issue 21), health.check')
})

t.test('every gate is reported, in order, whatever fails', async t => {
  const variants: Array<Partial<DeviceFacts>> = [
    {},
    { batteryPercent: 1, temperatureC: 99, freeDiskMiB: 1, slotCount: 1, lease: { state: 'none' } },
    { manifestSignature: { ok: false, detail: 'bad' }, installedVersion: '9.9.9', deviceClass: 'kiosk' },
    { installedVersion: '3.8.2', health: { state: 'unhealthy', sinceMs: T0 - DAY } },
    { bundle: { complete: false, verified: false }, probes: {}, fleet: { halted: true, paused: true } }
  ]
  for (const v of variants) {
    const d = evaluate(makePolicy(), makeManifest(), makeFacts(v), T0)
    t.same(d.gates.map(g => g.gate), ALL_GATES, JSON.stringify(v))
    for (const g of d.gates) t.ok(g.detail.length > 0, `${g.gate} has a detail`)
  }
  const twoProbes = makePolicy(p => { p.spec.verification.peripheralChecks.push({ name: 'printer', run: 'true' }) })
  const d = evaluate(twoProbes, makeManifest(), makeFacts(), T0)
  t.same(d.gates.filter(g => g.gate.startsWith('probe.')).map(g => g.gate), ['probe.scanner', 'probe.printer'])
})

t.test('no policy or no manifest: idle, still every gate', async t => {
  const a = evaluate(undefined, makeManifest(), makeFacts(), T0)
  t.equal(a.verdict, 'idle')
  t.same(a.gates.map(g => g.gate), GATE_NAMES)
  t.equal(a.nextCheckAt, null)
  const b = evaluate(makePolicy(), undefined, makeFacts(), T0)
  t.equal(b.verdict, 'idle')
  t.same(b.gates.map(g => g.gate), ALL_GATES)
  t.match(b.gates[0]?.detail, /no manifest for bundle b3:/)
})

t.test('verdict precedence: rollback > idle > refuse > defer > install', async t => {
  const cases: Array<[string, Partial<DeviceFacts>, string]> = [
    ['all pass', {}, 'install'],
    ['transient only', { batteryPercent: 10, lease: { state: 'denied' } }, 'defer'],
    ['refuse beats defer', { batteryPercent: 10, manifestSignature: { ok: false, detail: 'bad' } }, 'refuse'],
    ['idle beats refuse: already running it', { installedVersion: '3.8.2', deviceClass: 'kiosk' }, 'idle'],
    ['rollback beats idle', { installedVersion: '3.8.2', health: { state: 'unhealthy', sinceMs: T0 - DAY } }, 'rollback'],
    ['trial probe failure with everything else failing', {
      install: { phase: 'try-boot', version: '3.8.2', sinceMs: T0 }, probes: { scanner: { ok: false, detail: 'exit 1' } },
      manifestSignature: { ok: false, detail: 'bad' }, batteryPercent: 1
    }, 'rollback'],
    ['downgrade is refused', { installedVersion: '4.0.0' }, 'refuse']
  ]
  for (const [name, facts, verdict] of cases) {
    const d = evaluate(makePolicy(), makeManifest(), makeFacts(facts), T0)
    t.equal(d.verdict, verdict, name)
    if (verdict !== 'install') t.ok(decidingGates(d).length > 0, `${name}: deciding gates named`)
  }
})

t.test('nextCheckAt', async t => {
  const at = (facts: Partial<DeviceFacts>, nowMs = T0, mutate?: (p: Record<string, any>) => void, manifest = {}): number | null =>
    evaluate(makePolicy(mutate), makeManifest(manifest), makeFacts(facts), nowMs).nextCheckAt

  t.equal(at({}), WINDOW_CLOSE, 'install: until the window closes')
  t.equal(at({ lease: { state: 'held', expiresAtMs: T0 + 10 * MIN } }), T0 + 10 * MIN, 'install: until the lease ends, if sooner')
  t.equal(at({}, T0, p => { delete p.spec.schedule.maintenanceWindow }, { expires: new Date(T0 + DAY).toISOString() }),
    T0 + DAY, 'install with no window: until the manifest expires')
  t.equal(at({}, WINDOW_CLOSE), NEXT_TUESDAY_0200_CDT, 'defer on the window: when it opens')
  t.equal(at({ batteryPercent: 10 }, WINDOW_CLOSE), NEXT_TUESDAY_0200_CDT, 'window and battery: no sooner than the window')
  t.equal(at({ batteryPercent: 10 }), T0 + 5 * MIN, 'battery alone: the fact poll')
  t.equal(at({ lease: { state: 'denied', retryAtMs: T0 + 42_000 } }), T0 + 42_000, 'lease denied: the hub\'s retry time')
  t.equal(at({}, WINDOW_CLOSE, undefined, { expires: new Date(WINDOW_CLOSE + DAY).toISOString() }), WINDOW_CLOSE + DAY,
    'the manifest expires before the window opens: then (verdict turns refuse)')
  t.equal(at({ holds: [{ version: '3.8.2', reason: 'soak', untilMs: T0 + 3 * MIN }], batteryPercent: 10 }), T0 + 5 * MIN, 'the latest of the deciding gates')
  // Deciding gates that only new input clears leave the clock-driven turn to refuse (manifest too old).
  const STALE = T0 - DAY + 14 * DAY + 1
  t.equal(at({ holds: [{ version: '3.8.2', reason: 'until lifted' }] }), STALE, 'an untimed hold: only when the manifest goes stale')
  t.equal(at({}, T0, p => { p.spec.targets.percentage = 0 }), STALE, 'not in the wave: only when the manifest goes stale')
  t.equal(at({}, T0, p => { p.spec.targets.percentage = 0; delete p.spec.guardrails.signedWithinDays }), T0 + 30 * DAY,
    'not in the wave, no age limit: when the manifest expires')
  t.equal(at({ manifestSignature: { ok: false, detail: 'x' } }), null, 'refuse: null')
  t.equal(at({ installedVersion: '3.8.2' }), null, 'idle: null')
  t.equal(at({ installedVersion: '3.8.2', health: { state: 'unhealthy', sinceMs: T0 - MIN } }), T0 + 4 * MIN,
    'idle while unhealthy: when the grace ends (turns rollback)')
  t.equal(at({ installedVersion: '3.8.2', health: { state: 'unhealthy', sinceMs: T0 - DAY } }), null, 'rollback: null')
  t.equal(at({}, T0, undefined, { created: new Date(T0 - 14 * DAY + 30 * MIN).toISOString() }), T0 + 30 * MIN + 1,
    'install: until the manifest is too old, if before the window closes')

  // nextCheckAt is never now or in the past.
  for (const facts of [{}, { batteryPercent: 1 }, { lease: { state: 'none' as const } }, { lease: { state: 'denied' as const, retryAtMs: T0 - 1 } }]) {
    const n = at(facts)
    t.ok(n === null || n > T0, `${JSON.stringify(facts)}: ${String(n)}`)
  }
})

t.test('the verdict really changes at nextCheckAt (same facts)', async t => {
  const policy = makePolicy(p => { delete p.spec.guardrails.signedWithinDays })
  const manifest = makeManifest({ expires: new Date(T0 + 20 * DAY).toISOString() })
  const facts = makeFacts()
  let now = T0
  const seen: string[] = []
  // Walk: install until 04:00, defer until next Tuesday 02:00, install again ... expiry -> refuse.
  for (let i = 0; i < 20; i++) {
    const d = evaluate(policy, manifest, facts, now)
    seen.push(d.verdict)
    if (d.nextCheckAt === null) break
    const before = evaluate(policy, manifest, facts, d.nextCheckAt - 1)
    t.equal(before.verdict, d.verdict, `unchanged just before ${new Date(d.nextCheckAt).toISOString()}`)
    now = d.nextCheckAt
  }
  t.same(seen, ['install', 'defer', 'install', 'defer', 'install', 'defer', 'refuse'])
})

t.test('deterministic: same inputs, same Decision', async t => {
  const policy = makePolicy()
  const manifest = makeManifest()
  const facts = makeFacts({ batteryPercent: 12, lease: { state: 'none' } })
  const a = evaluate(policy, manifest, facts, T0)
  const b = evaluate(makePolicy(), makeManifest(), makeFacts({ batteryPercent: 12, lease: { state: 'none' } }), T0)
  t.same(a, b)
  t.equal(JSON.stringify(a), JSON.stringify(b))
  // Label order in the input does not matter.
  const c = evaluate(policy, manifest, makeFacts({ batteryPercent: 12, lease: { state: 'none' }, labels: { store: '0042', region: 'us-midwest' } }), T0)
  t.equal(JSON.stringify(c), JSON.stringify(a))
  // And evaluate does not modify its inputs.
  const frozen = JSON.stringify({ policy, manifest, facts })
  evaluate(policy, manifest, facts, T0)
  t.equal(JSON.stringify({ policy, manifest, facts }), frozen)
})

t.test('summaries for logs and install --once', async t => {
  const d = evaluate(makePolicy(), makeManifest(), makeFacts({ batteryPercent: 10 }), T0)
  t.equal(summarize(d), 'defer: device.battery battery 10 % < 40 %')
  t.equal(summarize(evaluate(makePolicy(), makeManifest(), makeFacts(), T0)), `install: all ${ALL_GATES.length} gates pass`)
  t.equal(waitsOnlyForLease(evaluate(makePolicy(), makeManifest(), makeFacts({ lease: { state: 'none' } }), T0)), true)
  t.equal(waitsOnlyForLease(d), false)
  t.equal(BUNDLE_ID.startsWith('b3:'), true)
})
