/** effectiveRollout: every value from the signed policy; a flag tightens, never loosens. */
import t from 'tap'
import { effectiveField, effectiveRollout, tightestPolicy } from '../../../../src/control/waves/index.js'
import { DEFAULT_MAX_CONCURRENT_PER_HUB, DEFAULT_MIN_OUTCOMES_FOR_HALT } from '../../../../src/policy/constants.js'
import { parsePolicy } from '../../../../src/policy/schema.js'
import { policy } from './fixtures.js'

t.test('with no flag every value and its source is the policy\'s', async t => {
  const r = effectiveRollout(policy())
  t.same(r.maxConcurrentPerHub, { value: 5, source: 'policy' })
  t.same(r.hubBudget, { value: 2, source: 'policy' })
  t.same(r.batchDelayMinutes, { value: 15, source: 'policy' })
  t.same(r.prestageHours, { value: 12, source: 'policy' })
  t.same(r.haltOnRollbackRatio, { value: 0.2, source: 'policy' })
  t.same(r.minOutcomesForHalt, { value: 4, source: 'policy' })
  t.same(r.percentage, { value: 100, source: 'policy' })
})

t.test('a tighter flag applies and says so; an equal one leaves the policy as the source', async t => {
  const r = effectiveRollout(policy(), { maxConcurrentPerHub: 2, hubBudget: 1, batchDelayMinutes: 60, prestageHours: 24, haltOnRollbackRatio: 0.1, minOutcomesForHalt: 2, percentage: 5 })
  t.same(r.maxConcurrentPerHub, { value: 2, source: 'flag' })
  t.same(r.hubBudget, { value: 1, source: 'flag' })
  t.same(r.batchDelayMinutes, { value: 60, source: 'flag' }, 'a longer delay is tighter')
  t.same(r.prestageHours, { value: 24, source: 'flag' }, 'earlier pre-staging is tighter')
  t.same(r.haltOnRollbackRatio, { value: 0.1, source: 'flag' })
  t.same(r.minOutcomesForHalt, { value: 2, source: 'flag' })
  t.same(r.percentage, { value: 5, source: 'flag' })
  t.same(effectiveField('maxConcurrentPerHub', policy(), 5), { value: 5, source: 'policy' })
})

t.test('a looser flag is refused with E_POLICY_CONFLICT naming the flag and both figures', async t => {
  const cases: Array<[Parameters<typeof effectiveField>[0], number]> = [
    ['maxConcurrentPerHub', 6], ['hubBudget', 3], ['batchDelayMinutes', 5], ['prestageHours', 1],
    ['haltOnRollbackRatio', 0.5], ['minOutcomesForHalt', 10], ['percentage', 100.5]
  ]
  for (const [field, flag] of cases) {
    t.throws(() => effectiveRollout(policy({}, { percentage: 100 }), { [field]: flag }), { code: 'E_POLICY_CONFLICT' }, `${field} ${flag}`)
  }
  t.throws(() => effectiveField('maxConcurrentPerHub', policy(), 9, '--max-concurrent-installs'),
    { code: 'E_POLICY_CONFLICT', message: /--max-concurrent-installs 9 would loosen the signed policy's spec\.rollout\.maxConcurrentPerHub 5/ })
})

t.test('tighten mode: a looser flag is set aside and the policy\'s figure applies', async t => {
  t.same(effectiveField('maxConcurrentPerHub', policy(), 9, '--max-concurrent-installs', 'tighten'), { value: 5, source: 'policy', overriddenFlag: 9 })
  t.same(effectiveField('batchDelayMinutes', policy(), 1, 'x', 'tighten'), { value: 15, source: 'policy', overriddenFlag: 1 })
  t.same(effectiveField('maxConcurrentPerHub', policy(), 2, 'x', 'tighten'), { value: 2, source: 'flag' }, 'a tighter flag still applies')
})

t.test('no hubBudget in the policy: no limit, and any flag tightens', async t => {
  const p = policy({}, { hubBudget: undefined })
  t.same(effectiveField('hubBudget', p, undefined), { value: undefined, source: 'policy' })
  t.same(effectiveField('hubBudget', p, 40), { value: 40, source: 'flag' })
})

t.test('without a signed policy the flag applies, else the schema default', async t => {
  t.same(effectiveField('maxConcurrentPerHub', undefined, 9), { value: 9, source: 'flag' })
  t.same(effectiveField('maxConcurrentPerHub', undefined, undefined), { value: DEFAULT_MAX_CONCURRENT_PER_HUB, source: 'default' })
  t.throws(() => effectiveField('maxConcurrentPerHub', undefined, Number.NaN), { code: 'E_INVALID_ARGUMENT' })
})

t.test('a policy signed before minOutcomesForHalt existed stays valid and takes the default', async t => {
  const old = policy()
  const body = JSON.parse(JSON.stringify(old)) as { spec: { rollout: Record<string, unknown> } }
  delete body.spec.rollout.minOutcomesForHalt
  t.equal(parsePolicy(body).spec.rollout.minOutcomesForHalt, DEFAULT_MIN_OUTCOMES_FOR_HALT)
})

t.test('tightestPolicy picks the policy with the tightest figure', async t => {
  const a = policy({ maxConcurrentPerHub: 5 })
  const b = policy({ maxConcurrentPerHub: 3 })
  t.equal(tightestPolicy('maxConcurrentPerHub', [a, b]), b)
  t.equal(tightestPolicy('batchDelayMinutes', [policy({ batchDelayMinutes: 1 }), policy({ batchDelayMinutes: 9 })])?.spec.rollout.batchDelayMinutes, 9)
  t.equal(tightestPolicy('maxConcurrentPerHub', []), undefined)
})
