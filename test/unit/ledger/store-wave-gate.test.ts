import t from 'tap'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { HubLedger } from '../../../src/ledger/hub-ledger.js'
import { BATCH_NOT_STARTED_REASON } from '../../../src/ledger/orders.js'
import { StoreWaveGate, WAVE_GATES_FILE } from '../../../src/ledger/store-wave-gate.js'
import type { WaveOrder } from '../../../src/ledger/report/index.js'

/** A gate over a real hub ledger, on a clock the test moves (the gate's "sent after first seen" rule). */
async function gateIn (dir: string): Promise<{ ledger: HubLedger, gate: StoreWaveGate, asked: () => number, clock: { ms: number } }> {
  const ledger = await HubLedger.open(dir)
  const clock = { ms: 1000 }
  let asks = 0
  const gate = await StoreWaveGate.open({ dataDir: dir, orders: ledger, ask: () => { asks++ }, monoNow: () => clock.ms })
  return { ledger, gate, asked: () => asks, clock }
}

const order = (waveId: string, action: WaveOrder['action'], reason: string, issuedAtMs: number): WaveOrder => ({ waveId, action, reason, issuedAtMs })

t.test('a wave never heard of holds, and asks the super hub once', async t => {
  const { ledger, gate, asked, clock } = await gateIn(t.testdir())
  t.teardown(async () => { await ledger.close() })
  const v = gate.check('145')
  t.equal(v.state, 'pending')
  t.equal(v.code, 'wave.store-pending')
  t.match(v.detail, /not heard from the super hub/)
  clock.ms++
  t.equal(gate.check('145').state, 'pending', 'still pending until an answer settles it')
  t.equal(asked(), 1, 'the uplink is asked at the first sight only')
  t.same(gate.view(), { pending: ['145'], local: [] })
})

t.test('the store\'s gate heard from the super hub decides: not started holds, resume opens, halt holds', async t => {
  const { ledger, gate, clock } = await gateIn(t.testdir())
  t.teardown(async () => { await ledger.close() })
  const sent = clock.ms
  t.equal(gate.check('145').state, 'pending')
  const answer = [order('145', 'pause', BATCH_NOT_STARTED_REASON, 10)]
  await ledger.applyOrders(answer, 'super')
  await gate.noteAnswer(sent, answer)
  const held = gate.check('145')
  t.equal(held.state, 'held')
  t.equal(held.code, 'wave.paused')
  t.match(held.detail, /batch has not started \(wave-batch-not-started\)/)
  await ledger.applyOrders([order('145', 'resume', '', 11)], 'super')
  t.equal(gate.check('145').state, 'open', 'the batch started: leases go ahead')
  await ledger.applyOrders([order('145', 'halt', 'rollback ratio 1 > 0.3', 12)], 'super')
  t.match(gate.check('145'), { state: 'held', code: 'fleet.halt', detail: /halted: rollback ratio/ })
})

t.test('an answer to a request sent before the first sight settles nothing; one sent after it does', async t => {
  const dir = t.testdir()
  const { ledger, gate, clock } = await gateIn(dir)
  t.teardown(async () => { await ledger.close() })
  const before = clock.ms
  clock.ms = 2000
  t.equal(gate.check('9').state, 'pending')
  await gate.noteAnswer(before, [order('145', 'resume', '', 5)])
  t.equal(gate.check('9').state, 'pending', 'the answer may have been built before the wave was seen')
  clock.ms = 3000
  await gate.noteAnswer(clock.ms, [order('145', 'resume', '', 5)])
  t.match(gate.check('9'), { state: 'local', detail: /no control plane runs it/ })
  // kept: a restarted hub with no WAN still knows wave 9 is the store's own
  const again = await StoreWaveGate.open({ dataDir: dir, orders: ledger })
  t.equal(again.check('9').state, 'local', 'reloaded from ' + WAVE_GATES_FILE)
  t.equal(again.check('10').state, 'pending', 'another wave is still asked about')
})

t.test('an order heard before a restart still holds offline (the hub ledger keeps it)', async t => {
  const dir = t.testdir()
  const first = await gateIn(dir)
  await first.ledger.applyOrders([order('145', 'halt', 'operator', 7)], 'super')
  t.equal(first.gate.check('145').state, 'held')
  await first.ledger.close()
  const second = await gateIn(dir)
  t.teardown(async () => { await second.ledger.close() })
  t.match(second.gate.check('145'), { state: 'held', code: 'fleet.halt' })
})

t.test('a local operator\'s order counts as the store\'s word too', async t => {
  const { ledger, gate } = await gateIn(t.testdir())
  t.teardown(async () => { await ledger.close() })
  await ledger.issueOrder(order('77', 'pause', 'field check', 3))
  t.match(gate.check('77'), { state: 'held', detail: /wave 77 paused: field check/ })
})

t.test('a corrupt gates file fails closed', async t => {
  const dir = t.testdir()
  await writeFile(join(dir, WAVE_GATES_FILE), '{"localWaves": "all"}')
  const ledger = await HubLedger.open(dir)
  t.teardown(async () => { await ledger.close() })
  await t.rejects(StoreWaveGate.open({ dataDir: dir, orders: ledger }), { code: 'E_INSTALL_STATE_INVALID' })
})
