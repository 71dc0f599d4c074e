import t from 'tap'
import { simulate } from '../../../src/sim/index.js'

// small enough for seconds: 24 stores of 8-16 devices, a 16 MiB bundle
const small = { stores: 24, devicesMin: 8, devicesMax: 16, bundleMiB: 16, fidelityStores: 6, fidelityMaxChunks: 16, horizonDays: 10 }

t.test('two runs with one seed give the same report, byte for byte; another seed another', async t => {
  const a = simulate(small)
  const b = simulate(small)
  t.equal(a.json, b.json)
  t.equal(a.html, b.html)
  t.not(simulate({ ...small, seed: 8 }).json, a.json)
})

t.test('the report adds up: outcomes, gates, WAN against the centre, no bricking', async t => {
  const r = simulate(small).report as Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any
  const ins = r.install
  t.equal(ins.bricked, 0)
  t.equal(ins.committed + ins.rolledBack + ins.refused + ins.pending, ins.devices)
  const finals = Object.values(r.gates.finalDeciding as Record<string, number>).reduce((a, b) => a + b, 0)
  t.equal(finals, ins.devices, 'one deciding gate per device')
  t.ok(ins.rolledBack > 0 && ins.halts.length === 1 && ins.halts[0].cls === 'kiosk', 'the bad kiosk bundle rolls back and halts its class')
  t.ok((r.gates.finalDeciding as Record<string, number>)['pending: fleet.halt'] > 0, 'kiosks not yet installed wait on fleet.halt')
  t.equal(ins.pendingHealthy, 0, 'every device with a good bundle reached an outcome')
  t.ok(r.wan.storemesh.bytes < r.wan.centre.bytes, 'the hub pulls once; every device pulling pulls N times')
  t.equal(r.wan.storemesh.bytes, r.fleet.stores * 16 * 2 ** 20)
  const last = r.ledgerCompleteness.at(-1)
  t.equal(last.inLedger, last.withOutcome, 'every outcome reached the super hub in the end')
})

t.test('the HTML is self-contained with inline SVG', async t => {
  const { html } = simulate(small)
  t.match(html, /<svg /)
  t.notMatch(html, /<script|src=|href=/)
})

t.test('waves run on the fleet plane\'s machine: batches of hubBudget stores, each after the last is healthy plus the delay', async t => {
  const r = simulate({ ...small, hubBudget: 8, batchDelayMinutes: 120 }).report as Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any
  const waves = r.rollout.waves as Array<{ cls: string, phase: string, batches: number, batchStartHours: number[], batchHealthyHours: number[] }>
  t.same(waves.map(w => w.cls).sort(), ['kiosk', 'pos', 'scanner'])
  t.equal(waves.find(w => w.cls === 'kiosk')?.phase, 'halted', 'the bad kiosk bundle halts its wave')
  for (const w of waves.filter(x => x.cls !== 'kiosk')) {
    t.equal(w.phase, 'done', `${w.cls} wave done`)
    t.equal(w.batches, 3, `${w.cls}: 24 stores in batches of 8`)
    for (let k = 1; k < w.batches; k++) {
      t.ok((w.batchStartHours[k] as number) >= (w.batchHealthyHours[k - 1] as number) + 2, `${w.cls} batch ${k + 1} starts 120 min or more after batch ${k} is healthy`)
    }
  }
})
