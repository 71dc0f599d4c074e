import t from 'tap'
import { EventQueue } from '../../../src/sim/event-queue.js'
import { Rng } from '../../../src/sim/rng.js'

t.test('events run in time order, ties in the order scheduled; cancelled ones never run', async t => {
  const q = new EventQueue(1000)
  const seen: string[] = []
  q.at(1005, () => { seen.push('b') })
  q.at(1001, () => { seen.push('a'); q.setTimer(() => { seen.push('a+4') }, 4) })
  q.at(1005, () => { seen.push('c') })
  const cancel = q.at(1003, () => { seen.push('never') })
  cancel()
  q.run()
  t.same(seen, ['a', 'b', 'c', 'a+4'])
  t.equal(q.nowMs(), 1005)
  t.equal(q.processed, 4)
})

t.test('run stops at untilMs and when told', async t => {
  const q = new EventQueue(0)
  let n = 0
  for (let i = 1; i <= 10; i++) q.at(i * 10, () => { n++ })
  q.run(35)
  t.equal(n, 3)
  q.run(Infinity, () => n === 5)
  t.equal(n, 5)
  t.equal(q.nowMs(), 50)
})

t.test('the PRNG is a pure function of its seed, forks are independent of draw order', async t => {
  const a = new Rng(7)
  const b = new Rng(7)
  const xs = Array.from({ length: 5 }, () => a.next())
  t.same(xs, Array.from({ length: 5 }, () => b.next()))
  t.not(new Rng(8).next(), xs[0])
  for (const x of xs) t.ok(x >= 0 && x < 1)
  const f1 = new Rng(7).fork(3).next()
  const c = new Rng(7)
  c.next()
  t.equal(c.fork(3).next(), f1, 'a fork does not depend on how much the parent drew')
})
