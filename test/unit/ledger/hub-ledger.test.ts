import t from 'tap'
import type { JournalEntry } from '../../../src/interface/types.js'
import { HubLedger } from '../../../src/ledger/hub-ledger.js'
import type { DeviceBatch } from '../../../src/ledger/report/index.js'

const at = '2025-01-01T00:00:00.000Z'

/** A device's journal for one wave: blocked, then installing, then an outcome. */
function history (outcome: 'committed' | 'rolled-back', wave = '142'): Array<Omit<JournalEntry, 'seq' | 'at'>> {
  return [
    { kind: 'decision', waveId: wave, reason: 'schedule.window', data: { verdict: 'defer', gate: 'schedule.window' } },
    { kind: 'decision', waveId: wave, data: { verdict: 'install' } },
    { kind: 'transition', waveId: wave, from: 'idle', to: 'staged' },
    { kind: 'transition', waveId: wave, from: 'staged', to: 'writing' },
    { kind: 'note', detail: 'rebooting' },
    { kind: 'transition', waveId: wave, from: 'verified', to: 'try-boot' },
    { kind: 'transition', waveId: wave, from: 'booted-trial', to: outcome }
  ]
}

function numbered (events: Array<Omit<JournalEntry, 'seq' | 'at'>>, from = 1): JournalEntry[] {
  return events.map((e, i) => ({ seq: from + i, at, ...e }))
}

function batch (deviceId: string, entries: JournalEntry[]): DeviceBatch {
  return { type: 'device-events', deviceId, entries }
}

t.test('condenses device batches per wave and acks the batch', async t => {
  const dir = t.testdir()
  const ledger = await HubLedger.open(dir)
  t.teardown(async () => { await ledger.close() })
  const a = numbered(history('committed'))
  const b = numbered(history('rolled-back'))
  const ackA = await ledger.acceptDeviceBatch(batch('pos-1', a.slice(0, 3)))
  t.equal(ackA.ackedSeq, 3)
  t.same(await ledger.waveCounts('142'), { updated: 0, rolledBack: 0, failed: 0, pending: 1, blocked: 0, total: 1, blockedByGate: {}, failedByReason: {} })
  await ledger.acceptDeviceBatch(batch('pos-1', a.slice(3)))
  await ledger.acceptDeviceBatch(batch('pos-2', b.slice(0, 1)))
  let c = await ledger.waveCounts('142')
  t.same([c.updated, c.blocked, c.total], [1, 1, 2])
  t.same(c.blockedByGate, { 'schedule.window': 1 })
  await ledger.acceptDeviceBatch(batch('pos-2', b.slice(1)))
  c = await ledger.waveCounts('142')
  t.same([c.updated, c.rolledBack, c.pending, c.blocked, c.total], [1, 1, 0, 0, 2])
  const waves = await ledger.waves()
  t.equal(waves.length, 1)
  t.equal(waves[0]!.rollbackRatio, 0.5)
  t.same((await ledger.devices('142')).map(d => [d.deviceId, d.state]), [['pos-1', 'updated'], ['pos-2', 'rolled-back']])
  t.equal((await ledger.deviceEvents('pos-1')).length, 7, 'raw entries kept, notes too')
  t.equal((await ledger.device('pos-1'))?.maxSeq, 7)
  const empty = await ledger.acceptDeviceBatch(batch('pos-3', []))
  t.equal(empty.ackedSeq, 0, 'an empty batch is a poll')
})

t.test('duplicate and out-of-order batches count once', async t => {
  const dir = t.testdir()
  const devices = Array.from({ length: 6 }, (_, i) => ({ id: `pos-${i}`, entries: numbered(history(i % 3 === 0 ? 'rolled-back' : 'committed')) }))
  // reference: everything once, in order
  const ref = await HubLedger.open(t.testdir())
  for (const d of devices) await ref.acceptDeviceBatch(batch(d.id, d.entries))
  const expected = await ref.waveCounts('142')
  await ref.close()
  t.same([expected.updated, expected.rolledBack], [4, 2])

  const ledger = await HubLedger.open(dir)
  // every device's entries in overlapping windows, newest window first, each sent twice
  for (const d of devices) {
    const windows = [d.entries.slice(4), d.entries.slice(2, 6), d.entries.slice(0, 3), d.entries]
    for (const w of windows) {
      await ledger.acceptDeviceBatch(batch(d.id, w))
      await ledger.acceptDeviceBatch(batch(d.id, w))
    }
  }
  t.same(await ledger.waveCounts('142'), expected, 'same counts as in-order, once')
  const outbox = await ledger.readOutbox({ limit: 1000 })
  t.equal(outbox.length, devices.length, 'one coalesced outbox entry per device')
  t.same(outbox.map(o => o.state).sort(), ['rolled-back', 'rolled-back', 'updated', 'updated', 'updated', 'updated'])
  await ledger.close()
  // a restart changes nothing; a resend after it is still a duplicate
  const again = await HubLedger.open(dir)
  t.teardown(async () => { await again.close() })
  for (const d of devices) await again.acceptDeviceBatch(batch(d.id, d.entries))
  t.same(await again.waveCounts('142'), expected)
  t.equal((await again.readOutbox({ limit: 1000 })).length, devices.length)
})

t.test('the outbox: monotonic seq, coalesced until acked, ack deletes and persists', async t => {
  const dir = t.testdir()
  let ledger = await HubLedger.open(dir)
  const e = numbered(history('committed'))
  await ledger.acceptDeviceBatch(batch('pos-1', e.slice(0, 1)))
  let out = await ledger.readOutbox()
  t.same(out.map(o => [o.seq, o.state, o.gate]), [[1, 'blocked', 'schedule.window']])
  await ledger.ackOutbox(1)
  await ledger.acceptDeviceBatch(batch('pos-1', e.slice(1, 3)))
  out = await ledger.readOutbox()
  t.same(out.map(o => [o.seq, o.state]), [[2, 'pending']], 'blocked → pending: one change')
  await ledger.acceptDeviceBatch(batch('pos-1', e.slice(3)))
  out = await ledger.readOutbox()
  t.same(out.map(o => [o.seq, o.state, o.version]), [[3, 'updated', 7]], 'the unacked pending was replaced')
  t.same(await ledger.outboxStatus(), { nextSeq: 4, ackedSeq: 1, pending: 1 })
  const epoch = ledger.epoch
  await ledger.close()
  ledger = await HubLedger.open(dir)
  t.teardown(async () => { await ledger.close() })
  t.equal(ledger.epoch, epoch, 'the epoch persists')
  t.same(await ledger.outboxStatus(), { nextSeq: 4, ackedSeq: 1, pending: 1 })
  await ledger.ackOutbox(99)
  t.same(await ledger.outboxStatus(), { nextSeq: 4, ackedSeq: 3, pending: 0 }, 'an ack past the end is clamped')
  await ledger.ackOutbox(2)
  t.equal((await ledger.outboxStatus()).ackedSeq, 3, 'an old ack does nothing')
  t.same(await ledger.readOutbox(), [])
  // byte-limited reads still return one entry
  for (let i = 0; i < 5; i++) await ledger.acceptDeviceBatch(batch(`kiosk-${i}`, numbered(history('committed')).slice(0, 1)))
  t.equal((await ledger.readOutbox({ maxBytes: 1 })).length, 1)
  t.equal((await ledger.readOutbox({ limit: 3 })).length, 3)
})

t.test('orders persist, the newest wins, and answers carry them', async t => {
  const dir = t.testdir()
  const seen: string[] = []
  let ledger = await HubLedger.open(dir, { onOrder: (o, s) => seen.push(`${s}:${o.action}`) })
  t.notOk(ledger.isWaveHalted('142'))
  t.same(await ledger.applyOrders([{ waveId: '142', action: 'halt', reason: 'rollback ratio 0.5 > 0.05', issuedAtMs: 100 }], 'super'), [
    { waveId: '142', action: 'halt', reason: 'rollback ratio 0.5 > 0.05', issuedAtMs: 100 }
  ])
  t.same(await ledger.applyOrders([{ waveId: '142', action: 'resume', reason: '', issuedAtMs: 50 }], 'super'), [], 'an older order is ignored')
  t.ok(ledger.isWaveHalted('142'))
  t.same(ledger.fleetFacts('142'), { paused: false, halted: true, reason: 'rollback ratio 0.5 > 0.05' })
  t.ok(await ledger.issueOrder({ waveId: '143', action: 'pause', reason: 'SRE: scanner firmware', issuedAtMs: 10 }))
  t.ok(ledger.isWavePaused('143'))
  await t.rejects(ledger.issueOrder({ waveId: 'bad wave', action: 'pause', reason: '', issuedAtMs: 1 }), { code: 'E_INVALID_ARGUMENT' })
  const ack = await ledger.acceptDeviceBatch(batch('pos-1', []))
  t.same(ack.orders.map(o => o.waveId), ['142', '143'], 'device answers carry the orders, newest first')
  t.same(seen, ['super:halt', 'local:pause'])
  await ledger.close()
  ledger = await HubLedger.open(dir)
  t.teardown(async () => { await ledger.close() })
  t.ok(ledger.isWaveHalted('142'), 'the halt is obeyed after a restart, with no super hub')
  t.ok(ledger.isWavePaused('143'))
  t.same((await ledger.waves()).map(w => [w.waveId, w.halted, w.paused]), [['142', true, false], ['143', false, true]])
  await ledger.applyOrders([{ waveId: '142', action: 'resume', reason: 'fixed', issuedAtMs: 200 }], 'super')
  t.notOk(ledger.isWaveHalted('142'))
})

t.test('raw entries are pruned per device; condensed state is not', async t => {
  const ledger = await HubLedger.open(t.testdir(), { maxEventsPerDevice: 3 })
  t.teardown(async () => { await ledger.close() })
  const e = numbered(history('committed'))
  await ledger.acceptDeviceBatch(batch('pos-1', e.slice(0, 2)))
  await ledger.acceptDeviceBatch(batch('pos-1', e.slice(2)))
  t.same((await ledger.deviceEvents('pos-1')).map(x => x.seq), [5, 6, 7])
  t.equal((await ledger.device('pos-1'))?.prunedThrough, 4)
  await ledger.acceptDeviceBatch(batch('pos-1', e))
  t.equal((await ledger.waveCounts('142')).updated, 1)
  t.equal((await ledger.waveCounts('142')).total, 1)
})

t.test('a second opener of the data dir is refused', async t => {
  const dir = t.testdir()
  const ledger = await HubLedger.open(dir)
  t.teardown(async () => { await ledger.close() })
  await t.rejects(HubLedger.open(dir), { code: 'E_DATA_DIR_IN_USE' })
})

t.test('a report poll that brings nothing writes nothing: the last-seen time moves in memory (issue #19)', async t => {
  const dir = t.testdir()
  let nowMs = Date.parse(at)
  const ledger = await HubLedger.open(dir, { now: () => nowMs })
  t.teardown(async () => { await ledger.close() })
  const { readdir, stat } = await import('node:fs/promises')
  const { join } = await import('node:path')
  const { DEVICE_LAST_SEEN_WRITE_MS } = await import('../../../src/ledger/constants.js')
  // LevelDB appends every batch to its write-ahead log (<n>.log): its size is what was written
  const logBytes = async (): Promise<number> => {
    const ledgerDir = join(dir, 'ledger')
    let n = 0
    for (const f of await readdir(ledgerDir)) if (/^\d+\.log$/.test(f)) n += (await stat(join(ledgerDir, f))).size
    return n
  }
  await ledger.acceptDeviceBatch(batch('pos-1', numbered(history('committed')).slice(0, 2)), { peer: 'p1' })
  const before = await logBytes()
  for (let i = 0; i < 5; i++) {
    nowMs += 30_000
    t.equal((await ledger.acceptDeviceBatch(batch('pos-1', []), { peer: 'p1' })).status, 'ok')
  }
  t.equal(await logBytes(), before, 'five plain polls wrote nothing (before: one fsynced write each)')
  t.equal((await ledger.device('pos-1'))?.lastReportMs, nowMs, 'the last-seen time is the last poll\'s')
  nowMs += DEVICE_LAST_SEEN_WRITE_MS
  await ledger.acceptDeviceBatch(batch('pos-1', []), { peer: 'p1' })
  t.ok(await logBytes() > before, 'a last-seen time this old is written')
  const grown = await logBytes()
  await ledger.acceptDeviceBatch(batch('pos-1', []), { peer: 'p2' })
  t.ok(await logBytes() > grown, 'a poll from another peer is written')
  t.equal((await ledger.device('pos-1'))?.peer, 'p2')
  t.equal((await ledger.device('pos-1'))?.maxSeq, 2, 'the device\'s record is otherwise unchanged')
})
