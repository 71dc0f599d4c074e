/**
 * The server-wide byte semaphore (src/wan/byte-budget.ts): grants wait in arrival
 * order until their bytes fit, a large head is not overtaken, an oversized request is
 * clamped to the whole budget, aborted waiters leave the queue, and resizing a grant
 * gives bytes back (or counts what grew past the bound).
 */
import t from 'tap'
import { ByteBudget, DEFAULT_CHUNK_BYTES_IN_FLIGHT } from '../../../src/wan/byte-budget.js'
import { DEFAULT_GUESSED_CHUNK_BYTES } from '../../../src/wan/pull/constants.js'
import { DEFAULT_MAX_CHUNK_BYTES } from '../../../src/bundle/fastcdc.js'

const tick = async (): Promise<void> => { await new Promise(resolve => setImmediate(resolve)) }

t.test('grants wait in arrival order; the large head is not overtaken by smaller ones', async t => {
  const b = new ByteBudget(100)
  const a = await b.acquire(60)
  const order: string[] = []
  const big = b.acquire(80).then(g => { order.push('big'); return g })
  const small = b.acquire(10).then(g => { order.push('small'); return g })
  await tick()
  t.same(order, [], 'the 80 waits for room; the 10 would fit but queues behind it')
  t.equal(b.stats().waiters, 2)
  a.release()
  const g80 = await big
  await tick()
  t.same(order, ['big', 'small'], 'then the 10 fits beside the 80')
  t.equal(b.inFlightBytes, 90)
  g80.release(); (await small).release()
  t.equal(b.inFlightBytes, 0)
  t.equal(b.stats().peakBytes, 90)
  t.equal(b.stats().waitedTotal, 2)
})

t.test('a request larger than the budget takes all of it and runs alone', async t => {
  const b = new ByteBudget(100)
  const g = await b.acquire(1_000)
  t.equal(g.bytes, 100)
  let other = false
  const p = b.acquire(1).then(x => { other = true; return x })
  await tick()
  t.notOk(other)
  g.release()
  ;(await p).release()
  t.ok(b.stats().peakBytes <= 100)
})

t.test('an aborted waiter leaves the queue and lets the next in', async t => {
  const b = new ByteBudget(100)
  const a = await b.acquire(50)
  const ac = new AbortController()
  const blocked = b.acquire(100, ac.signal)
  const next = b.acquire(50)
  ac.abort()
  await t.rejects(blocked, { code: 'E_ABORTED' })
  const g = await next
  t.equal(b.inFlightBytes, 100)
  a.release(); g.release()
  t.equal(b.stats().waiters, 0)
})

t.test('resize: shrinking wakes waiters; growing past the bound is counted; release is idempotent', async t => {
  const b = new ByteBudget(100)
  const g = await b.acquire(100)
  let woke = false
  const w = b.acquire(40).then(x => { woke = true; return x })
  g.resize(60)
  const g2 = await w
  t.ok(woke)
  t.equal(b.inFlightBytes, 100)
  g.resize(70)
  t.equal(b.stats().overshootBytes, 10, 'the 10 that grew past the bound')
  g.release(); g.release(); g2.release()
  t.equal(b.inFlightBytes, 0)
})

t.test('the defaults: a guessed chunk is the chunker\'s largest default chunk; the bound holds many of them', async t => {
  t.equal(DEFAULT_GUESSED_CHUNK_BYTES, DEFAULT_MAX_CHUNK_BYTES)
  t.ok(DEFAULT_CHUNK_BYTES_IN_FLIGHT >= 8 * DEFAULT_MAX_CHUNK_BYTES)
  t.throws(() => new ByteBudget(0), { code: 'E_INVALID_ARGUMENT' })
})
