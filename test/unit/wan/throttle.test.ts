import { randomBytes } from 'node:crypto'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import t from 'tap'
import { ManualClock, settle } from '../../../src/wan/clock.js'
import { Limiter, LimiterChain } from '../../../src/wan/limiter.js'
import { RateMeter } from '../../../src/wan/rate-meter.js'
import { createThrottle, throttle } from '../../../src/wan/throttle.js'

const MBIT = 125_000
const MiB = 1024 * 1024

function collector (clock: ManualClock): { sink: Writable, parts: Buffer[], times: number[] } {
  const parts: Buffer[] = []
  const times: number[] = []
  const sink = new Writable({
    write (chunk: Buffer, _enc, cb) {
      parts.push(chunk)
      times.push(clock.nowMs())
      cb()
    }
  })
  return { sink, parts, times }
}

t.test('a Transform paces bytes in slices and keeps them intact', async t => {
  const clock = new ManualClock(0)
  const limiter = new Limiter({ rateBytesPerSec: MBIT, clock })
  const data = randomBytes(MiB)
  let counted = 0
  const meter = new RateMeter({ targetBytesPerSec: MBIT, startMs: 0 })
  const stage = createThrottle({ limiter, onBytes: n => { counted += n; meter.record(n, clock.nowMs()) } })
  const { sink, parts, times } = collector(clock)
  let finishedAt: number | undefined
  const done = pipeline(Readable.from([data.subarray(0, 700_000), data.subarray(700_000)]), stage, sink)
    .then(() => { finishedAt = clock.nowMs() })
  await clock.advanceAsync(4000)
  const at4s = counted
  t.ok(at4s >= 4 * MBIT && at4s <= 4 * MBIT + limiter.burstBytes, `after 4 s, ${at4s} B passed (4 s worth plus at most one burst)`)
  await clock.advanceAsync(6000)
  await done
  t.ok(Buffer.concat(parts).equals(data), 'the bytes come out unchanged and in order')
  t.equal(counted, MiB, 'onBytes counted every byte')
  t.ok(Math.max(...parts.map(p => p.length)) <= limiter.sliceBytes, 'no piece larger than a slice')
  t.ok(times.length > 100, `${times.length} slices`)
  const expectedMs = (MiB - limiter.sliceBytes) / MBIT * 1000
  t.ok(finishedAt !== undefined && Math.abs(finishedAt - expectedMs) <= 50, `finished at ${finishedAt} ms, ~${expectedMs.toFixed(0)} expected`)
  const report = meter.report(8000)
  t.ok(report.maxBurstBytes <= limiter.burstBytes, `largest burst ${report.maxBurstBytes} B <= ${limiter.burstBytes} B`)
})

t.test('the async-generator stage paces an iterable through a chain', async t => {
  const clock = new ManualClock(0)
  const global = new Limiter({ rateBytesPerSec: 4 * MBIT, clock })
  const hub = new Limiter({ rateBytesPerSec: 2 * MBIT, clock })
  const data = randomBytes(MiB)
  const out: Uint8Array[] = []
  let counted = 0
  const run = (async () => {
    for await (const slice of throttle([data.subarray(0, 1000), data.subarray(1000)], { limiter: new LimiterChain([hub, global]), onBytes: n => { counted += n } })) {
      out.push(slice)
    }
  })()
  await clock.advanceAsync(2000)
  t.ok(Math.abs(counted - 2 * 2 * MBIT) <= hub.burstBytes, `the hub's 2 Mbit/s holds: ${counted} B in 2 s`)
  await clock.advanceAsync(3000)
  await run
  t.ok(Buffer.concat(out).equals(data), 'bytes intact')
  t.equal(global.grantedBytes, MiB, 'the global limiter counted every byte')
})

t.test('maxSliceBytes caps slices; a bad cap is refused', async t => {
  const clock = new ManualClock(0)
  const limiter = new Limiter({ rateBytesPerSec: 100 * MBIT, clock })
  const sizes: number[] = []
  const run = (async () => {
    for await (const s of throttle([new Uint8Array(10_000)], { limiter, maxSliceBytes: 3000 })) sizes.push(s.byteLength)
  })()
  await clock.advanceAsync(1000)
  await run
  t.same(sizes, [3000, 3000, 3000, 1000])
  t.throws(() => createThrottle({ limiter, maxSliceBytes: 0 }), { code: 'E_INVALID_ARGUMENT' })
})

t.test('aborting stops the stage and frees the limiter', async t => {
  const clock = new ManualClock(0)
  const limiter = new Limiter({ rateBytesPerSec: MBIT, clock })
  const ac = new AbortController()
  const stage = createThrottle({ limiter, signal: ac.signal })
  const { sink } = collector(clock)
  const done = pipeline(Readable.from([randomBytes(MiB)]), stage, sink)
  await clock.advanceAsync(500)
  t.equal(limiter.waiting, 1, 'a slice waits at the limiter')
  ac.abort()
  await t.rejects(done, { code: 'E_ABORTED' })
  await settle()
  t.equal(limiter.waiting, 0, 'the waiting slice left the queue')

  const ac2 = new AbortController()
  const it = throttle([randomBytes(MiB)], { limiter, signal: ac2.signal })
  const consumed = (async () => { for await (const _ of it) { /* drain */ } })()
  await clock.advanceAsync(200)
  ac2.abort()
  await t.rejects(consumed, { code: 'E_ABORTED' })
  t.equal(limiter.waiting, 0)
})

t.test('a paused limiter holds the stream and back-pressure reaches the source', async t => {
  const clock = new ManualClock(0)
  const limiter = new Limiter({ rateBytesPerSec: 0, clock })
  let pulled = 0
  const source = new Readable({
    read () {
      if (pulled >= 64) { this.push(null); return }
      pulled++
      this.push(Buffer.alloc(64 * 1024))
    }
  })
  const { sink, parts } = collector(clock)
  const done = pipeline(source, createThrottle({ limiter }), sink)
  await clock.advanceAsync(10_000)
  t.equal(parts.length, 0, 'nothing passes while paused')
  t.ok(pulled < 8, `the source was asked for only ${pulled} of 64 chunks`)
  limiter.setRate(Number.POSITIVE_INFINITY)
  await clock.advanceAsync(10)
  await done
  t.equal(Buffer.concat(parts).length, 64 * 64 * 1024, 'everything passes once unlimited')
})
