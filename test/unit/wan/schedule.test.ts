import t from 'tap'
import { parseRate } from '../../../src/wan/rate.js'
import { nextChange, parseSchedule, parseScheduleYaml, rateAt, singleWindowSchedule, constantSchedule, windowAt } from '../../../src/wan/schedule.js'
import type { Schedule } from '../../../src/wan/schedule.js'
import { formatWindow, isOpen, parseWindow } from '../../../src/time/window.js'

const Z = (iso: string): number => Date.parse(iso)
const MIN = 60_000

t.test('parses windows with weekdays and midnight crossing', async t => {
  const w = parseWindow('Mon-Fri 00:30-03:30')
  t.same(w.rules[0]?.days, [1, 2, 3, 4, 5])
  t.equal(w.rules[0]?.startMin, 30)
  t.equal(w.rules[0]?.endMin, 210)
  t.same(parseWindow('Sat,Sun 00:00-06:00').rules[0]?.days, [6, 7])
  t.same(parseWindow('Fri-Mon 23:00-01:00').rules[0]?.days, [1, 5, 6, 7], 'ranges wrap the week')
  t.same(parseWindow('sat, SUNDAY 1:00-2:00').rules[0]?.days, [6, 7], 'names are case-insensitive, full names and spaces allowed')
  t.same(parseWindow('22:00-04:00').rules[0]?.days, [1, 2, 3, 4, 5, 6, 7], 'no weekdays means every day')
  t.equal(parseWindow('00:00-24:00').rules[0]?.endMin, 24 * 60)
  t.equal(formatWindow(parseWindow('Mon-Wed 00:30-03:30')), 'Mon,Tue,Wed 00:30-03:30')
  t.equal(formatWindow(parseWindow('22:00-04:00')), '22:00-04:00')
  for (const bad of ['', '00:30', '25:00-03:00', '00:60-01:00', '24:00-01:00', '01:00-01:00', 'Mon-Fro 00:30-03:30',
    'Mon-Tue-Wed 01:00-02:00', 'Mon,,Tue 01:00-02:00', '00:30-03:30 Mon', '1:2-3:4', 'x'.repeat(200)]) {
    t.throws(() => parseWindow(bad), { code: 'E_INVALID_ARGUMENT' }, JSON.stringify(bad.slice(0, 30)))
  }
})

t.test('midnight crossing and weekdays', async t => {
  const tz = 'Europe/Berlin' // CEST (+02:00) in June
  const w = parseWindow('Fri 22:00-04:00')
  t.notOk(isOpen(w, tz, Z('2024-06-14T19:59:00Z')), 'Fri 21:59: not yet')
  t.ok(isOpen(w, tz, Z('2024-06-14T20:00:00Z')), 'Fri 22:00: open')
  t.ok(isOpen(w, tz, Z('2024-06-15T01:59:00Z')), 'Sat 03:59: still open (the window belongs to Friday)')
  t.notOk(isOpen(w, tz, Z('2024-06-15T02:00:00Z')), 'Sat 04:00: closed')
  t.notOk(isOpen(w, tz, Z('2024-06-15T20:30:00Z')), 'Sat 22:30: Saturday is not listed')
  t.notOk(isOpen(w, tz, Z('2024-06-13T23:00:00Z')), 'Fri 01:00: Thursday night is not listed')
  const weekdays = parseWindow('Mon-Fri 00:30-03:30')
  t.ok(isOpen(weekdays, 'UTC', Z('2024-06-17T01:00:00Z')), 'Mon 01:00')
  t.ok(isOpen(weekdays, 'UTC', Z('2024-06-21T03:29:59Z')), 'Fri 03:29:59')
  t.notOk(isOpen(weekdays, 'UTC', Z('2024-06-22T01:00:00Z')), 'Sat 01:00')
  t.notOk(isOpen(weekdays, 'UTC', Z('2024-06-17T03:30:00Z')), 'end is exclusive')
  t.ok(isOpen('22:00-04:00', 'UTC', Z('2024-06-17T23:59:59Z')))
  t.ok(isOpen('22:00-04:00', 'UTC', Z('2024-06-18T00:00:00Z')))
  t.throws(() => isOpen('22:00-04:00', 'Mars/Olympus', 0), { code: 'E_INVALID_ARGUMENT' })
})

t.test('America/Chicago: spring forward and fall back', async t => {
  const tz = 'America/Chicago'
  const s = singleWindowSchedule({ window: '00:30-03:30', rate: '5MiB/s', timezone: tz })
  // 2024-03-10: 02:00 CST (08:00Z) jumps to 03:00 CDT. Window 00:30 CST .. 03:30 CDT = 2 real hours.
  t.equal(nextChange(s, Z('2024-03-10T05:00:00Z')), Z('2024-03-10T06:30:00Z'), 'spring: opens 00:30 CST')
  t.equal(nextChange(s, Z('2024-03-10T06:30:00Z')), Z('2024-03-10T08:30:00Z'), 'spring: closes 03:30 CDT, 2 h later')
  t.equal(rateAt(s, Z('2024-03-10T08:00:00Z')), 5 * 1024 * 1024, 'open across the jump')
  // 2024-11-03: 02:00 CDT (07:00Z) falls back to 01:00 CST. Window 00:30 CDT .. 03:30 CST = 4 real hours.
  t.equal(nextChange(s, Z('2024-11-03T04:00:00Z')), Z('2024-11-03T05:30:00Z'), 'fall: opens 00:30 CDT')
  t.equal(nextChange(s, Z('2024-11-03T05:30:00Z')), Z('2024-11-03T09:30:00Z'), 'fall: closes 03:30 CST, 4 h later')

  const gap = singleWindowSchedule({ window: '02:00-03:00', rate: '1MiB/s', timezone: tz })
  // The one DST rule (src/time/window.ts): a window wholly inside the skipped hour opens
  // at the end of the gap for its nominal length; it is not lost for the day.
  t.equal(nextChange(gap, Z('2024-03-10T05:00:00Z')), Z('2024-03-10T08:00:00Z'), 'a window inside the skipped hour opens at the end of the gap, 03:00 CDT')
  t.equal(rateAt(gap, Z('2024-03-10T08:00:00Z')), 1024 * 1024, '03:00 CDT is inside: the window runs its nominal hour from there')
  t.equal(nextChange(gap, Z('2024-03-10T08:00:00Z')), Z('2024-03-10T09:00:00Z'), 'and closes an hour later, 04:00 CDT')

  const twice = singleWindowSchedule({ window: '01:00-01:30', rate: '1MiB/s', timezone: tz })
  const seen: number[] = []
  for (let at: number | undefined = Z('2024-11-03T05:00:00Z'); seen.length < 4 && at !== undefined;) {
    at = nextChange(twice, at)
    if (at !== undefined) seen.push(at)
  }
  // The one DST rule: open from the first 01:00 (CDT) to the last 01:30 (CST), once.
  t.same(seen, ['2024-11-03T06:00', '2024-11-03T07:30', '2024-11-04T07:00', '2024-11-04T07:30'].map(h => Z(`${h}:00Z`)),
    'the repeated hour does not open the window twice: one opening of 1.5 real hours, then the next day')
})

t.test('Europe/Berlin: a window across each change', async t => {
  const tz = 'Europe/Berlin'
  const spring = singleWindowSchedule({ window: '02:30-03:30', rate: '1MiB/s', timezone: tz })
  // 2024-03-31 01:00Z: 02:00 CET jumps to 03:00 CEST; 02:30 never happens, the window opens at the jump.
  t.equal(nextChange(spring, Z('2024-03-31T00:00:00Z')), Z('2024-03-31T01:00:00Z'), 'opens at the jump')
  t.equal(nextChange(spring, Z('2024-03-31T01:00:00Z')), Z('2024-03-31T01:30:00Z'), 'closes at 03:30 CEST')
  const fall = singleWindowSchedule({ window: '02:00-03:00', rate: '1MiB/s', timezone: tz })
  // 2024-10-27 01:00Z: 03:00 CEST falls back to 02:00 CET; wall time stays inside the window.
  t.equal(nextChange(fall, Z('2024-10-26T23:00:00Z')), Z('2024-10-27T00:00:00Z'), 'opens 02:00 CEST')
  t.equal(nextChange(fall, Z('2024-10-27T00:30:00Z')), Z('2024-10-27T02:00:00Z'), 'the change of offset is no change of rate; closes 03:00 CET')
  t.ok(isOpen(fall.windows[0]!.when, tz, Z('2024-10-27T01:00:00Z')), 'open at 02:00 CET')
})

/** Change instants found the slow way: minute by minute. */
function bruteChanges (s: Schedule, fromMs: number, toMs: number): number[] {
  const out: number[] = []
  let prev = rateAt(s, fromMs)
  for (let at = fromMs + MIN; at <= toMs; at += MIN) {
    const r = rateAt(s, at)
    if (r !== prev) out.push(at)
    prev = r
  }
  return out
}

t.test('nextChange agrees with a minute-by-minute scan across DST weeks', async t => {
  const schedules: Schedule[] = [
    parseSchedule({
      timezone: 'America/Chicago',
      defaultRate: 0,
      windows: [{ when: 'Mon-Fri 00:30-03:30', rate: '5MiB/s' }, { when: 'Sat,Sun 00:00-06:00', rate: '10MiB/s' }]
    }),
    parseSchedule({
      timezone: 'America/Chicago',
      defaultRate: '1Mbit/s',
      windows: [{ when: '01:00-01:30', rate: '2Mbit' }, { when: '02:00-03:00', rate: '3Mbit' }, { when: 'Sun 22:00-04:00', rate: 0 }, { when: '01:15-02:15', rate: '4Mbit' }]
    }),
    parseSchedule({
      timezone: 'Europe/Berlin',
      defaultRate: '1MiB/s',
      windows: [{ when: '02:30-03:30', rate: 0 }, { when: 'Fri 22:00-04:00', rate: 'unlimited' }, { when: 'Sat 00:00-24:00', rate: '2MiB/s' }]
    })
  ]
  // One week around each change of each zone (Chicago: Mar 10, Nov 3; Berlin: Mar 31, Oct 27).
  const periods: Record<string, Array<[string, string]>> = {
    'America/Chicago': [['2024-03-07T00:00:00Z', '2024-03-14T00:00:00Z'], ['2024-10-31T00:00:00Z', '2024-11-07T00:00:00Z']],
    'Europe/Berlin': [['2024-03-28T00:00:00Z', '2024-04-04T00:00:00Z'], ['2024-10-24T00:00:00Z', '2024-10-31T00:00:00Z']]
  }
  for (const [si, s] of schedules.entries()) {
    for (const [from, to] of periods[s.timezone] ?? []) {
      const fromMs = Z(from)
      const toMs = Z(to)
      const expected = bruteChanges(s, fromMs, toMs)
      const got: number[] = []
      for (let at = nextChange(s, fromMs); at !== undefined && at <= toMs; at = nextChange(s, at)) got.push(at)
      t.same(got.map(x => new Date(x).toISOString()), expected.map(x => new Date(x).toISOString()), `schedule ${si} ${from}: ${expected.length} changes`)
      t.ok(expected.length > 0)
    }
  }
})

t.test('first window wins; windowAt; constant schedules never change', async t => {
  const s = parseSchedule({ timezone: 'UTC', defaultRate: 0, windows: [{ when: '01:00-02:00', rate: '1MiB/s' }, { when: '00:00-03:00', rate: '2MiB/s' }] })
  t.equal(rateAt(s, Z('2024-01-01T01:30:00Z')), parseRate('1MiB/s'))
  t.equal(rateAt(s, Z('2024-01-01T02:30:00Z')), parseRate('2MiB/s'))
  t.equal(rateAt(s, Z('2024-01-01T03:30:00Z')), 0)
  t.equal(windowAt(s, Z('2024-01-01T02:30:00Z'))?.when.text, '00:00-03:00')
  t.equal(windowAt(s, Z('2024-01-01T04:00:00Z')), undefined)
  t.equal(nextChange(constantSchedule('5MiB/s'), 0), undefined, 'no windows: no change')
  const same = parseSchedule({ timezone: 'UTC', defaultRate: '1MiB/s', windows: [{ when: '01:00-02:00', rate: '1MiB/s' }] })
  t.equal(nextChange(same, 0), undefined, 'a window at the default rate changes nothing')
})

t.test('schedule YAML: valid file and fail-closed errors', async t => {
  const yaml = [
    'apiVersion: storemesh/v1',
    'kind: WanSchedule',
    'timezone: America/Chicago',
    'defaultRate: 0',
    'windows:',
    '  - when: "Mon-Fri 00:30-03:30"',
    '    rate: 40Mbit/s',
    '  - { when: "Sat,Sun 00:00-06:00", rate: 10MiB/s }'
  ].join('\n')
  const s = parseScheduleYaml(yaml)
  t.equal(s.timezone, 'America/Chicago')
  t.equal(s.defaultRateBytesPerSec, 0)
  t.same(s.windows.map(w => w.rateBytesPerSec), [5_000_000, 10 * 1024 * 1024])
  t.equal(parseScheduleYaml('defaultRate: 1MiB/s\nwindows: []', { defaultTimezone: 'Asia/Tokyo' }).timezone, 'Asia/Tokyo', 'default zone when none named')
  const bad: Array<[string, RegExp]> = [
    ['timezone: Mars/Olympus\ndefaultRate: 0\nwindows: []', /timezone: .*unknown IANA time zone/],
    ['defaultRate: 5\nwindows: []', /defaultRate: .*needs a unit/],
    ['defaultRate: 0\nwindows: [{ when: "25:00-01:00", rate: 0 }]', /windows\.0\.when/],
    ['defaultRate: 0\nwindows: [{ when: "01:00-02:00", rate: 40Mb }]', /windows\.0\.rate: .*ambiguous/],
    ['defaultRate: 0\nwindows: [{ when: "01:00-02:00", rate: 0, extra: 1 }]', /windows\.0/],
    ['defaultRate: 0\nwindows: []\nsurprise: true', /unrecognized|surprise/i],
    ['kind: RolloutPolicy\ndefaultRate: 0\nwindows: []', /kind/],
    ['windows: []', /defaultRate/],
    ['defaultRate: 0\nwindows: [' + Array.from({ length: 65 }, () => '{when: "01:00-02:00", rate: 0}').join(',') + ']', /windows/],
    ['defaultRate: [unclosed', /not YAML/],
    ['# pad\n'.repeat(20_000), /larger than/]
  ]
  for (const [text, re] of bad) {
    let caught: unknown
    try { parseScheduleYaml(text, { source: 'wan.yaml' }) } catch (err) { caught = err }
    t.match(caught, { code: 'E_INVALID_ARGUMENT', meta: { source: 'wan.yaml' } }, text.slice(0, 40))
    t.match((caught as Error | undefined)?.message, re)
  }
})
