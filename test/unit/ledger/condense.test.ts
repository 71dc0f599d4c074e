import t from 'tap'
import type { Decision, JournalEntry } from '../../../src/interface/types.js'
import {
  classify, countDevice, decisionJournalEvent, emptyCounts, mergeContribution, moveDevice, rollbackRatio, type DeviceWaveRecord
} from '../../../src/ledger/condense.js'

let seq = 0
const at = '2025-01-01T00:00:00.000Z'
function tr (to: string, extra: Partial<JournalEntry> = {}): JournalEntry {
  return { seq: ++seq, at, kind: 'transition', waveId: '142', to, ...extra }
}
function dec (verdict: string, gate?: string): JournalEntry {
  return { seq: ++seq, at, kind: 'decision', waveId: '142', reason: gate ?? verdict, data: { verdict, ...(gate !== undefined ? { gate } : {}) } }
}

t.test('classify maps installer states and decisions to wave states', async t => {
  t.same(classify(tr('staged')), { kind: 'install', seq, state: 'pending' })
  t.same(classify(tr('booted-trial')), { kind: 'install', seq, state: 'pending' })
  t.same(classify(tr('committed')), { kind: 'install', seq, state: 'updated' })
  t.same(classify({ ...tr('rolled-back'), kind: 'outcome' }), { kind: 'install', seq, state: 'rolled-back' })
  t.same(classify(tr('failed', { reason: 'E_ARTIFACT_HASH_MISMATCH' })), { kind: 'install', seq, state: 'failed', gate: 'E_ARTIFACT_HASH_MISMATCH' })
  t.same(classify(dec('defer', 'schedule.window')), { kind: 'decision', seq, state: 'blocked', gate: 'schedule.window' })
  t.same(classify(dec('refuse', 'target.match')), { kind: 'decision', seq, state: 'blocked', gate: 'target.match' })
  t.same(classify(dec('install')), { kind: 'decision', seq, state: 'pending' })
  t.same(classify(dec('idle', 'version.monotonic')), { kind: 'decision', seq, state: 'updated' })
  t.equal(classify(dec('idle', 'manifest.hold')), undefined)
  t.same(classify({ seq: ++seq, at, kind: 'decision', waveId: '142', reason: 'already-installed' }), { kind: 'decision', seq, state: 'updated' })
  t.same(classify({ seq: ++seq, at, kind: 'decision', waveId: '142', reason: 'previously-rolled-back' }),
    { kind: 'decision', seq, state: 'blocked', gate: 'previously-rolled-back' })
  t.same(classify({ ...dec('defer'), reason: 'not a gate!', data: { verdict: 'defer' } }), { kind: 'decision', seq, state: 'blocked', gate: 'unknown' })
  t.equal(classify({ seq: ++seq, at, kind: 'transition', to: 'committed' }), undefined, 'no wave, no state')
})

t.test('a device deferred only while its chunks arrive or a lease is taken is pending; any other gate blocks it and names itself', async t => {
  const gated = (verdict: string, gates: string): JournalEntry =>
    ({ seq: ++seq, at, kind: 'decision', waveId: '142', reason: gates.split(',')[0], data: { verdict, gate: gates.split(',')[0] ?? '', gates } })
  t.same(classify(gated('defer', 'bundle.complete')), { kind: 'decision', seq, state: 'pending' })
  t.same(classify(gated('defer', 'bundle.complete,bundle.verified,hub.lease')), { kind: 'decision', seq, state: 'pending' })
  t.same(classify(gated('defer', 'hub.lease')), { kind: 'decision', seq, state: 'pending' }, 'waiting for an install slot')
  t.same(classify(gated('defer', 'bundle.complete,device.disk')), { kind: 'decision', seq, state: 'blocked', gate: 'device.disk' },
    'a full disk behind the missing chunks is what the operator must see')
  t.same(classify(gated('refuse', 'bundle.complete,target.match')), { kind: 'decision', seq, state: 'blocked', gate: 'target.match' })
  t.equal(classify({ seq: ++seq, at, kind: 'note', waveId: '142' }), undefined)
  t.equal(classify(tr('idle')), undefined)
})

t.test('a lease the hub holds for a paused or halted wave blocks the device by that hold; a store-pending hold only waits', async t => {
  const held = (hold: string): JournalEntry =>
    ({ seq: ++seq, at, kind: 'decision', waveId: '142', reason: 'hub.lease', data: { verdict: 'defer', gate: 'hub.lease', gates: 'hub.lease', hold } })
  t.same(classify(held('wave.paused')), { kind: 'decision', seq, state: 'blocked', gate: 'wave.paused' })
  t.same(classify(held('fleet.halt')), { kind: 'decision', seq, state: 'blocked', gate: 'fleet.halt' })
  t.same(classify(held('wave.store-pending')), { kind: 'decision', seq, state: 'pending' })
  t.same(classify(held('not a gate!')), { kind: 'decision', seq, state: 'pending' }, 'a malformed hold is ignored')
  const withDisk: JournalEntry = { seq: ++seq, at, kind: 'decision', waveId: '142', reason: 'device.disk', data: { verdict: 'defer', gate: 'device.disk', gates: 'hub.lease,device.disk', hold: 'wave.paused' } }
  t.same(classify(withDisk), { kind: 'decision', seq, state: 'blocked', gate: 'device.disk' }, 'a device gate still names itself first')
})

function fold (entries: JournalEntry[]): DeviceWaveRecord | undefined {
  let r: DeviceWaveRecord | undefined
  for (const e of entries) {
    const c = classify(e)
    if (c !== undefined) r = mergeContribution(r, c, 0).record
  }
  return r
}

function shuffled<T> (xs: T[], rnd: () => number): T[] {
  const a = [...xs]
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1))
    ;[a[i], a[j]] = [a[j]!, a[i]!]
  }
  return a
}

function lcg (seed: number): () => number {
  let s = seed >>> 0
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32 }
}

t.test('the condensed state does not depend on arrival order or duplicates', async t => {
  const histories: Array<[string, JournalEntry[], string, string | undefined]> = [
    ['installed', [dec('defer', 'schedule.window'), dec('install'), tr('staged'), tr('writing'), tr('try-boot'), tr('booted-trial'), tr('committed'), dec('idle', 'version.monotonic')], 'updated', undefined],
    ['rolled back, then a defer', [dec('install'), tr('staged'), tr('try-boot'), tr('rolled-back'), dec('refuse', 'version.rolled-back')], 'rolled-back', undefined],
    ['blocked in mid install', [dec('install'), tr('staged'), dec('defer', 'schedule.window')], 'blocked', 'schedule.window'],
    ['failed', [dec('install'), tr('staged'), tr('writing'), tr('failed', { reason: 'E_ARTIFACT_HASH_MISMATCH' }), dec('defer', 'device.battery')], 'failed', 'E_ARTIFACT_HASH_MISMATCH'],
    ['failed then retried', [dec('install'), tr('staged'), tr('failed', { reason: 'E_BACKEND' }), dec('install'), tr('staged')], 'pending', undefined],
    ['committed then operator rollback', [tr('staged'), tr('committed'), tr('rolled-back', { event: 'rollback-requested' })], 'rolled-back', undefined]
  ]
  const rnd = lcg(7)
  for (const [name, entries, state, gate] of histories) {
    const inOrder = fold(entries)
    t.equal(inOrder?.state, state, `${name}: state`)
    t.equal(inOrder?.gate, gate, `${name}: gate`)
    for (let i = 0; i < 20; i++) {
      const mixed = shuffled([...entries, ...entries.slice(0, 3)], rnd)
      const r = fold(mixed)
      t.equal(r?.state, state, `${name}: shuffled with duplicates, run ${i}`)
      t.equal(r?.gate, gate)
      t.equal(r?.version, Math.max(...entries.map(e => e.seq)))
    }
  }
})

t.test('merging an old or repeated contribution changes nothing', async t => {
  const a = classify(tr('staged'))!
  const b = classify(tr('committed'))!
  const r1 = mergeContribution(undefined, a, 1)
  t.ok(r1.changed)
  const r2 = mergeContribution(r1.record, b, 2)
  t.ok(r2.changed)
  t.equal(r2.record.state, 'updated')
  const again = mergeContribution(r2.record, b, 3)
  t.equal(again.record, r2.record, 'same object back: nothing to write')
  t.notOk(again.changed)
  const older = mergeContribution(r2.record, a, 4)
  t.equal(older.record, r2.record)
  const gateOnly = mergeContribution(mergeContribution(undefined, classify(dec('defer', 'device.battery'))!, 0).record, classify(dec('defer', 'device.disk'))!, 0)
  t.ok(gateOnly.changed, 'another gate is a change')
})

t.test('counts move devices between states; the ratio ignores devices without an outcome', async t => {
  const c = emptyCounts()
  moveDevice(c, undefined, { state: 'blocked', gate: 'schedule.window' })
  moveDevice(c, undefined, { state: 'blocked', gate: 'schedule.window' })
  moveDevice(c, undefined, { state: 'pending' })
  t.same(c.blockedByGate, { 'schedule.window': 2 })
  moveDevice(c, { state: 'blocked', gate: 'schedule.window' }, { state: 'updated' })
  moveDevice(c, { state: 'pending' }, { state: 'rolled-back' })
  moveDevice(c, undefined, { state: 'failed', gate: 'E_BACKEND' })
  t.same(c, { updated: 1, rolledBack: 1, failed: 1, pending: 0, blocked: 1, total: 4, blockedByGate: { 'schedule.window': 1 }, failedByReason: { E_BACKEND: 1 } })
  t.equal(rollbackRatio(c), 0.5)
  t.equal(rollbackRatio(emptyCounts()), undefined)
  countDevice(c, 'blocked', 'schedule.window', -1)
  t.same(c.blockedByGate, {}, 'a gate at zero disappears')
})

t.test('decisionJournalEvent writes what classify reads', async t => {
  const decision: Decision = {
    verdict: 'defer',
    gates: [
      { gate: 'bundle.complete', ok: true, detail: 'ok' },
      { gate: 'schedule.window', ok: false, detail: 'closed', effect: 'defer' },
      { gate: 'device.battery', ok: false, detail: '12%', effect: 'defer' },
      { gate: 'manifest.hold', ok: false, detail: 'held', effect: 'idle' }
    ],
    nextCheckAt: null
  }
  const ev = decisionJournalEvent({ ...decision, verdict: 'idle' }, { waveId: '142' })
  t.equal(ev.data?.gate, 'manifest.hold')
  const deferEv = decisionJournalEvent(decision, { waveId: '142', bundleId: 'b3:x' })
  t.same(deferEv.data, { verdict: 'defer', gate: 'schedule.window', gates: 'schedule.window,device.battery' })
  t.same(classify({ seq: 1, at, ...deferEv }), { kind: 'decision', seq: 1, state: 'blocked', gate: 'schedule.window' })
  const ok = decisionJournalEvent({ verdict: 'install', gates: [{ gate: 'bundle.complete', ok: true, detail: '' }], nextCheckAt: null }, { waveId: '142' })
  t.same(classify({ seq: 2, at, ...ok }), { kind: 'decision', seq: 2, state: 'pending' })
})
