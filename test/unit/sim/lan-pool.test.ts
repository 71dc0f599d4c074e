import t from 'tap'
import { makeFleet } from '../../../src/sim/fleet-setup.js'
import { SIM_START_MS } from '../../../src/sim/fleet.js'
import { simulate, simulateParallel } from '../../../src/sim/index.js'
import { lanJobOf, runLanJobs } from '../../../src/sim/lan-pool.js'
import { resolveParams } from '../../../src/sim/params.js'

// the fleet test's small fleet: seconds, not minutes, on 2 shared cores
const small = { stores: 24, devicesMin: 8, devicesMax: 16, bundleMiB: 16, fidelityStores: 6, fidelityMaxChunks: 16, horizonDays: 10 }

t.test('worker threads give the in-thread results, merged in store order whatever finished first', async t => {
  const p = resolveParams({ ...small, devicesMin: 2, devicesMax: 24 })
  const stores = makeFleet(p, SIM_START_MS).slice(0, 8)
  // the largest store first: on two workers it finishes after smaller ones sent later
  const jobs = stores.map(lanJobOf).sort((a, b) => b.upBps.length - a.upBps.length)
  const done: number[] = []
  const inThread = await runLanJobs(jobs, p, { workers: 0 })
  const pooled = await runLanJobs(jobs, p, { workers: 2, onDone: d => done.push(d) })
  t.same([...pooled.keys()], jobs.map(j => j.index), 'keys in job order')
  t.same([...pooled.values()], [...inThread.values()], 'each store the same result')
  t.same(done, jobs.map((_, k) => k + 1), 'progress once per store')
  t.ok([...pooled.values()].every(o => o.fidelity && Number.isFinite(o.makespanMs)))
})

t.test('the report of a seed is byte for byte the same with a pool of workers as in one thread', async t => {
  const one = simulate(small)
  const two = await simulateParallel(small, {}, { workers: 2 })
  t.equal(two.json, one.json)
  t.equal(two.html, one.html)
})

t.test('a worker that fails rejects the run and names the store', async t => {
  const p = resolveParams(small)
  const [s] = makeFleet(p, SIM_START_MS)
  const job = { ...lanJobOf(s!), upBps: [Number.NaN], downBps: [] }
  await t.rejects(runLanJobs([job], p, { workers: 0 }), { code: 'E_SIM_PARAM' })
  await t.rejects(runLanJobs([job], p, { workers: 1 }), /lan worker: store 0: .*upload and a download rate/)
})
