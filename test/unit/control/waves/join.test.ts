import t from 'tap'
import { joinStores, type WaveSelection } from '../../../../src/control/waves/join.js'
import { planWave, transition, type WaveState } from '../../../../src/control/waves/index.js'

const sel: WaveSelection = { policyName: 'join-test', percentage: 100, hubBudget: 2, schedule: { timezone: 'UTC' } }
const rules = { batchDelayMinutes: 0, prestageHours: 0, haltOnRollbackRatio: 1, minOutcomesForHalt: 1 }
const empty = (): WaveState => planWave({ waveId: 'j', policyName: sel.policyName, schedule: sel.schedule, rollout: { percentage: { value: 100, source: 'policy' }, hubBudget: { value: 2, source: 'policy' } }, stores: [] })
const store = (id: string, n = 1): { storeId: string, deviceIds: string[] } => ({ storeId: id, deviceIds: Array.from({ length: n }, (_, i) => `${id}-d${i}`) })

t.test('before the start the batches are redrawn as planWave draws them', async t => {
  const j = joinStores(empty(), [store('s1'), store('s2'), store('s3')], sel, 0, rules)
  t.same(j.added.sort(), ['s1', 's2', 's3'])
  const direct = planWave({ waveId: 'j', policyName: sel.policyName, schedule: sel.schedule, rollout: { percentage: { value: 100, source: 'policy' }, hubBudget: { value: 2, source: 'policy' } }, stores: [store('s1'), store('s2'), store('s3')] })
  t.same(j.state.batches, direct.batches, 'the same batches as a plan of all three')
  t.same(Object.keys(j.state.stores).sort(), ['s1', 's2', 's3'])
})

t.test('after the start a late store never joins a started batch', async t => {
  let s = joinStores(empty(), [store('a')], sel, 0, rules).state
  s = transition(s, { type: 'start' }, 0, rules).state
  s = transition(s, { type: 'prestaged', storeId: 'a' }, 0, rules).state
  t.equal(s.phase, 'installing')
  const j = joinStores(s, [store('a'), store('b')], sel, 5, rules)
  t.same(j.state.batches, [['a'], ['b']], 'batch 1 started: b opens batch 2')
  t.match(j.state.stores.b, { batch: 1, started: false, prestageAtMs: 5 })
  const k = joinStores(j.state, [store('c')], sel, 6, rules)
  t.same(k.state.batches, [['a'], ['b', 'c']], 'batch 2 has not started and has room under hubBudget 2: c joins it')
  const m = joinStores(k.state, [store('d')], sel, 7, rules)
  t.same(m.state.batches, [['a'], ['b', 'c'], ['d']], 'batch 2 is full: d opens batch 3')
})

t.test('a store only grows its selected count; nothing joins a done wave', async t => {
  let s = joinStores(empty(), [store('g', 1)], sel, 0, rules).state
  const g = joinStores(s, [store('g', 3)], sel, 0, rules)
  t.same(g.grown, ['g'])
  t.equal(g.state.stores.g!.selected, 3)
  t.equal(joinStores(g.state, [store('g', 2)], sel, 0, rules).state.stores.g!.selected, 3, 'never shrinks')
  s = { ...g.state, phase: 'done' }
  t.same(joinStores(s, [store('h')], sel, 0, rules).added, [], 'a done wave takes no store')
  t.same(joinStores(empty(), [store('z', 0)], sel, 0, rules).added, [], 'a store with no selected device does not join')
})
