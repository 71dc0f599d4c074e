/**
 * Properties of the wave state machine over random event sequences (fast-check): never
 * more than hubBudget stores installing at once, batches start in order, nothing starts
 * while paused or halted, only `resume` leaves `halted`, and the input state is never
 * modified. Seeded so the suite is repeatable (95451287 found that a resume starts the
 * batch that became due while halted, which the first statement of the rule forbade).
 */
import fc from 'fast-check'
import t from 'tap'
import { effectiveRollout, planWave, storeSettled, transition, waveRulesOf, type WaveEvent, type WaveState } from '../../../../src/control/waves/index.js'
import { fleet, MIN, policy, T0 } from './fixtures.js'

const HUB_BUDGET = 2
const P = policy({ batchDelayMinutes: 5, haltOnRollbackRatio: 0.3, minOutcomesForHalt: 3 }, { hubBudget: HUB_BUDGET }, { maintenanceWindow: undefined })
const ROLLOUT = effectiveRollout(P)
const RULES = waveRulesOf(ROLLOUT)
const STORES = fleet(7, 2)

/** An abstract step, resolved against the current state so counts only grow (as a ledger reports them). */
const step = fc.oneof(
  fc.constant({ kind: 'start' as const }),
  fc.record({ kind: fc.constant('tick' as const), minutes: fc.integer({ min: 0, max: 30 }) }),
  fc.record({ kind: fc.constant('prestaged' as const), store: fc.nat(6) }),
  fc.record({ kind: fc.constant('outcome' as const), store: fc.nat(6), rolledBack: fc.boolean() }),
  fc.constant({ kind: 'pause' as const }),
  fc.constant({ kind: 'halt' as const }),
  fc.constant({ kind: 'resume' as const })
)
type Step = typeof step extends fc.Arbitrary<infer S> ? S : never

function eventOf (s: WaveState, st: Step): WaveEvent | undefined {
  switch (st.kind) {
    case 'start': case 'pause': case 'resume': return st.kind === 'pause' ? { type: 'pause', reason: 'p' } : { type: st.kind }
    case 'halt': return { type: 'halt', reason: 'h' }
    case 'tick': return { type: 'tick' }
    case 'prestaged': {
      const id = `store-${st.store}`
      return id in s.stores ? { type: 'prestaged', storeId: id } : undefined
    }
    case 'outcome': {
      const p = s.stores[`store-${st.store}`]
      // a device reports only once its store was told to install
      if (p === undefined || !p.started || storeSettled(p)) return undefined
      return { type: 'outcomes', stores: [{ storeId: `store-${st.store}`, updated: p.updated + (st.rolledBack ? 0 : 1), rolledBack: p.rolledBack + (st.rolledBack ? 1 : 0) }] }
    }
  }
}

t.test('random event sequences keep the wave\'s invariants', async t => {
  fc.assert(fc.property(fc.array(step, { maxLength: 80 }), steps => {
    let s = planWave({ waveId: '1', policyName: P.metadata.name, schedule: P.spec.schedule, rollout: ROLLOUT, stores: STORES })
    let now = T0
    for (const st of steps) {
      if (st.kind === 'tick') now += st.minutes * MIN
      const e = eventOf(s, st)
      if (e === undefined) continue
      const before = JSON.stringify(s)
      const r = transition(s, e, now, RULES)
      if (JSON.stringify(s) !== before) return false
      const starts = r.actions.filter(a => a.type === 'start-store')
      // a resume may start the batch that was due (that is what it is for); nothing else
      // starts a store out of a pause or halt, and nothing starts into one
      if (starts.length > 0 && e.type !== 'resume' && (s.phase === 'paused' || s.phase === 'halted')) return false
      if (starts.length > 0 && (r.state.phase === 'paused' || r.state.phase === 'halted')) return false
      if (s.phase === 'halted' && r.state.phase !== 'halted' && e.type !== 'resume') return false
      s = r.state
      const installing = Object.values(s.stores).filter(p => p.started && !storeSettled(p)).length
      if (installing > HUB_BUDGET) return false
      // started stores are exactly the batches up to the current one
      for (const [k, ids] of s.batches.entries()) {
        for (const id of ids) if (s.stores[id]!.started !== (k <= s.batch)) return false
      }
    }
    return true
  }), { numRuns: 1000, seed: 95451287 })
})
