import t from 'tap'
import { ManualClock, sleep, systemClock } from '../../../src/wan/clock.js'

t.test('ManualClock fires timers in due order, ties in creation order', async t => {
  const clock = new ManualClock(100)
  const fired: string[] = []
  clock.setTimer(() => fired.push('b'), 20)
  clock.setTimer(() => fired.push('a'), 10)
  clock.setTimer(() => fired.push('c'), 20)
  const cancel = clock.setTimer(() => fired.push('never'), 5)
  cancel()
  cancel()
  clock.setTimer(() => {
    fired.push(`nested@${clock.nowMs()}`)
    clock.setTimer(() => fired.push(`inner@${clock.nowMs()}`), 0)
  }, 30)
  clock.advance(30)
  t.same(fired, ['a', 'b', 'c', 'nested@130', 'inner@130'])
  t.equal(clock.nowMs(), 130)
  t.equal(clock.pendingTimers, 0)
  t.equal(clock.nextTimerAtMs(), undefined)
})

t.test('sleep on any clock, abortable', async t => {
  const clock = new ManualClock(0)
  let woke = false
  const p = sleep(clock, 1000).then(() => { woke = true })
  await clock.advanceAsync(999)
  t.notOk(woke)
  await clock.advanceAsync(1)
  await p
  t.ok(woke)
  const ac = new AbortController()
  const q = sleep(clock, 1000, ac.signal)
  ac.abort()
  await t.rejects(q, { code: 'E_ABORTED' })
  t.equal(clock.pendingTimers, 0, 'the aborted sleep cancelled its timer')
  await t.rejects(sleep(clock, 1, AbortSignal.abort()), { code: 'E_ABORTED' })
  await sleep(systemClock, 1)
  t.pass('the system clock sleeps too')
})

t.test('advance is bounded', async t => {
  const clock = new ManualClock(0)
  const loop = (): void => { clock.setTimer(loop, 0) }
  loop()
  t.throws(() => clock.advance(1, 100), { code: 'E_INTERNAL' })
})
