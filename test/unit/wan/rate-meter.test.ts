import t from 'tap'
import { percentile, RateMeter } from '../../../src/wan/rate-meter.js'

t.test('a perfectly paced stream: no error, burst of one piece', async t => {
  const m = new RateMeter({ targetBytesPerSec: 1000, startMs: 0 })
  for (let at = 0; at < 10_000; at += 100) m.record(100, at)
  const r = m.report(10_000)
  t.equal(r.totalBytes, 10_000)
  t.equal(r.achievedBytesPerSec, 1000)
  t.equal(r.longRunError, 0)
  t.equal(r.samples.length, 10)
  t.equal(r.p95SampleError, 0)
  t.equal(r.maxBurstBytes, 100, 'one piece at a time is the whole burst')
  t.equal(r.maxBurstMs, 100)
})

t.test('a stream that sends everything at once and then idles', async t => {
  const m = new RateMeter({ targetBytesPerSec: 1000, startMs: 0 })
  m.record(10_000, 0)
  const r = m.report(10_000)
  t.equal(r.longRunError, 0, 'on average right on target')
  t.equal(r.samples[0]?.error, 9, 'the first second is 10x the target')
  t.equal(r.p95SampleError, 9, 'p95 sees the spike (nearest rank of 10 samples is the worst)')
  t.equal(r.maxSampleError, 9)
  t.equal(r.maxBurstBytes, 10_000)
})

t.test('long-run error, per-second errors, burst over an interval, partial bins, order', async t => {
  const m = new RateMeter({ targetBytesPerSec: 1000, startMs: 5000 })
  m.record(999, 4000) // before the start: ignored
  // 20 s: seconds alternate 1100 and 900 bytes, in 10 pieces each; one extra 500 B spike.
  for (let s = 0; s < 20; s++) {
    const perPiece = (s % 2 === 0 ? 1100 : 900) / 10
    for (let k = 9; k >= 0; k--) m.record(perPiece, 5000 + s * 1000 + k * 100) // out of order on purpose
  }
  m.record(500, 5000 + 20_000 + 500) // in a partial last bin
  const r = m.report(5000 + 20_000 + 600)
  t.equal(r.samples.length, 20, 'the partial last bin is left out')
  t.ok(Math.abs(r.samples[0]!.error - 0.1) < 1e-9 && Math.abs(r.samples[1]!.error - 0.1) < 1e-9)
  t.ok(Math.abs(r.p95SampleError - 0.1) < 1e-9)
  const expectedAchieved = (20_000 + 500) / 20.6
  t.ok(Math.abs(r.achievedBytesPerSec - expectedAchieved) < 1e-6)
  t.ok(Math.abs(r.longRunError - Math.abs(expectedAchieved - 1000) / 1000) < 1e-9)
  // Largest excess: the 500 B spike after an even second's 100 B surplus carried into the next
  // second is the biggest; check against a brute-force maximum over all intervals.
  const events: Array<[number, number]> = []
  for (let s = 0; s < 20; s++) for (let k = 0; k < 10; k++) events.push([5000 + s * 1000 + k * 100, (s % 2 === 0 ? 1100 : 900) / 10])
  events.push([25_500, 500])
  let brute = 0
  for (let i = 0; i < events.length; i++) {
    let sum = 0
    for (let j = i; j < events.length; j++) {
      sum += events[j]![1]
      brute = Math.max(brute, sum - (events[j]![0] - events[i]![0]))
    }
  }
  t.ok(Math.abs(r.maxBurstBytes - brute) < 1e-6, `burst ${r.maxBurstBytes} equals the brute-force ${brute}`)
})

t.test('invalid use is refused', async t => {
  t.throws(() => new RateMeter({ targetBytesPerSec: 0, startMs: 0 }), { code: 'E_INVALID_ARGUMENT' })
  t.throws(() => new RateMeter({ targetBytesPerSec: 1, startMs: 0, sampleMs: 0 }), { code: 'E_INVALID_ARGUMENT' })
  t.throws(() => new RateMeter({ targetBytesPerSec: 1, startMs: 10 }).report(10), { code: 'E_INVALID_ARGUMENT' })
  t.equal(percentile([], 0.95), 0)
  t.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20], 0.95), 19)
})
