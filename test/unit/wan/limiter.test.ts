import t from 'tap'
import { isStoremeshError } from '../../../src/interface/errors.js'
import { ManualClock, settle } from '../../../src/wan/clock.js'
import { Limiter, LimiterChain } from '../../../src/wan/limiter.js'
import type { Acquirer } from '../../../src/wan/limiter.js'
import { RateMeter } from '../../../src/wan/rate-meter.js'

const MBIT = 125_000 // bytes per second in 1 Mbit/s
const MiB = 1024 * 1024

/** Keeps `acquirer` busy with requests of `requestBytes` until `signal` aborts; counts what passed. */
function consumer (acquirer: Acquirer, clock: ManualClock, signal: AbortSignal, requestBytes?: number, meter?: RateMeter): { bytes: () => number, done: Promise<void> } {
  let bytes = 0
  const done = (async () => {
    while (!signal.aborted) {
      const n = requestBytes ?? acquirer.sliceBytes
      try {
        await acquirer.acquire(n, signal)
      } catch (err) {
        if (isStoremeshError(err, 'E_ABORTED')) return
        throw err
      }
      bytes += n
      meter?.record(n, clock.nowMs())
    }
  })()
  return { bytes: () => bytes, done }
}

t.test('long-run accuracy within 1% and smooth per 100 ms', async t => {
  for (const rate of [1 * MBIT, 5 * MBIT, 20 * MBIT]) {
    const clock = new ManualClock(1_000_000)
    const limiter = new Limiter({ rateBytesPerSec: rate, clock })
    const perSecond = new RateMeter({ targetBytesPerSec: rate, startMs: clock.nowMs() })
    const per100 = new RateMeter({ targetBytesPerSec: rate, startMs: clock.nowMs(), sampleMs: 100 })
    const ac = new AbortController()
    const both = { record: (n: number, at: number) => { perSecond.record(n, at); per100.record(n, at) } } as unknown as RateMeter
    const c = consumer(limiter, clock, ac.signal, undefined, both)
    await clock.advanceAsync(20_000)
    ac.abort()
    await c.done
    const end = clock.nowMs()
    const r1 = perSecond.report(end)
    const r100 = per100.report(end)
    t.ok(r1.longRunError < 0.01, `${rate} B/s: long-run error ${(r1.longRunError * 100).toFixed(3)}% < 1%`)
    const later = r1.samples.slice(1).reduce((m, x) => Math.max(m, x.error), 0)
    t.ok(later < 0.01, `${rate} B/s: worst second after the first ${(later * 100).toFixed(3)}% < 1%`)
    const firstExtraMs = ((r1.samples[0]?.bytesPerSec ?? 0) - rate) / rate * 1000
    t.ok(firstExtraMs <= 25, `${rate} B/s: the first second carries at most one 25 ms slice extra (${firstExtraMs.toFixed(1)} ms)`)
    t.ok(r100.maxSampleError <= 0.5, `${rate} B/s: worst 100 ms ${(r100.maxSampleError * 100).toFixed(1)}% <= 50%`)
    t.ok(r100.p95SampleError <= 0.1, `${rate} B/s: p95 100 ms ${(r100.p95SampleError * 100).toFixed(1)}% <= 10%`)
    t.ok(r1.maxBurstBytes <= limiter.burstBytes * 2, `${rate} B/s: largest burst ${r1.maxBurstBytes} B within two bursts (${limiter.burstBytes} B)`)
  }
})

t.test('a 1 MiB request at 1 Mbit/s goes out in slices, not at once', async t => {
  const clock = new ManualClock(0)
  const limiter = new Limiter({ rateBytesPerSec: MBIT, clock })
  t.equal(limiter.burstBytes, 12_500, '100 ms at 1 Mbit/s')
  t.equal(limiter.sliceBytes, 3125, 'slices of 25 ms')
  let doneAt: number | undefined
  const p = limiter.acquire(MiB).then(() => { doneAt = clock.nowMs() })
  await clock.advanceAsync(1000)
  const afterOne = limiter.grantedBytes
  t.ok(afterOne >= MBIT && afterOne <= MBIT + 2 * limiter.burstBytes, `after 1 s: ${afterOne} B granted, about one second's worth`)
  await clock.advanceAsync(10_000)
  await p
  const expectedMs = (MiB - limiter.sliceBytes) / MBIT * 1000
  t.ok(doneAt !== undefined && Math.abs(doneAt - expectedMs) <= 50, `done at ${doneAt} ms, expected ~${expectedMs.toFixed(0)} ms`)
})

t.test('setRate(0) pauses at once and a later rate resumes', async t => {
  const clock = new ManualClock(0)
  const limiter = new Limiter({ rateBytesPerSec: MBIT, clock })
  const ac = new AbortController()
  const c = consumer(limiter, clock, ac.signal, 10_000)
  await clock.advanceAsync(2000)
  limiter.setRate(0)
  const atPause = c.bytes()
  t.ok(atPause > 0, 'bytes passed before the pause')
  await clock.advanceAsync(60_000)
  t.equal(c.bytes(), atPause, 'nothing passes while paused')
  t.equal(clock.pendingTimers, 0, 'a paused limiter sets no timer')
  t.equal(limiter.waiting, 1, 'the consumer waits')
  limiter.setRate(2 * MBIT)
  await clock.advanceAsync(5000)
  const resumed = c.bytes() - atPause
  t.ok(Math.abs(resumed - 10 * MBIT) <= 2 * 10_000 + limiter.burstBytes, `resumed at the new rate: ${resumed} B in 5 s`)
  ac.abort()
  await c.done
})

t.test('raising the rate wakes a waiter early', async t => {
  const clock = new ManualClock(0)
  const limiter = new Limiter({ rateBytesPerSec: 1000, clock, burstBytes: 1000 })
  await limiter.acquire(limiter.sliceBytes) // takes the one slice a new limiter holds
  let done = false
  const p = limiter.acquire(limiter.sliceBytes).then(() => { done = true })
  await clock.advanceAsync(100)
  t.notOk(done, 'still waiting at the old rate')
  limiter.setRate(100_000)
  await clock.advanceAsync(10)
  t.ok(done, 'served within 10 ms at the new rate')
  await p
})

t.test('abort rejects with E_ABORTED and frees the queue', async t => {
  const clock = new ManualClock(0)
  const limiter = new Limiter({ rateBytesPerSec: 0, clock })
  const ac = new AbortController()
  const first = limiter.acquire(100, ac.signal)
  let secondDone = false
  const second = limiter.acquire(100).then(() => { secondDone = true })
  await settle()
  t.equal(limiter.waiting, 2)
  ac.abort(new Error('operator stop'))
  await t.rejects(first, { code: 'E_ABORTED' })
  t.equal(limiter.waiting, 1, 'the aborted slice left the queue')
  limiter.setRate(MBIT)
  await clock.advanceAsync(10)
  t.ok(secondDone, 'the next waiter was served')
  await second
  await t.rejects(limiter.acquire(1, AbortSignal.abort()), { code: 'E_ABORTED' }, 'an aborted signal fails at once')
})

t.test('FIFO: a large request is not starved by small ones', async t => {
  const clock = new ManualClock(0)
  const limiter = new Limiter({ rateBytesPerSec: 10_000, clock, burstBytes: 1000 })
  const order: string[] = []
  const big = limiter.acquire(5000).then(() => order.push('big'))
  const small = limiter.acquire(100).then(() => order.push('small'))
  await clock.advanceAsync(2000)
  await Promise.all([big, small])
  t.same(order, ['small', 'big'], 'slices interleave: the small request rides between big slices')
  const order2: string[] = []
  t.equal(limiter.sliceBytes, 250, 'slices are a quarter of the burst')
  const a = limiter.acquire(250).then(() => order2.push('a'))
  const b = limiter.acquire(250).then(() => order2.push('b'))
  const c = limiter.acquire(10).then(() => order2.push('c'))
  await clock.advanceAsync(2000)
  await Promise.all([a, b, c])
  t.same(order2, ['a', 'b', 'c'], 'whole slices are served first come, first served')
})

t.test('a chain respects the tighter limit and waits once, not twice', async t => {
  for (const [peerRate, globalRate] of [[2 * MBIT, 10 * MBIT], [10 * MBIT, 2 * MBIT], [5 * MBIT, 5 * MBIT]] as const) {
    const clock = new ManualClock(0)
    const global = new Limiter({ rateBytesPerSec: globalRate, clock, name: 'global' })
    const peer = new Limiter({ rateBytesPerSec: peerRate, clock, name: 'peer' })
    const chain = new LimiterChain([peer, global])
    const ac = new AbortController()
    const c = consumer(chain, clock, ac.signal)
    await clock.advanceAsync(20_000)
    ac.abort()
    await c.done
    const want = Math.min(peerRate, globalRate) * 20
    const err = Math.abs(c.bytes() - want) / want
    t.ok(err < 0.01, `peer ${peerRate} under global ${globalRate}: ${c.bytes()} B in 20 s, ${(err * 100).toFixed(2)}% off ${want}`)
    t.equal(peer.grantedBytes, global.grantedBytes, 'both limiters counted the same bytes')
  }
})

t.test('peers under one global limit share it; a slow or paused peer holds up no one', async t => {
  const clock = new ManualClock(0)
  const global = new Limiter({ rateBytesPerSec: 10 * MBIT, clock, name: 'global' })
  const a = new Limiter({ rateBytesPerSec: 2 * MBIT, clock, name: 'a' })
  const b = new Limiter({ rateBytesPerSec: 20 * MBIT, clock, name: 'b' })
  const p = new Limiter({ rateBytesPerSec: 0, clock, name: 'paused' })
  const ac = new AbortController()
  const ca = consumer(new LimiterChain([a, global]), clock, ac.signal)
  const cb = consumer(new LimiterChain([b, global]), clock, ac.signal)
  const cp = consumer(new LimiterChain([p, global]), clock, ac.signal)
  await clock.advanceAsync(20_000)
  const seconds = 20
  t.ok(Math.abs(ca.bytes() / seconds - 2 * MBIT) / (2 * MBIT) < 0.01, `a keeps to its 2 Mbit/s: ${ca.bytes() / seconds} B/s`)
  t.ok(Math.abs(cb.bytes() / seconds - 8 * MBIT) / (8 * MBIT) < 0.01, `b takes the rest of the global 10 Mbit/s: ${cb.bytes() / seconds} B/s`)
  t.equal(cp.bytes(), 0, 'the paused peer got nothing')
  t.ok(Math.abs(global.grantedBytes / seconds - 10 * MBIT) / (10 * MBIT) < 0.01, 'the global limit is used in full')

  // Pause a mid-run while its slices wait at the global queue: it stops, b takes over.
  const before = { a: ca.bytes(), b: cb.bytes() }
  a.setRate(0)
  await clock.advanceAsync(10_000)
  t.equal(ca.bytes() - before.a, 0, 'a stopped at once when paused, even with a slice waiting at the global limit')
  const bRate = (cb.bytes() - before.b) / 10
  t.ok(Math.abs(bRate - 10 * MBIT) / (10 * MBIT) < 0.02, `b got the whole global rate: ${bRate} B/s`)

  // The paused peer resumes and shares again.
  p.setRate(MBIT)
  const pBefore = cp.bytes()
  await clock.advanceAsync(10_000)
  const pRate = (cp.bytes() - pBefore) / 10
  t.ok(Math.abs(pRate - MBIT) / MBIT < 0.02, `the resumed peer runs at its 1 Mbit/s: ${pRate} B/s`)
  ac.abort()
  await Promise.all([ca.done, cb.done, cp.done])
  t.equal(global.waiting + a.waiting + b.waiting + p.waiting, 0, 'all queues empty after abort')
})

t.test('chains must order shared limiters consistently', async t => {
  const clock = new ManualClock(0)
  const [x, y, z] = ['x', 'y', 'z'].map(name => new Limiter({ rateBytesPerSec: MBIT, clock, name })) as [Limiter, Limiter, Limiter]
  t.ok(new LimiterChain([x, y]))
  t.ok(new LimiterChain([x, y]), 'the same order again is fine')
  t.throws(() => new LimiterChain([y, x]), { code: 'E_INVALID_ARGUMENT' }, 'reversed order refused')
  t.ok(new LimiterChain([y, z]))
  t.throws(() => new LimiterChain([z, x]), { code: 'E_INVALID_ARGUMENT' }, 'a longer cycle refused')
  t.throws(() => new LimiterChain([x, x]), { code: 'E_INVALID_ARGUMENT' }, 'duplicates refused')
  t.throws(() => new LimiterChain([]), { code: 'E_INVALID_ARGUMENT' })
  const other = new Limiter({ rateBytesPerSec: MBIT, clock: new ManualClock(0) })
  t.throws(() => new LimiterChain([x, other]), { code: 'E_INVALID_ARGUMENT' }, 'limiters on different clocks refused')
})

t.test('unlimited, invalid input and thousands of waiters released at once', async t => {
  const clock = new ManualClock(0)
  const free = new Limiter({ rateBytesPerSec: Number.POSITIVE_INFINITY, clock })
  await free.acquire(10 * MiB)
  t.equal(free.grantedBytes, 10 * MiB, 'unlimited passes at once')
  t.equal(free.sliceBytes, Number.POSITIVE_INFINITY)
  await t.rejects(free.acquire(-1), { code: 'E_INVALID_ARGUMENT' })
  await t.rejects(free.acquire(Number.NaN), { code: 'E_INVALID_ARGUMENT' })
  t.throws(() => free.setRate(Number.NaN), { code: 'E_INVALID_ARGUMENT' })
  t.throws(() => new Limiter({ rateBytesPerSec: -5, clock }), { code: 'E_INVALID_ARGUMENT' })
  t.throws(() => new Limiter({ rateBytesPerSec: 5, clock, burstMs: 0 }), { code: 'E_INVALID_ARGUMENT' })

  const gate = new Limiter({ rateBytesPerSec: 0, clock })
  const n = 20_000
  let resolved = 0
  const all = Array.from({ length: n }, async () => { await gate.acquire(10); resolved++ })
  await settle()
  t.equal(gate.waiting, n)
  gate.setRate(Number.POSITIVE_INFINITY)
  await Promise.all(all)
  t.equal(resolved, n, 'all released without a stack overflow')
})

t.test('weights and critical hubs at a shared limit', async t => {
  const clock = new ManualClock(0)
  const global = new Limiter({ rateBytesPerSec: 8 * MBIT, clock, name: 'global' })
  const light = new Limiter({ rateBytesPerSec: 100 * MBIT, clock, name: 'light', weight: 1 })
  const heavy = new Limiter({ rateBytesPerSec: 100 * MBIT, clock, name: 'heavy', weight: 3 })
  const ac = new AbortController()
  const cl = consumer(new LimiterChain([light, global]), clock, ac.signal)
  const ch = consumer(new LimiterChain([heavy, global]), clock, ac.signal)
  await clock.advanceAsync(20_000)
  const share = ch.bytes() / (cl.bytes() + ch.bytes())
  t.ok(Math.abs(share - 0.75) < 0.01, `weight 3 against 1 gets 75%: ${(share * 100).toFixed(2)}%`)

  // A critical hub takes what its own limit allows before any normal hub.
  const critical = new Limiter({ rateBytesPerSec: 6 * MBIT, clock, name: 'critical', class: 'critical' })
  const cc = consumer(new LimiterChain([critical, global]), clock, ac.signal)
  const before = { l: cl.bytes(), h: ch.bytes(), c: cc.bytes() }
  await clock.advanceAsync(20_000)
  const cRate = (cc.bytes() - before.c) / 20
  const rest = (cl.bytes() - before.l + ch.bytes() - before.h) / 20
  t.ok(Math.abs(cRate - 6 * MBIT) / (6 * MBIT) < 0.01, `the critical hub gets its full 6 Mbit/s: ${cRate} B/s`)
  t.ok(Math.abs(rest - 2 * MBIT) / (2 * MBIT) < 0.03, `normal hubs share the remaining 2 Mbit/s: ${rest} B/s`)

  // Raised to the whole global rate, the critical hub starves the normal ones (strict priority).
  critical.setRate(100 * MBIT)
  await clock.advanceAsync(1000)
  const starved = { l: cl.bytes(), h: ch.bytes() }
  await clock.advanceAsync(5000)
  t.ok(cl.bytes() - starved.l + ch.bytes() - starved.h <= 2 * global.burstBytes, 'normal hubs wait while a critical hub takes everything')
  t.throws(() => critical.setShare({ weight: 0 }), { code: 'E_INVALID_ARGUMENT' })
  t.throws(() => new Limiter({ rateBytesPerSec: 1, clock, class: 'urgent' as 'critical' }), { code: 'E_INVALID_ARGUMENT' })
  ac.abort()
  await Promise.all([cl.done, ch.done, cc.done])
})
