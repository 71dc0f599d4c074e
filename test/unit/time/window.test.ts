/**
 * Maintenance windows: DST changes in America/Chicago (2026-03-08 spring forward at
 * 02:00, 2026-11-01 fall back at 02:00) and Europe/Berlin (2026-03-29, 2026-10-25),
 * windows across midnight, weekday ranges, merging, and a cross-check against luxon.
 * Expected instants were worked out by hand from the zone rules.
 */
import t from 'tap'
import { DateTime } from 'luxon'
import { formatWindow, nextOpen, parseWindow, windowState } from '../../../src/time/window.js'

const Z = (s: string): number => Date.parse(s)
const iso = (ms: number): string => new Date(ms).toISOString()

interface Case { name: string, window: string, tz: string, at: string, open: boolean, opens: string, closes: string }

const cases: Case[] = [
  // America/Chicago, spring forward: 02:00 CST -> 03:00 CDT at 08:00Z on Sun 2026-03-08
  { name: 'start in the gap moves to its end', window: 'Sun 02:00-04:00', tz: 'America/Chicago', at: '2026-03-07T18:00:00Z', open: false, opens: '2026-03-08T08:00:00.000Z', closes: '2026-03-08T09:00:00.000Z' },
  { name: 'a window wholly in the gap keeps its length', window: 'Sun 02:00-02:30', tz: 'America/Chicago', at: '2026-03-07T18:00:00Z', open: false, opens: '2026-03-08T08:00:00.000Z', closes: '2026-03-08T08:30:00.000Z' },
  { name: 'a window over the gap is one real hour shorter', window: 'daily 01:00-03:00', tz: 'America/Chicago', at: '2026-03-08T06:00:00Z', open: false, opens: '2026-03-08T07:00:00.000Z', closes: '2026-03-08T08:00:00.000Z' },
  { name: 'across midnight into the gap day', window: 'Sat 23:00-03:00', tz: 'America/Chicago', at: '2026-03-08T06:00:00Z', open: true, opens: '2026-03-08T05:00:00.000Z', closes: '2026-03-08T08:00:00.000Z' },
  { name: 'the week before, in CST', window: 'Tue 02:00-04:00', tz: 'America/Chicago', at: '2026-03-02T12:00:00Z', open: false, opens: '2026-03-03T08:00:00.000Z', closes: '2026-03-03T10:00:00.000Z' },
  { name: 'the week after, in CDT', window: 'Tue 02:00-04:00', tz: 'America/Chicago', at: '2026-03-09T12:00:00Z', open: false, opens: '2026-03-10T07:00:00.000Z', closes: '2026-03-10T09:00:00.000Z' },
  { name: 'from before the change to after it', window: 'Tue 02:00-04:00', tz: 'America/Chicago', at: '2026-03-03T10:00:00Z', open: false, opens: '2026-03-10T07:00:00.000Z', closes: '2026-03-10T09:00:00.000Z' },
  // America/Chicago, fall back: 02:00 CDT -> 01:00 CST at 07:00Z on Sun 2026-11-01
  { name: 'repeated hour: first 01:00 to the only 03:00', window: 'Sun 01:00-03:00', tz: 'America/Chicago', at: '2026-10-31T12:00:00Z', open: false, opens: '2026-11-01T06:00:00.000Z', closes: '2026-11-01T09:00:00.000Z' },
  { name: 'open during the second 01:30 (CST)', window: 'Sun 01:00-03:00', tz: 'America/Chicago', at: '2026-11-01T07:30:00Z', open: true, opens: '2026-11-01T06:00:00.000Z', closes: '2026-11-01T09:00:00.000Z' },
  { name: 'a window inside the repeated hour spans both', window: 'Sun 01:30-01:45', tz: 'America/Chicago', at: '2026-10-31T12:00:00Z', open: false, opens: '2026-11-01T06:30:00.000Z', closes: '2026-11-01T07:45:00.000Z' },
  { name: 'across midnight into the fall-back day', window: 'Sat 22:00-02:00', tz: 'America/Chicago', at: '2026-11-01T07:59:59.999Z', open: true, opens: '2026-11-01T03:00:00.000Z', closes: '2026-11-01T08:00:00.000Z' },
  { name: 'the week after, in CST', window: 'Sun 01:00-03:00', tz: 'America/Chicago', at: '2026-11-01T09:00:00Z', open: false, opens: '2026-11-08T07:00:00.000Z', closes: '2026-11-08T09:00:00.000Z' },
  // Europe/Berlin: 02:00 CET -> 03:00 CEST at 01:00Z on 2026-03-29; 03:00 CEST -> 02:00 CET at 01:00Z on 2026-10-25
  { name: 'Berlin spring forward', window: 'Sun 02:00-04:00', tz: 'Europe/Berlin', at: '2026-03-28T12:00:00Z', open: false, opens: '2026-03-29T01:00:00.000Z', closes: '2026-03-29T02:00:00.000Z' },
  { name: 'Berlin fall back', window: 'Sun 02:00-03:00', tz: 'Europe/Berlin', at: '2026-10-24T12:00:00Z', open: false, opens: '2026-10-25T00:00:00.000Z', closes: '2026-10-25T02:00:00.000Z' },
  { name: 'Berlin, the second 02:30 (CET) is inside', window: 'Sun 02:00-03:00', tz: 'Europe/Berlin', at: '2026-10-25T01:30:00Z', open: true, opens: '2026-10-25T00:00:00.000Z', closes: '2026-10-25T02:00:00.000Z' },
  { name: 'Berlin weekday window in summer time', window: 'Mon-Fri 22:00-02:00', tz: 'Europe/Berlin', at: '2026-06-05T21:00:00Z', open: true, opens: '2026-06-05T20:00:00.000Z', closes: '2026-06-06T00:00:00.000Z' },
  // across midnight, UTC (2026-03-13 is a Friday)
  { name: 'Friday night, open', window: 'Mon-Fri 22:00-02:00', tz: 'UTC', at: '2026-03-13T23:00:00Z', open: true, opens: '2026-03-13T22:00:00.000Z', closes: '2026-03-14T02:00:00.000Z' },
  { name: 'Saturday early, still Friday\'s window', window: 'Mon-Fri 22:00-02:00', tz: 'UTC', at: '2026-03-14T01:59:59.999Z', open: true, opens: '2026-03-13T22:00:00.000Z', closes: '2026-03-14T02:00:00.000Z' },
  { name: 'the end is exclusive', window: 'Mon-Fri 22:00-02:00', tz: 'UTC', at: '2026-03-14T02:00:00Z', open: false, opens: '2026-03-16T22:00:00.000Z', closes: '2026-03-17T02:00:00.000Z' },
  { name: 'the start is inclusive', window: 'Mon-Fri 22:00-02:00', tz: 'UTC', at: '2026-03-16T22:00:00Z', open: true, opens: '2026-03-16T22:00:00.000Z', closes: '2026-03-17T02:00:00.000Z' },
  { name: 'Sunday night is not in Mon-Fri', window: 'Mon-Fri 22:00-02:00', tz: 'UTC', at: '2026-03-15T23:00:00Z', open: false, opens: '2026-03-16T22:00:00.000Z', closes: '2026-03-17T02:00:00.000Z' },
  { name: 'Monday early belongs to Sunday', window: 'Mon-Fri 22:00-02:00', tz: 'UTC', at: '2026-03-16T01:00:00Z', open: false, opens: '2026-03-16T22:00:00.000Z', closes: '2026-03-17T02:00:00.000Z' },
  { name: 'an end of 24:00', window: 'Tue 20:00-24:00', tz: 'UTC', at: '2026-03-10T23:59:00Z', open: true, opens: '2026-03-10T20:00:00.000Z', closes: '2026-03-11T00:00:00.000Z' },
  // weekday ranges and lists (2026-03-10 is a Tuesday)
  { name: 'a range that wraps the week', window: 'Fri-Mon 10:00-11:00', tz: 'UTC', at: '2026-03-10T12:00:00Z', open: false, opens: '2026-03-13T10:00:00.000Z', closes: '2026-03-13T11:00:00.000Z' },
  { name: 'wrapped range: Monday is in', window: 'Fri-Mon 10:00-11:00', tz: 'UTC', at: '2026-03-16T10:30:00Z', open: true, opens: '2026-03-16T10:00:00.000Z', closes: '2026-03-16T11:00:00.000Z' },
  { name: 'a day list', window: 'Mon,Wed 10:00-11:00', tz: 'UTC', at: '2026-03-10T12:00:00Z', open: false, opens: '2026-03-11T10:00:00.000Z', closes: '2026-03-11T11:00:00.000Z' },
  { name: 'weekends', window: 'weekends 10:00-11:00', tz: 'UTC', at: '2026-03-10T12:00:00Z', open: false, opens: '2026-03-14T10:00:00.000Z', closes: '2026-03-14T11:00:00.000Z' },
  { name: 'no day means daily', window: '01:00-05:00', tz: 'UTC', at: '2026-03-10T12:00:00Z', open: false, opens: '2026-03-11T01:00:00.000Z', closes: '2026-03-11T05:00:00.000Z' },
  { name: 'full day names, any case', window: 'TUESDAY 13:00-14:00', tz: 'UTC', at: '2026-03-10T12:00:00Z', open: false, opens: '2026-03-10T13:00:00.000Z', closes: '2026-03-10T14:00:00.000Z' },
  // several windows; overlapping ones merge
  { name: 'overlapping windows merge', window: 'daily 22:00-02:00; daily 01:00-05:00', tz: 'UTC', at: '2026-03-10T23:00:00Z', open: true, opens: '2026-03-10T22:00:00.000Z', closes: '2026-03-11T05:00:00.000Z' },
  { name: 'the earliest of several', window: 'Thu 01:00-02:00; Wed 03:00-04:00', tz: 'UTC', at: '2026-03-10T12:00:00Z', open: false, opens: '2026-03-11T03:00:00.000Z', closes: '2026-03-11T04:00:00.000Z' }
]

for (const c of cases) {
  t.test(`${c.tz} ${c.window}: ${c.name}`, async t => {
    const s = windowState(c.window, c.tz, Z(c.at))
    t.equal(s.open, c.open, 'open')
    t.equal(iso(s.opensAtMs), c.opens, 'opens')
    t.equal(iso(s.closesAtMs), c.closes, 'closes')
    t.equal(nextOpen(c.window, c.tz, Z(c.at)), c.open ? Z(c.at) : Z(c.opens), 'nextOpen')
  })
}

t.test('a window open all day reports a close beyond the scanned week', async t => {
  const now = Z('2026-03-10T12:00:00Z')
  const s = windowState('00:00-24:00', 'America/Chicago', now)
  t.equal(s.open, true)
  t.ok(s.closesAtMs > now + 7 * 86_400_000)
})

t.test('parse: days and minutes', async t => {
  t.same(parseWindow('Mon-Fri 22:00-02:00').rules, [{ days: [1, 2, 3, 4, 5], startMin: 1320, endMin: 120 }])
  t.same(parseWindow('Fri-Mon 10:00-11:00').rules[0]?.days, [1, 5, 6, 7])
  t.same(parseWindow('weekdays 1:00-2:00').rules[0]?.days, [1, 2, 3, 4, 5])
  t.same(parseWindow('daily 00:00-24:00').rules[0], { days: [1, 2, 3, 4, 5, 6, 7], startMin: 0, endMin: 1440 })
  t.same(parseWindow('Sat 22:00-00:00').rules[0]?.endMin, 1440)
})

t.test('parse: one grammar, the union of the WAN\'s and the policy\'s', async t => {
  const days = (w: string): number[] | undefined => parseWindow(w).rules[0]?.days
  t.same(days('Sat,Sun 00:00-06:00'), [6, 7], 'day lists (WAN)')
  t.same(days('sat, SUNDAY 1:00-2:00'), [6, 7], 'spaces after commas, any case (WAN)')
  t.same(days('Mon - Fri 00:30-03:30'), [1, 2, 3, 4, 5], 'spaces around a range')
  t.same(days('weekends,Mon 10:00-11:00'), [1, 6, 7], 'an alias inside a list')
  for (const all of ['* 01:00-02:00', 'everyday 01:00-02:00', 'Daily 01:00-02:00', 'Mon-Sun 01:00-02:00', 'Tue-Mon 01:00-02:00']) {
    t.same(days(all), [1, 2, 3, 4, 5, 6, 7], all)
  }
  t.equal(parseWindow('22:00-00:00').rules[0]?.endMin, 1440, 'an end of 00:00 is midnight')
  t.equal(formatWindow(parseWindow('weekdays 01:00-05:00;Sat,Sun 00:00-08:00')), 'Mon,Tue,Wed,Thu,Fri 01:00-05:00; Sat,Sun 00:00-08:00')
  t.equal(parseWindow('  Tue 02:00-04:00 ').text, 'Tue 02:00-04:00', 'text is kept trimmed for messages')
  for (const bad of ['Mon,,Tue 01:00-02:00', '00:30-03:30 Mon', 'weekdays-Sun 01:00-02:00', '1:2-3:4', 'x'.repeat(300)]) {
    t.throws(() => parseWindow(bad), { code: 'E_INVALID_ARGUMENT' }, bad.slice(0, 30))
  }
})

t.test('parse: bad windows are E_INVALID_ARGUMENT naming the problem (a policy reports them as E_POLICY_INVALID)', async t => {
  const bad: Array<[string, RegExp]> = [
    ['Tux 01:00-02:00', /unknown day "Tux"/],
    ['25:00-01:00', /bad time 25:00/],
    ['01:60-02:00', /bad time 01:60/],
    ['24:00-01:00', /bad time 24:00/],
    ['01:00-01:00', /is empty/],
    ['Mon', /expected "\[days\] HH:MM-HH:MM"/],
    ['', /empty window/],
    ['Mon 01:00-02:00;', /empty window/],
    ['Mon-Tue-Wed 01:00-02:00', /bad day range/]
  ]
  for (const [w, re] of bad) {
    t.throws(() => parseWindow(w), { code: 'E_INVALID_ARGUMENT', message: re }, w)
  }
  t.throws(() => windowState('Mon 01:00-02:00', 'Mars/Olympus', 0), { code: 'E_INVALID_ARGUMENT' })
})

t.test('cross-check with luxon: Mon-Fri 09:00-17:00 in America/Chicago all through 2026', async t => {
  // Hours away from 02:00 never meet a DST edge, so luxon's wall clock is an independent oracle.
  const start = Z('2026-01-01T00:00:00Z')
  let checked = 0
  let mismatches = 0
  for (let ms = start; ms < start + 365 * 86_400_000; ms += 7 * 3_600_000 + 13 * 60_000) {
    const local = DateTime.fromMillis(ms, { zone: 'America/Chicago' })
    const expected = local.weekday <= 5 && local.hour >= 9 && local.hour < 17
    const s = windowState('Mon-Fri 09:00-17:00', 'America/Chicago', ms)
    if (s.open !== expected) mismatches++
    // The next opening, when closed, is a weekday 09:00 local.
    if (!s.open) {
      const o = DateTime.fromMillis(s.opensAtMs, { zone: 'America/Chicago' })
      if (!(o.weekday <= 5 && o.hour === 9 && o.minute === 0)) mismatches++
    }
    checked++
  }
  t.ok(checked > 1000, `${checked} instants checked`)
  t.equal(mismatches, 0)
})
