import t from 'tap'
import { join } from 'node:path'
import type { HubBatch, LedgerDelta } from '../../../src/ledger/report/index.js'
import { SuperLedger } from '../../../src/ledger/super-ledger.js'

const E1 = '1'.repeat(32)
const E2 = '2'.repeat(32)

function delta (seq: number, deviceId: string, state: LedgerDelta['state'], version = seq, waveId = '142', gate?: string): LedgerDelta {
  return { seq, waveId, deviceId, state, version, atMs: 1, ...(gate !== undefined ? { gate } : {}) }
}

function hubBatch (hubId: string, entries: LedgerDelta[], epoch = E1): HubBatch {
  return { type: 'hub-ledger', hubId, epoch, entries }
}

t.test('totals are exact: resends and replays are skipped by (hub, outbox seq)', async t => {
  const ledger = await SuperLedger.open(t.testdir(), { haltOnRollbackRatio: 1 })
  t.teardown(async () => { await ledger.close() })
  const a = [delta(1, 'pos-1', 'pending'), delta(2, 'pos-2', 'blocked', 2, '142', 'schedule.window'), delta(5, 'pos-1', 'updated')]
  t.equal((await ledger.acceptHubBatch(hubBatch('store-1', a))).ackedSeq, 5)
  t.equal((await ledger.acceptHubBatch(hubBatch('store-1', a))).ackedSeq, 5, 'resend: same ack')
  t.equal((await ledger.acceptHubBatch(hubBatch('store-1', a.slice(0, 2)))).ackedSeq, 5, 'an older prefix: still the watermark')
  await ledger.acceptHubBatch(hubBatch('store-2', [delta(1, 'kiosk-1', 'rolled-back')]))
  const c = await ledger.waveTotals('142')
  t.same(c, { updated: 1, rolledBack: 1, failed: 0, pending: 0, blocked: 1, total: 3, blockedByGate: { 'schedule.window': 1 }, failedByReason: {} })
  t.same((await ledger.hubs()).map(h => [h.hubId, h.ackedSeq]), [['store-1', 5], ['store-2', 1]])
  t.same((await ledger.devices('142')).map(d => `${d.deviceId}@${d.hubId}:${d.state}`), ['kiosk-1@store-2:rolled-back', 'pos-1@store-1:updated', 'pos-2@store-1:blocked'])
  const empty = await ledger.acceptHubBatch(hubBatch('store-1', []))
  t.equal(empty.ackedSeq, 5, 'a poll answers the watermark')
})

t.test('a new hub epoch restarts its outbox seq; a device that moved counts once', async t => {
  const ledger = await SuperLedger.open(t.testdir(), { haltOnRollbackRatio: 1 })
  t.teardown(async () => { await ledger.close() })
  await ledger.acceptHubBatch(hubBatch('store-1', [delta(7, 'pos-1', 'pending', 10)]))
  // rebuilt ledger on the hub: seq starts at 1 again
  const ack = await ledger.acceptHubBatch(hubBatch('store-1', [delta(1, 'pos-1', 'updated', 12)], E2))
  t.equal(ack.ackedSeq, 1)
  t.equal((await ledger.waveTotals('142')).updated, 1)
  // pos-1 moved to store-2, whose older news (version 11) must not win; newer does
  await ledger.acceptHubBatch(hubBatch('store-2', [delta(1, 'pos-1', 'pending', 11)]))
  t.same(await ledger.devices('142').then(d => d.map(x => `${x.hubId}:${x.state}`)), ['store-1:updated'])
  await ledger.acceptHubBatch(hubBatch('store-2', [delta(2, 'pos-1', 'rolled-back', 15)]))
  const c = await ledger.waveTotals('142')
  t.same([c.updated, c.rolledBack, c.total], [0, 1, 1], 'one device, counted once')
})

t.test('a rollback ratio over the limit halts the wave, and the halt is in every answer', async t => {
  const dir = t.testdir()
  const halts: string[] = []
  let ledger = await SuperLedger.open(dir, { haltOnRollbackRatio: (w) => (w === '142' ? 0.2 : undefined), onOrder: (o, s) => halts.push(`${s}:${o.waveId}`) })
  t.equal(ledger.haltOnRollbackRatio('142'), 0.2)
  t.equal(ledger.haltOnRollbackRatio('7'), 0.05, 'the default for other waves')
  // 4 updated, 1 rolled back: 0.2, not over
  const updated = [1, 2, 3, 4].map(i => delta(i, `pos-${i}`, 'updated'))
  let ack = await ledger.acceptHubBatch(hubBatch('store-1', [...updated, delta(5, 'pos-5', 'rolled-back')]))
  t.same(ack.orders, [], 'at the limit: no halt')
  t.notOk(ledger.isWaveHalted('142'))
  ack = await ledger.acceptHubBatch(hubBatch('store-2', [delta(1, 'kiosk-1', 'rolled-back')]))
  t.ok(ledger.isWaveHalted('142'), '2 of 6 > 0.2')
  t.equal(ack.orders.length, 1)
  t.match(ack.orders[0], { waveId: '142', action: 'halt', reason: /rollback ratio 0\.3333 > 0\.2 \(2 of 6/ })
  const other = await ledger.acceptHubBatch(hubBatch('store-1', []))
  t.same(other.orders, ack.orders, 'the other hub gets it on its next exchange')
  t.same(halts, ['auto:142'])
  // an operator resumes; the next rollback while over the limit halts again
  t.ok(await ledger.issueOrder({ waveId: '142', action: 'resume', reason: 'investigated', issuedAtMs: Date.now() + 1000 }))
  t.notOk(ledger.isWaveHalted('142'))
  await ledger.acceptHubBatch(hubBatch('store-1', [delta(6, 'pos-6', 'updated')]))
  t.notOk(ledger.isWaveHalted('142'), 'an update does not re-halt')
  await ledger.close()
  ledger = await SuperLedger.open(dir, { haltOnRollbackRatio: 0.2 })
  t.teardown(async () => { await ledger.close() })
  t.equal(ledger.order('142')?.action, 'resume', 'orders persist')
  await ledger.acceptHubBatch(hubBatch('store-1', [delta(7, 'pos-7', 'rolled-back')]))
  t.ok(ledger.isWaveHalted('142'), '3 of 8 rolled back: halted again')
  t.ok(ledger.order('142')!.issuedAtMs > Date.now() + 500, 'the new halt supersedes the resume whatever the clock')
  const w = (await ledger.waves())[0]!
  t.match(w, { waveId: '142', halted: true, haltOnRollbackRatio: 0.2, rollbackRatio: 3 / 8 })
})

t.test('min outcomes, and bad thresholds', async t => {
  const ledger = await SuperLedger.open(t.testdir(), { haltOnRollbackRatio: 0.05, minOutcomesForHalt: 3 })
  t.teardown(async () => { await ledger.close() })
  await ledger.acceptHubBatch(hubBatch('s', [delta(1, 'a', 'rolled-back'), delta(2, 'b', 'pending')]))
  t.notOk(ledger.isWaveHalted('142'), 'one outcome is too few to judge')
  await ledger.acceptHubBatch(hubBatch('s', [delta(3, 'c', 'updated'), delta(4, 'd', 'rolled-back')]))
  t.ok(ledger.isWaveHalted('142'))
  await t.rejects(SuperLedger.open(join(t.testdir(), 'other'), { haltOnRollbackRatio: 2 }), { code: 'E_INVALID_ARGUMENT' })
})
