import t from 'tap'
import { Journal } from '../../../src/install/journal.js'

t.test('append numbers entries from 1; readFrom pages; reopen keeps the sequence', async t => {
  const dir = t.testdir()
  const j = await Journal.open(dir, { now: () => Date.parse('2026-03-01T00:00:00Z') })
  const e1 = await j.append({ kind: 'transition', waveId: '142', from: 'idle', to: 'staged' })
  t.match(e1, { seq: 1, at: '2026-03-01T00:00:00.000Z', kind: 'transition', waveId: '142' })
  for (let i = 0; i < 4; i++) await j.append({ kind: 'decision', reason: `r${i}` })
  t.same((await j.readFrom(1)).map(e => e.seq), [1, 2, 3, 4, 5])
  t.same((await j.readFrom(3, { limit: 2 })).map(e => e.seq), [3, 4])
  t.equal(await j.lastSeq(), 5)
  await j.close()
  const j2 = await Journal.open(dir)
  t.teardown(async () => await j2.close())
  t.equal((await j2.append({ kind: 'note' })).seq, 6, 'a reopened journal never reuses a seq')
})

t.test('ack is exactly-once bookkeeping: idempotent, monotonic, deletes what it covers', async t => {
  const j = await Journal.open(t.testdir())
  t.teardown(async () => await j.close())
  for (let i = 0; i < 5; i++) await j.append({ kind: 'note', detail: String(i) })
  await j.ack(3)
  t.equal(await j.ackedSeq(), 3)
  t.same((await j.readFrom(1)).map(e => e.seq), [4, 5], 'an upload resumes after the watermark')
  await j.ack(3)
  await j.ack(2)
  t.equal(await j.ackedSeq(), 3, 'acks below the watermark change nothing')
  await t.rejects(j.ack(9), { code: 'E_JOURNAL' })
  await j.ack(5)
  t.same(await j.readFrom(0), [])
  t.equal((await j.append({ kind: 'note' })).seq, 6)
})

t.test('concurrent appends get distinct, gap-free sequence numbers', async t => {
  const j = await Journal.open(t.testdir())
  t.teardown(async () => await j.close())
  const entries = await Promise.all(Array.from({ length: 50 }, async (_, i) => await j.append({ kind: 'note', detail: String(i) })))
  t.same(entries.map(e => e.seq).sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i + 1))
})

t.test('a second process on the same data dir is E_DATA_DIR_IN_USE; oversized entries are refused', async t => {
  const dir = t.testdir()
  const j = await Journal.open(dir)
  t.teardown(async () => await j.close())
  await t.rejects(Journal.open(dir), { code: 'E_DATA_DIR_IN_USE' })
  await t.rejects(j.append({ kind: 'note', detail: 'x'.repeat(20_000) }), { code: 'E_JOURNAL' })
  t.equal(await j.lastSeq(), 0)
})

t.test('lastInstallStep tracks the newest transition of an install', async t => {
  const j = await Journal.open(t.testdir())
  t.teardown(async () => await j.close())
  t.equal(await j.lastInstallStep('i1'), undefined)
  await j.append({ kind: 'transition', installId: 'i1', step: 1 })
  await j.append({ kind: 'transition', installId: 'i1', step: 2 })
  t.equal(await j.lastInstallStep('i1'), 2)
  t.equal(await j.lastInstallStep('i2'), undefined)
})
