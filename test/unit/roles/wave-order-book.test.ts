import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { WAVE_ORDERS_FILE, WaveOrderBook } from '../../../src/roles/wave-order-book.js'

t.test('the hub\'s wave orders become fleet facts and outlive a restart', async t => {
  const dir = t.testdir()
  const book = await WaveOrderBook.open(dir)
  t.equal(book.fleet('142'), undefined, 'no order: the facts file decides')
  await book.replace([
    { waveId: '142', action: 'halt', reason: 'rollback ratio 0.3 > 0.05', issuedAtMs: 1 },
    { waveId: '143', action: 'pause', reason: 'store closed', issuedAtMs: 2 }
  ])
  t.same(book.fleet('142'), { paused: false, halted: true, reason: 'rollback ratio 0.3 > 0.05' })
  t.same(book.fleet('143'), { paused: true, halted: false, reason: 'store closed' })

  const again = await WaveOrderBook.open(dir)
  t.same(again.fleet('142'), { paused: false, halted: true, reason: 'rollback ratio 0.3 > 0.05' }, 'a restart with no hub in reach still obeys the halt')
  await again.replace([{ waveId: '143', action: 'resume', reason: '', issuedAtMs: 3 }])
  t.equal(again.fleet('142'), undefined, 'the set in force replaces the old one')
  t.same(again.fleet('143'), { paused: false, halted: false })
})

t.test('a corrupt orders file fails closed with a stable code', async t => {
  const dir = t.testdir()
  await writeFile(join(dir, WAVE_ORDERS_FILE), '[{"waveId":"142","action":"explode"}]')
  await t.rejects(WaveOrderBook.open(dir), { code: 'E_INSTALL_STATE_INVALID' })
  await writeFile(join(dir, WAVE_ORDERS_FILE), 'not json')
  await t.rejects(WaveOrderBook.open(dir), { code: 'E_INSTALL_STATE_INVALID' })
})
