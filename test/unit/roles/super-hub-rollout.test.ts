/**
 * The super hub's halt rule per wave from its signed policies: the policy's
 * haltOnRollbackRatio and minOutcomesForHalt, flags that only tighten (a looser one
 * refused), and the wave ledger halting each wave by its own rule.
 */
import t from 'tap'
import type { HubBatch, LedgerDelta } from '../../../src/ledger/report/index.js'
import { SuperLedger } from '../../../src/ledger/super-ledger.js'
import { parsePolicy, signPolicy } from '../../../src/policy/index.js'
import { superHubRollout } from '../../../src/roles/super-hub-rollout.js'
import { FIXTURE_KEY, FIXTURE_TRUST } from '../../support/bundles.js'

function signed (wave: number, rollout: Record<string, number>, name = `pos-w${wave}`): unknown {
  return signPolicy(parsePolicy({
    apiVersion: 'storemesh/v1',
    kind: 'RolloutPolicy',
    metadata: { name, wave },
    spec: { bundle: { id: 'b3:' + 'ef'.repeat(32), version: '1.0.0' }, rollout }
  }), [FIXTURE_KEY])
}

t.test('each wave takes its own policy\'s rule; a wave without one takes the flag or the default', async t => {
  const r = superHubRollout([signed(1, { haltOnRollbackRatio: 0.1, minOutcomesForHalt: 10 }), signed(2, { haltOnRollbackRatio: 0.3, minOutcomesForHalt: 5 })], FIXTURE_TRUST, { minOutcomesForHalt: 5 })
  t.match(r.ruleOf('1'), { haltOnRollbackRatio: { value: 0.1, source: 'policy' }, minOutcomesForHalt: { value: 5, source: 'flag' }, policyName: 'pos-w1' })
  t.match(r.ruleOf('2'), { haltOnRollbackRatio: { value: 0.3, source: 'policy' }, minOutcomesForHalt: { value: 5, source: 'policy' } }, 'a flag equal to the policy: source policy')
  t.match(r.ruleOf('3'), { haltOnRollbackRatio: { value: 0.05, source: 'default' }, minOutcomesForHalt: { value: 5, source: 'flag' } }, 'no policy for wave 3')
})

t.test('a flag looser than a policy is refused; two policies for one wave are refused', async t => {
  t.throws(() => superHubRollout([signed(1, { haltOnRollbackRatio: 0.05 })], FIXTURE_TRUST, { haltOnRollbackRatio: 0.5 }),
    { code: 'E_POLICY_CONFLICT', message: /--halt-on-rollback-ratio 0\.5 would loosen the signed policy's spec\.rollout\.haltOnRollbackRatio 0\.05/ })
  t.throws(() => superHubRollout([signed(1, { minOutcomesForHalt: 3 })], FIXTURE_TRUST, { minOutcomesForHalt: 20 }), { code: 'E_POLICY_CONFLICT' })
  t.throws(() => superHubRollout([signed(1, {}, 'a'), signed(1, {}, 'b')], FIXTURE_TRUST, {}), { code: 'E_INVALID_ARGUMENT' })
  t.throws(() => superHubRollout([], FIXTURE_TRUST, { haltOnRollbackRatio: 2 }), { code: 'E_INVALID_ARGUMENT' })
  t.same(superHubRollout([], FIXTURE_TRUST, { haltOnRollbackRatio: 0.5 }).ruleOf('9').haltOnRollbackRatio, { value: 0.5, source: 'flag' })
  t.same(superHubRollout([], FIXTURE_TRUST, {}).ruleOf('9').haltOnRollbackRatio, { value: 0.05, source: 'default' })
})

t.test('the wave ledger halts each wave by its own policy\'s ratio and minimum of outcomes', async t => {
  const r = superHubRollout([signed(1, { haltOnRollbackRatio: 0.2, minOutcomesForHalt: 4 }), signed(2, { haltOnRollbackRatio: 0.2, minOutcomesForHalt: 2 })], FIXTURE_TRUST, {})
  const ledger = await SuperLedger.open(t.testdir(), {
    haltOnRollbackRatio: w => r.ruleOf(w).haltOnRollbackRatio.value,
    minOutcomesForHalt: w => r.ruleOf(w).minOutcomesForHalt.value,
    describeRule: w => ({ ...r.ruleOf(w) })
  })
  t.teardown(async () => { await ledger.close() })
  const d = (seq: number, waveId: string, deviceId: string, state: LedgerDelta['state']): LedgerDelta => ({ seq, waveId, deviceId, state, version: seq, atMs: 1 })
  const batch = (entries: LedgerDelta[]): HubBatch => ({ type: 'hub-ledger', hubId: 'store-1', epoch: '1'.repeat(32), entries })
  // 1 rollback of 2 outcomes in each wave: ratio 0.5 > 0.2
  await ledger.acceptHubBatch(batch([d(1, '1', 'a', 'rolled-back'), d(2, '1', 'b', 'updated'), d(3, '2', 'c', 'rolled-back'), d(4, '2', 'e', 'updated')]))
  t.notOk(ledger.isWaveHalted('1'), 'wave 1 wants 4 outcomes')
  t.ok(ledger.isWaveHalted('2'), 'wave 2 wants 2')
  await ledger.acceptHubBatch(batch([d(5, '1', 'f', 'updated'), d(6, '1', 'g', 'rolled-back')]))
  t.ok(ledger.isWaveHalted('1'), '2 of 4 rolled back')
  const w1 = (await ledger.waves()).find(w => w.waveId === '1')
  t.match(w1, { minOutcomesForHalt: 4, haltOnRollbackRatio: 0.2, rule: { haltOnRollbackRatio: { source: 'policy' }, policyName: 'pos-w1' } })
})
