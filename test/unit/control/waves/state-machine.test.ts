/** The fleet wave state machine: every transition of docs/fleet-waves.md, with its orders. */
import t from 'tap'
import {
  effectiveRollout, nextWakeMs, planWave, summarizeWave, transition, waveRulesOf,
  type WaveAction, type WaveEvent, type WaveState
} from '../../../../src/control/waves/index.js'
import { waveRowOf } from '../../../../src/control/waves/rows.js'
import { CHICAGO_OPENS, HOUR, MIN, T0, fleet, policy } from './fixtures.js'

const P = policy()
const ROLLOUT = effectiveRollout(P)
const RULES = waveRulesOf(ROLLOUT)
/** four stores of three devices, hubBudget 2: two batches */
function plan (stores = fleet(4, 3)): WaveState {
  return planWave({ waveId: '142', policyName: P.metadata.name, schedule: P.spec.schedule, rollout: ROLLOUT, stores })
}

/** Runs events in order, collecting every action. */
function run (s: WaveState, steps: Array<[WaveEvent, number]>): { state: WaveState, actions: WaveAction[] } {
  const actions: WaveAction[] = []
  for (const [e, at] of steps) {
    const r = transition(s, e, at, RULES)
    s = r.state
    actions.push(...r.actions)
  }
  return { state: s, actions }
}

const ofType = <T extends WaveAction['type']>(as: WaveAction[], type: T): Array<Extract<WaveAction, { type: T }>> =>
  as.filter((a): a is Extract<WaveAction, { type: T }> => a.type === type)

function healthy (s: WaveState, batch: number): WaveEvent {
  return { type: 'outcomes', stores: (s.batches[batch] ?? []).map(id => ({ storeId: id, updated: s.stores[id]!.selected, rolledBack: 0 })) }
}

t.test('planned → prestaging: each store\'s pre-staging is ordered prestageHours before its window', async t => {
  const p0 = plan()
  t.equal(p0.batches.length, 2)
  const r = transition(p0, { type: 'start' }, T0, RULES)
  t.equal(r.state.phase, 'prestaging')
  t.same(r.actions, [], 'the window is 19 h away, pre-staging starts 12 h before it')
  t.equal(p0.phase, 'planned', 'the input state is not modified')
  const at = CHICAGO_OPENS - 12 * HOUR
  t.equal(nextWakeMs(r.state), at)
  t.same(transition(r.state, { type: 'tick' }, at - 1, RULES).actions, [])
  const due = transition(r.state, { type: 'tick' }, at, RULES)
  t.same(ofType(due.actions, 'prestage').map(a => a.storeId).sort(), Object.keys(p0.stores).sort(), 'every store of the wave pre-stages')
  t.same(transition(due.state, { type: 'tick' }, at + MIN, RULES).actions, [], 'ordered once')
})

t.test('prestaging → batch 1 installing once its stores are pre-staged; batch 2 starts batchDelayMinutes after batch 1 is healthy', async t => {
  let s = transition(plan(), { type: 'start' }, T0, RULES).state
  const [b0, b1] = [s.batches[0]!, s.batches[1]!]
  let r = transition(s, { type: 'prestaged', storeId: b0[0]! }, T0 + MIN, RULES)
  t.equal(r.state.phase, 'prestaging', 'one store of batch 1 is not enough')
  r = transition(r.state, { type: 'prestaged', storeId: b0[1]! }, T0 + 2 * MIN, RULES)
  t.equal(r.state.phase, 'installing')
  t.equal(r.state.batch, 0)
  t.same(ofType(r.actions, 'start-store').map(a => a.storeId), b0, 'batch 1 is told to install')
  t.ok(ofType(r.actions, 'prestage').every(a => b0.includes(a.storeId)), 'a started store is also told to pull')
  s = r.state
  // half of batch 1 done: still installing
  r = transition(s, { type: 'outcomes', stores: [{ storeId: b0[0]!, updated: 3, rolledBack: 0 }] }, T0 + HOUR, RULES)
  t.equal(r.state.phase, 'installing')
  t.same(ofType(r.actions, 'start-store'), [])
  const healthyAt = T0 + 2 * HOUR
  r = transition(r.state, healthy(r.state, 0), healthyAt, RULES)
  t.equal(r.state.phase, 'waiting')
  t.equal(r.state.nextBatchAtMs, healthyAt + 15 * MIN)
  t.equal(r.state.batchHealthyAtMs[0], healthyAt)
  t.same(ofType(r.actions, 'start-store'), [], 'batch 2 waits for the delay')
  t.equal(nextWakeMs(r.state), healthyAt + 15 * MIN)
  t.same(transition(r.state, { type: 'tick' }, healthyAt + 15 * MIN - 1, RULES).actions.filter(a => a.type === 'start-store'), [])
  r = transition(r.state, { type: 'tick' }, healthyAt + 15 * MIN, RULES)
  t.equal(r.state.phase, 'installing')
  t.equal(r.state.batch, 1)
  t.same(ofType(r.actions, 'start-store').map(a => [a.storeId, a.batch]), b1.map(id => [id, 1]))
  r = transition(r.state, healthy(r.state, 1), healthyAt + HOUR, RULES)
  t.equal(r.state.phase, 'done', 'the last batch healthy: done')
  t.match(summarizeWave(r.state), { phase: 'done', batch: 2, batches: 2, stores: { healthy: 4 }, devices: { selected: 12, updated: 12, pending: 0 } })
})

t.test('batchDelayMinutes 0: the next batch starts the moment the previous one is healthy', async t => {
  const rules = { ...RULES, batchDelayMinutes: 0 }
  let s = transition(plan(), { type: 'start' }, T0, rules).state
  for (const id of s.batches[0]!) s = transition(s, { type: 'prestaged', storeId: id }, T0, rules).state
  const r = transition(s, healthy(s, 0), T0 + HOUR, rules)
  t.equal(r.state.phase, 'installing')
  t.equal(r.state.batch, 1)
})

t.test('a rolled-back device counts as an outcome for the batch; past the ratio after minOutcomesForHalt the wave halts fleet-wide', async t => {
  let s = transition(plan(fleet(4, 3)), { type: 'start' }, T0, RULES).state
  for (const id of s.batches[0]!) s = transition(s, { type: 'prestaged', storeId: id }, T0, RULES).state
  const [a, b] = s.batches[0]! as [string, string]
  // 1 rollback of 3 outcomes: ratio 0.33 > 0.2, but the policy wants 4 outcomes first
  let r = transition(s, { type: 'outcomes', stores: [{ storeId: a, updated: 2, rolledBack: 1 }] }, T0 + HOUR, RULES)
  t.equal(r.state.phase, 'installing')
  t.same(ofType(r.actions, 'halt'), [])
  r = transition(r.state, { type: 'outcomes', stores: [{ storeId: b, updated: 1, rolledBack: 0 }] }, T0 + 2 * HOUR, RULES)
  t.equal(r.state.phase, 'halted', '1 of 4 = 0.25 > 0.2 with 4 outcomes')
  const halts = ofType(r.actions, 'halt')
  t.equal(halts.length, 1)
  t.same(halts[0]!.storeIds.sort(), Object.keys(s.stores).sort(), 'the halt goes to every store of the wave, batch 2 included')
  t.equal(halts[0]!.source, 'auto')
  t.match(r.state.halt, { source: 'auto', reason: /rollback ratio 0\.25 \(1\/4\) > 0\.2/ })
  // an auto-halt never clears by itself
  for (const e of [{ type: 'tick' }, { type: 'outcomes', stores: [{ storeId: b, updated: 3, rolledBack: 0 }] }, { type: 'start' }, { type: 'pause', reason: 'x' }] as WaveEvent[]) {
    const x = transition(r.state, e, T0 + 3 * HOUR, RULES)
    t.equal(x.state.phase, 'halted', `${e.type} leaves it halted`)
    t.same(ofType(x.actions, 'start-store'), [])
  }
  // only an explicit resume clears it; it goes back to installing batch 1
  const resumed = transition(r.state, { type: 'resume' }, T0 + 4 * HOUR, RULES)
  t.equal(resumed.state.phase, 'installing')
  t.equal(resumed.state.rearmAtRolledBack, 1)
  t.same(ofType(resumed.actions, 'resume')[0]?.storeIds.length, 4)
  // the next rollback while over the ratio halts again
  const again = transition(resumed.state, { type: 'outcomes', stores: [{ storeId: b, updated: 1, rolledBack: 1 }] }, T0 + 5 * HOUR, RULES)
  t.equal(again.state.phase, 'halted')
})

t.test('pause holds the wave where it is; resume goes back and catches up; repeats are no-ops', async t => {
  let s = transition(plan(), { type: 'start' }, T0, RULES).state
  for (const id of s.batches[0]!) s = transition(s, { type: 'prestaged', storeId: id }, T0, RULES).state
  const p = transition(s, { type: 'pause', reason: 'store opening hours changed' }, T0 + HOUR, RULES)
  t.equal(p.state.phase, 'paused')
  t.equal(p.state.resumeTo, 'installing')
  t.same(ofType(p.actions, 'pause')[0]?.storeIds.length, 4)
  const again = transition(p.state, { type: 'pause', reason: 'again' }, T0 + HOUR, RULES)
  t.notOk(again.changed)
  t.same(again.actions, [])
  // batch 1 healthy while paused: recorded, but batch 2 does not start
  let q = transition(p.state, healthy(p.state, 0), T0 + 2 * HOUR, RULES)
  q = transition(q.state, { type: 'tick' }, T0 + 3 * HOUR, RULES)
  t.equal(q.state.phase, 'paused')
  t.same(ofType(q.actions, 'start-store'), [])
  // resume: batch 1 is healthy now, the delay counts from the resume
  const r = transition(q.state, { type: 'resume' }, T0 + 4 * HOUR, RULES)
  t.equal(r.state.phase, 'waiting')
  t.equal(r.state.nextBatchAtMs, T0 + 4 * HOUR + 15 * MIN)
  t.notOk(transition(r.state, { type: 'resume' }, T0 + 4 * HOUR, RULES).changed, 'resume of a running wave changes nothing')
  t.notOk(transition(r.state, { type: 'start' }, T0 + 4 * HOUR, RULES).changed, 'start twice changes nothing')
})

t.test('an operator halt stops a paused wave too, and resume returns to where the pause was', async t => {
  const s = transition(plan(), { type: 'start' }, T0, RULES).state
  const p = transition(s, { type: 'pause', reason: 'p' }, T0, RULES).state
  const h = transition(p, { type: 'halt', reason: 'bad config' }, T0 + MIN, RULES)
  t.equal(h.state.phase, 'halted')
  t.match(h.state.halt, { source: 'operator', reason: 'bad config' })
  t.notOk(transition(h.state, { type: 'halt', reason: 'again' }, T0, RULES).changed)
  t.equal(transition(h.state, { type: 'resume' }, T0 + HOUR, RULES).state.phase, 'prestaging')
})

t.test('a planned wave can be halted and resumed back to planned; a wave with no selected store is done at start', async t => {
  const h = transition(plan(), { type: 'halt', reason: 'hold' }, T0, RULES)
  t.equal(h.state.phase, 'halted')
  const r = transition(h.state, { type: 'resume' }, T0, RULES)
  t.equal(r.state.phase, 'planned')
  t.same(r.actions, [], 'nothing was started, nothing to resume')
  const empty = planWave({ waveId: '9', policyName: 'pos-q4', schedule: P.spec.schedule, rollout: effectiveRollout(policy({}, { percentage: 0 })), stores: fleet(3, 3) })
  t.equal(transition(empty, { type: 'start' }, T0, RULES).state.phase, 'done')
})

t.test('bad input: an unknown store or impossible counts throw a stable code and change nothing', async t => {
  const s = transition(plan(), { type: 'start' }, T0, RULES).state
  const before = JSON.stringify(s)
  const known = s.batches[0]![0]!
  t.throws(() => transition(s, { type: 'prestaged', storeId: 'nowhere' }, T0, RULES), { code: 'E_WAVE_UNKNOWN_STORE' })
  t.throws(() => transition(s, { type: 'outcomes', stores: [{ storeId: known, updated: 1, rolledBack: 0 }, { storeId: 'nowhere', updated: 1, rolledBack: 0 }] }, T0, RULES), { code: 'E_WAVE_UNKNOWN_STORE' })
  t.throws(() => transition(s, { type: 'outcomes', stores: [{ storeId: known, updated: 4, rolledBack: 0 }] }, T0, RULES), { code: 'E_INVALID_ARGUMENT' })
  t.throws(() => transition(s, { type: 'outcomes', stores: [{ storeId: known, updated: -1, rolledBack: 0 }] }, T0, RULES), { code: 'E_INVALID_ARGUMENT' })
  t.throws(() => transition(s, { type: 'prestaged', storeId: '__proto__' }, T0, RULES), { code: 'E_WAVE_UNKNOWN_STORE' })
  t.equal(JSON.stringify(s), before)
})

t.test('prestaged-stores is one prestaged event per store, in one step; an unknown store changes nothing', async t => {
  const started = transition(plan(), { type: 'start' }, T0, RULES).state
  const ids = started.batches.flat()
  const one = run(started, ids.map(id => [{ type: 'prestaged', storeId: id }, T0 + MIN]))
  const many = transition(started, { type: 'prestaged-stores', storeIds: ids }, T0 + MIN, RULES)
  t.same(many.state, one.state)
  t.same(many.actions, one.actions)
  t.equal(transition(many.state, { type: 'prestaged-stores', storeIds: ids }, T0 + 2 * MIN, RULES).changed, false, 'a repeat changes nothing')
  t.throws(() => transition(started, { type: 'prestaged-stores', storeIds: [ids[0]!, 'nowhere'] }, T0, RULES), { code: 'E_WAVE_UNKNOWN_STORE' })
  t.equal(started.stores[ids[0]!]!.prestaged, false, 'the input is left alone')
})

t.test('a settled batch whose rollbacks are over the limit, with too few outcomes to halt, is not healthy: the next batch waits', async t => {
  // the demo's wave 145: its first store joined with one device reported, that device rolled back
  const rules = { ...RULES, batchDelayMinutes: 0 }
  let s = transition(plan(fleet(4, 1)), { type: 'start' }, T0, rules).state
  for (const id of s.batches[0]!) s = transition(s, { type: 'prestaged', storeId: id }, T0, rules).state
  const [a, b] = s.batches[0]! as [string, string]
  // batch 1 (two stores of one device) settles: 1 rollback in 2 outcomes (0.5 > 0.2), the policy wants 4 before a halt
  let r = transition(s, { type: 'outcomes', stores: [{ storeId: a, updated: 0, rolledBack: 1 }, { storeId: b, updated: 1, rolledBack: 0 }] }, T0 + HOUR, rules)
  t.same(ofType(r.actions, 'halt'), [], 'too few outcomes to halt')
  r = transition(r.state, { type: 'tick' }, T0 + 2 * HOUR, rules)
  t.equal(r.state.phase, 'installing', 'batch 1 settled, but not healthy')
  t.equal(r.state.batch, 0)
  t.same(ofType(r.actions, 'start-store'), [], 'batch 2 is not told to install')
  t.equal(r.state.batchHealthyAtMs[0], undefined)
  t.match(waveRowOf(r.state, false), { state: 'installing', reason: /settled with rollbacks over the wave's limit/ })
  // the operator accepts the rollbacks (halt, resume): batch 1 is healthy and batch 2 starts
  const halted = transition(r.state, { type: 'halt', reason: 'looked at it' }, T0 + 3 * HOUR, rules).state
  const resumed = transition(halted, { type: 'resume' }, T0 + 4 * HOUR, rules)
  t.equal(resumed.state.batch, 1, 'after the resume batch 2 installs')
  t.same(ofType(resumed.actions, 'start-store').map(x => x.batch), [1, 1], 'both stores of batch 2')
})

t.test('a settled batch whose rollbacks are within the limit is healthy', async t => {
  const rules = { ...RULES, batchDelayMinutes: 0, haltOnRollbackRatio: 0.5 }
  let s = transition(plan(fleet(4, 3)), { type: 'start' }, T0, rules).state
  for (const id of s.batches[0]!) s = transition(s, { type: 'prestaged', storeId: id }, T0, rules).state
  const [a, b] = s.batches[0]! as [string, string]
  const r = transition(s, { type: 'outcomes', stores: [{ storeId: a, updated: 2, rolledBack: 1 }, { storeId: b, updated: 3, rolledBack: 0 }] }, T0 + HOUR, rules)
  t.equal(r.state.batch, 1, '1 of 6 rolled back is within 0.5: batch 2 starts')
})
