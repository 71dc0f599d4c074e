/** Prestage times per store window and zone (and a hub's own, from its policy), batch delays, and the halt rule with its minimum of outcomes. */
import t from 'tap'
import { haltVerdict, installOpensAtMs, nextBatchAtMs, policyPrestageAtMs, prestageAtMs, storeWindow } from '../../../../src/control/waves/index.js'
import { CHICAGO_OPENS, HOUR, MIN, T0 } from './fixtures.js'

t.test('pre-staging starts prestageHours before each store\'s own window, in its own zone', async t => {
  const policyWindow = { maintenanceWindow: 'Tue 02:00-04:00', timezone: 'America/Chicago' }
  const chicago = storeWindow({}, policyWindow)
  t.equal(installOpensAtMs(chicago, T0), CHICAGO_OPENS, 'the policy window in the policy zone')
  t.equal(prestageAtMs(chicago, 12, T0), CHICAGO_OPENS - 12 * HOUR)
  // same window text, a store in Berlin: Tue 02:00 CET = Tue 01:00 UTC
  const berlin = storeWindow({ timezone: 'Europe/Berlin' }, policyWindow)
  t.equal(installOpensAtMs(berlin, T0), Date.parse('2026-03-10T01:00:00Z'))
  t.equal(prestageAtMs(berlin, 12, T0), Date.parse('2026-03-09T13:00:00Z'))
  // a store with its own window
  const own = storeWindow({ maintenanceWindow: '23:00-23:30', timezone: 'UTC' }, policyWindow)
  t.equal(prestageAtMs(own, 2, T0), Date.parse('2026-03-09T21:00:00Z'))
})

t.test('pre-staging never starts before now; a store with no window pre-stages at once', async t => {
  const w = storeWindow({}, { maintenanceWindow: 'Tue 02:00-04:00', timezone: 'America/Chicago' })
  t.equal(prestageAtMs(w, 48, T0), T0, '48 h before a window 19 h away is now')
  t.equal(prestageAtMs(storeWindow({}, { timezone: 'UTC' }), 24, T0), T0)
  t.equal(prestageAtMs(w, 0, T0), CHICAGO_OPENS, '0 h: at the opening')
})

t.test('the next batch starts batchDelayMinutes after the previous one was healthy', async t => {
  t.equal(nextBatchAtMs(T0, 15), T0 + 15 * MIN)
  t.equal(nextBatchAtMs(T0, 0), T0)
})

t.test('halt: over the ratio only after minOutcomesForHalt outcomes; a resume re-arms on the next rollback', async t => {
  const rule = { haltOnRollbackRatio: 0.2, minOutcomesForHalt: 5 }
  t.match(haltVerdict({ updated: 0, rolledBack: 0 }, rule), { halt: false, ratio: undefined })
  t.match(haltVerdict({ updated: 1, rolledBack: 1 }, rule), { halt: false, ratio: 0.5, detail: /2 of the 5 outcomes/ })
  t.match(haltVerdict({ updated: 4, rolledBack: 1 }, rule), { halt: false, ratio: 0.2 }, 'at the ratio is not over it')
  t.match(haltVerdict({ updated: 3, rolledBack: 2 }, rule), { halt: true, ratio: 0.4, outcomes: 5 })
  t.match(haltVerdict({ updated: 3, rolledBack: 2 }, rule, 2), { halt: false, detail: /accepted by the operator/ })
  t.match(haltVerdict({ updated: 3, rolledBack: 3 }, rule, 2), { halt: true })
  t.match(haltVerdict({ updated: 0, rolledBack: 1 }, { haltOnRollbackRatio: 0.05, minOutcomesForHalt: 1 }), { halt: true }, 'the default minimum: the first rollback halts')
})

t.test('a hub\'s own pre-staging time for a signed policy: prestageHours before the policy window, undefined when due', async t => {
  const schedule = { maintenanceWindow: 'Tue 02:00-04:00', timezone: 'America/Chicago', prestageHours: 12 }
  t.equal(policyPrestageAtMs(schedule, T0), CHICAGO_OPENS - 12 * HOUR)
  t.equal(policyPrestageAtMs({ ...schedule, prestageHours: 48 }, T0), undefined, 'already inside the 48 h')
  t.equal(policyPrestageAtMs({ timezone: 'UTC', prestageHours: 12 }, T0), undefined, 'no window: at once')
})
