import t from 'tap'
import { makeFleet } from '../../../src/sim/fleet-setup.js'
import { SIM_START_MS } from '../../../src/sim/fleet.js'
import { lanBoundMs, LanSampler, type LanSample } from '../../../src/sim/lan-sampler.js'
import { resolveParams } from '../../../src/sim/params.js'
import { Rng } from '../../../src/sim/rng.js'

t.test('stores of one size draw from every full-fidelity sample of that size, not from the fastest fifth', async t => {
  const p = resolveParams({ stores: 4, devicesMin: 50, devicesMax: 50, fidelityStores: 0 })
  const [store] = makeFleet(p, SIM_START_MS)
  if (store === undefined) throw new Error('no store')
  // ten samples of the same size, makespan ratios 1..10
  const samples: LanSample[] = Array.from({ length: 10 }, (_, i) => ({ n: store.devices.length, ratio: i + 1, shares: [0.5, 1], hubCopies: 1 }))
  const sampler = new LanSampler(samples)
  const rng = new Rng(7)
  const seen = new Set<number>()
  for (let i = 0; i < 400; i++) {
    const o = sampler.draw(store, p, rng.fork(i))
    seen.add(Math.round(o.makespanMs / lanBoundMs(store, p)))
  }
  // a tie cut at the k-th (k = 5 of 10) kept ratios 1..5 only
  t.same([...seen].sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'every ratio is drawn')
})

t.test('stores of another size draw from the nearest sizes only', async t => {
  const p = resolveParams({ stores: 4, devicesMin: 50, devicesMax: 50, fidelityStores: 0 })
  const [store] = makeFleet(p, SIM_START_MS)
  if (store === undefined) throw new Error('no store')
  // five samples at the store's size (ratio 1), five at 6x its size (ratio 9)
  const samples: LanSample[] = [
    ...Array.from({ length: 5 }, () => ({ n: store.devices.length, ratio: 1, shares: [1], hubCopies: 1 })),
    ...Array.from({ length: 5 }, () => ({ n: 6 * store.devices.length, ratio: 9, shares: [1], hubCopies: 1 }))
  ]
  const sampler = new LanSampler(samples)
  const rng = new Rng(9)
  for (let i = 0; i < 50; i++) {
    const o = sampler.draw(store, p, rng.fork(i))
    if (Math.round(o.makespanMs / lanBoundMs(store, p)) !== 1) { t.fail(`draw ${i} came from the far size`); return }
  }
  t.pass('50 draws, all from the store\'s own size')
})
