/** Wave selection: deterministic, the device gate's own rule, only grows with the percentage; batches of hubBudget stores. */
import fc from 'fast-check'
import t from 'tap'
import { batchesOf, orderStores, planWave, selectDevices, effectiveRollout } from '../../../../src/control/waves/index.js'
import { isAdmitted } from '../../../../src/policy/wave.js'
import { fleet, policy } from './fixtures.js'

const deviceIds = fc.uniqueArray(fc.string({ minLength: 1, maxLength: 24 }), { maxLength: 200 })
const pct = fc.double({ min: 0, max: 100, noNaN: true })

t.test('a re-run selects the same devices, in the order given', async t => {
  fc.assert(fc.property(fc.string({ minLength: 1, maxLength: 32 }), deviceIds, pct, (name, ids, p) => {
    const a = selectDevices(name, p, ids)
    const b = selectDevices(name, p, [...ids])
    return JSON.stringify(a) === JSON.stringify(b) && a.every(id => ids.includes(id))
  }))
})

t.test('a larger percentage only adds devices', async t => {
  fc.assert(fc.property(fc.string({ minLength: 1, maxLength: 32 }), deviceIds, pct, pct, (name, ids, x, y) => {
    const [lo, hi] = x <= y ? [x, y] : [y, x]
    const small = selectDevices(name, lo, ids)
    const large = new Set(selectDevices(name, hi, ids))
    return small.every(id => large.has(id))
  }))
})

t.test('the control plane selects exactly the devices whose wave.admitted gate passes', async t => {
  fc.assert(fc.property(deviceIds, pct, (ids, p) => {
    const sel = new Set(selectDevices('pos-q4', p, ids))
    return ids.every(id => sel.has(id) === isAdmitted('pos-q4', id, p))
  }))
})

t.test('batches hold at most hubBudget stores, cover every store once, and keep a stable order', async t => {
  fc.assert(fc.property(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { maxLength: 60 }), fc.integer({ min: 1, max: 70 }), (ids, budget) => {
    const ordered = orderStores('pos-q4', ids)
    const batches = batchesOf(ordered, budget)
    const flat = batches.flat()
    return batches.every(b => b.length >= 1 && b.length <= budget) &&
      flat.length === ids.length && new Set(flat).size === ids.length &&
      JSON.stringify(orderStores('pos-q4', [...ids].reverse())) === JSON.stringify(ordered)
  }))
  t.same(batchesOf(['a', 'b', 'c'], undefined), [['a', 'b', 'c']], 'no hubBudget: one batch')
  t.same(batchesOf([], 2), [])
})

t.test('planWave: selected devices per store, stores with none left out, batches of hubBudget', async t => {
  const p = policy({}, { percentage: 30, hubBudget: 3 })
  const stores = fleet(10, 20)
  const plan = planWave({ waveId: '142', policyName: p.metadata.name, schedule: p.spec.schedule, rollout: effectiveRollout(p), stores })
  let selected = 0
  for (const s of stores) {
    const n = selectDevices('pos-q4', 30, s.deviceIds).length
    selected += n
    if (n === 0) t.notOk(s.storeId in plan.stores, `${s.storeId} has no selected device and is not in the plan`)
    else t.equal(plan.stores[s.storeId]?.selected, n, `${s.storeId}: ${n} selected`)
  }
  t.ok(selected > 0 && selected < 200, `30 % of 200 devices selected: ${selected}`)
  t.ok(plan.batches.every(b => b.length <= 3), 'at most hubBudget stores per batch')
  t.same(plan.batches.flat().sort(), Object.keys(plan.stores).sort())
  t.equal(plan.phase, 'planned')
  const again = planWave({ waveId: '142', policyName: p.metadata.name, schedule: p.spec.schedule, rollout: effectiveRollout(p), stores })
  t.same(again, plan, 'a re-plan is identical')
})

t.test('planWave refuses a store listed twice or with a bad zone or window', async t => {
  const p = policy()
  const input = { waveId: '1', policyName: 'pos-q4', schedule: p.spec.schedule, rollout: effectiveRollout(p) }
  t.throws(() => planWave({ ...input, stores: [{ storeId: 'a', deviceIds: ['x'] }, { storeId: 'a', deviceIds: ['y'] }] }), { code: 'E_INVALID_ARGUMENT' })
  t.throws(() => planWave({ ...input, stores: [{ storeId: 'a', deviceIds: ['x'], timezone: 'Mars/Olympus' }] }), { code: 'E_INVALID_ARGUMENT' })
  t.throws(() => planWave({ ...input, stores: [{ storeId: 'a', deviceIds: ['x'], maintenanceWindow: '25:00-26:00' }] }))
})
