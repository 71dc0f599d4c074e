import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { isStoremeshError } from '../../../src/interface/errors.js'
import { ManualClock } from '../../../src/wan/clock.js'
import { Limiter } from '../../../src/wan/limiter.js'
import { parseRate } from '../../../src/wan/rate.js'
import { singleWindowSchedule } from '../../../src/wan/schedule.js'
import { followSchedule } from '../../../src/wan/schedule-driver.js'
import type { RateChange } from '../../../src/wan/schedule-driver.js'
import { readScheduleFile } from '../../../src/wan/schedule-file.js'

const Z = (iso: string): number => Date.parse(iso)

t.test('applies each change at its instant, across a DST change', async t => {
  const clock = new ManualClock(Z('2024-11-02T12:00:00Z'))
  const schedule = singleWindowSchedule({ window: '00:30-03:30', rate: '5MiB/s', timezone: 'America/Chicago' })
  const changes: RateChange[] = []
  const follower = followSchedule({ schedule, clock, apply: c => changes.push(c) })
  t.equal(changes.length, 1, 'the current rate is applied at once')
  t.equal(changes[0]?.rateBytesPerSec, 0)
  t.equal(follower.nextChangeAtMs, Z('2024-11-03T05:30:00Z'))
  await clock.advanceAsync(48 * 3600_000)
  t.same(changes.map(c => [new Date(c.atMs).toISOString(), c.rateBytesPerSec]), [
    ['2024-11-02T12:00:00.000Z', 0],
    ['2024-11-03T05:30:00.000Z', parseRate('5MiB/s')], // 00:30 CDT
    ['2024-11-03T09:30:00.000Z', 0], // 03:30 CST, four hours later
    ['2024-11-04T06:30:00.000Z', parseRate('5MiB/s')], // 00:30 CST
    ['2024-11-04T09:30:00.000Z', 0]
  ])
  t.equal(changes[1]?.window?.when.text, '00:30-03:30')
  follower.stop()
  t.equal(clock.pendingTimers, 0, 'stop() leaves no timer')
})

t.test('a closing window pauses a limited transfer and the next window resumes it', async t => {
  const start = Z('2024-06-03T00:29:00Z')
  const clock = new ManualClock(start)
  const limiter = new Limiter({ rateBytesPerSec: 0, clock, burstBytes: 200_000 })
  const schedule = singleWindowSchedule({ window: '00:30-00:32', rate: '1MB/s', timezone: 'UTC' })
  const ac = new AbortController()
  followSchedule({ schedule, clock, signal: ac.signal, apply: c => limiter.setRate(c.rateBytesPerSec) })
  const log: Array<[number, number]> = []
  const run = (async () => {
    for (;;) {
      await limiter.acquire(100_000, ac.signal)
      log.push([clock.nowMs(), 100_000])
    }
  })().catch(err => { if (!isStoremeshError(err, 'E_ABORTED')) throw err })
  const bytesIn = (from: number, to: number): number => log.filter(([at]) => at >= from && at < to).reduce((s, [, b]) => s + b, 0)
  await clock.advanceAsync(10 * 60_000)
  const open = Z('2024-06-03T00:30:00Z')
  const close = Z('2024-06-03T00:32:00Z')
  t.equal(bytesIn(start, open), 0, 'nothing before the window')
  const during = bytesIn(open, close)
  t.ok(Math.abs(during - 120_000_000) <= 200_000, `two minutes at 1 MB/s: ${during} B`)
  t.equal(bytesIn(close, clock.nowMs()), 0, 'nothing after the window closed')
  await clock.advanceAsync(24 * 3600_000)
  const nextDay = bytesIn(close + 60_000, clock.nowMs())
  t.ok(Math.abs(nextDay - 120_000_000) <= 200_000, `the next day's window carries on: ${nextDay} B`)
  ac.abort()
  await run
  t.equal(clock.pendingTimers, 0, 'abort stops the follower')
})

t.test('setSchedule swaps the schedule at once; wakes at least every maxSleepMs', async t => {
  const clock = new ManualClock(Z('2024-06-03T12:00:00Z'))
  const changes: number[] = []
  const follower = followSchedule({ schedule: singleWindowSchedule({ window: '00:30-03:30', rate: '1MiB/s' }), clock, maxSleepMs: 1000, apply: c => changes.push(c.rateBytesPerSec) })
  t.equal(clock.nextTimerAtMs(), clock.nowMs() + 1000, 'sleeps at most maxSleepMs')
  clock.jumpTo(Z('2024-06-04T01:00:00Z')) // the wall clock steps into the window
  await clock.advanceAsync(1000)
  t.same(changes, [0, parseRate('1MiB/s')], 'a clock step is noticed within maxSleepMs')
  follower.setSchedule(singleWindowSchedule({ window: '00:30-03:30', rate: '2MiB/s' }))
  t.same(changes, [0, parseRate('1MiB/s'), parseRate('2MiB/s')])
  t.equal(follower.rateBytesPerSec, parseRate('2MiB/s'))
  follower.stop()
  t.throws(() => followSchedule({ schedule: singleWindowSchedule({ window: '00:30-03:30', rate: 0 }), clock, signal: AbortSignal.abort(), apply: () => {} }), { code: 'E_ABORTED' })
})

t.test('readScheduleFile reads, validates and refuses oversized files', async t => {
  const dir = t.testdir({
    'ok.yaml': 'timezone: Europe/Berlin\ndefaultRate: 0\nwindows:\n  - { when: "Mon-Fri 00:30-03:30", rate: 40Mbit }\n',
    'nozone.yaml': 'defaultRate: 1MiB/s\nwindows: []\n',
    'bad.yaml': 'defaultRate: 0\nwindows: [{ when: "Mon-Fry 00:30-03:30", rate: 0 }]\n',
    'big.yaml': '#'.repeat(70 * 1024)
  })
  const s = await readScheduleFile(join(dir, 'ok.yaml'))
  t.equal(s.timezone, 'Europe/Berlin')
  t.equal(s.windows[0]?.rateBytesPerSec, 5_000_000)
  t.equal((await readScheduleFile(join(dir, 'nozone.yaml'), { defaultTimezone: 'Asia/Tokyo' })).timezone, 'Asia/Tokyo')
  await t.rejects(readScheduleFile(join(dir, 'bad.yaml')), { code: 'E_INVALID_ARGUMENT', message: /Mon-Fry/ })
  await t.rejects(readScheduleFile(join(dir, 'big.yaml')), { code: 'E_INVALID_ARGUMENT', message: /larger than/ })
  await t.rejects(readScheduleFile(join(dir, 'missing.yaml')), { code: 'E_FILE_NOT_FOUND' })
  await writeFile(join(dir, 'empty.yaml'), '')
  await t.rejects(readScheduleFile(join(dir, 'empty.yaml')), { code: 'E_INVALID_ARGUMENT' })
})
