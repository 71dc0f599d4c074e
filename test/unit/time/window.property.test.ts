/**
 * Property tests of src/time/window.ts (fast-check, fixed seed, bounded runs) in zones
 * with and without DST: America/Chicago and Europe/Berlin (1-hour DST),
 * Australia/Lord_Howe (30-minute DST), Pacific/Chatham (+12:45/+13:45, DST at 02:45),
 * Asia/Kolkata (+05:30, none) and UTC, over 2026-2027.
 *
 * The DST rule under test, chosen in src/time/window.ts: a rule opens at the FIRST
 * instant the local clock shows its start and closes at the LAST instant it shows its
 * end; a start or end in a spring-forward gap moves to the end of the gap, and a rule
 * wholly inside the gap opens there for its nominal length. Chosen because a
 * maintenance or pre-staging window is time promised to a job: dropping one that sits
 * in the skipped hour postpones the job a week, opening one twice in the repeated hour
 * starts it twice. So every listed day has exactly one opening, never lost, never doubled.
 *
 * The oracles are independent of the module: luxon's wall clock (DateTime) and the
 * zone's transitions found here by bisection on IANAZone.offset.
 */
import fc from 'fast-check'
import { DateTime, IANAZone } from 'luxon'
import t from 'tap'
import { formatWindow, isOpen, nextOpen, parseWindow, windowEdges, windowState, type TimeWindow, type Weekday, type WindowRule } from '../../../src/time/window.js'

const ZONES = ['America/Chicago', 'Europe/Berlin', 'Australia/Lord_Howe', 'Pacific/Chatham', 'Asia/Kolkata', 'UTC'] as const
const FROM_MS = Date.parse('2026-01-01T00:00:00Z')
const TO_MS = Date.parse('2028-01-01T00:00:00Z')
const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR
/** Fixed seed and bounded runs: the same cases every time, a few seconds in all. */
const FC = { seed: 20260308, numRuns: 150 }

interface Transition { zone: string, atMs: number, beforeMs: number, afterMs: number }

/** Every offset change of `zone` in [FROM_MS, TO_MS), found from IANAZone.offset alone. */
function transitionsOf (zone: string): Transition[] {
  const z = IANAZone.create(zone)
  const off = (ms: number): number => z.offset(ms) * MIN
  const out: Transition[] = []
  const STEP = 6 * HOUR // no zone changes offset twice within 6 hours
  for (let a = FROM_MS; a < TO_MS; a += STEP) {
    const before = off(a)
    if (off(a + STEP) === before) continue
    let lo = a
    let hi = a + STEP
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2)
      if (off(mid) === before) lo = mid
      else hi = mid
    }
    out.push({ zone, atMs: hi, beforeMs: before, afterMs: off(hi) })
  }
  return out
}

const TRANSITIONS = ZONES.flatMap(transitionsOf)

t.test('the zones have the transitions the properties rely on', async t => {
  const count = (zone: string): number => TRANSITIONS.filter(x => x.zone === zone).length
  for (const zone of ['America/Chicago', 'Europe/Berlin', 'Australia/Lord_Howe', 'Pacific/Chatham']) t.equal(count(zone), 4, `${zone}: 2 springs, 2 falls`)
  t.equal(count('Asia/Kolkata') + count('UTC'), 0, 'Kolkata and UTC: none')
  t.ok(TRANSITIONS.some(x => Math.abs(x.afterMs - x.beforeMs) === 30 * MIN), 'Lord Howe shifts by 30 minutes')
})

// --- arbitraries ---------------------------------------------------------------

/** Minutes of day, biased to the small hours where DST changes happen. */
const minuteOfDay = fc.oneof(fc.integer({ min: 0, max: 1439 }), fc.integer({ min: 60, max: 240 }), fc.integer({ min: 0, max: 95 }).map(q => q * 15))
const days = fc.subarray([1, 2, 3, 4, 5, 6, 7] as Weekday[], { minLength: 1 }).map(d => [...d].sort((a, b) => a - b))
const rule: fc.Arbitrary<WindowRule> = fc.tuple(days, minuteOfDay, fc.integer({ min: 1, max: 1439 }))
  .map(([d, startMin, lengthMin]) => ({ days: d, startMin, endMin: ((startMin + lengthMin) % 1440) || 1440 }))
const windowArb: fc.Arbitrary<TimeWindow> = fc.array(rule, { minLength: 1, maxLength: 3 }).map(rules => {
  const w = { text: '', rules }
  return { text: formatWindow(w), rules }
})
const zone = fc.constantFrom(...ZONES)
/** Instants anywhere in 2026-2027, or within two days of a DST change. */
const instant = fc.oneof(
  fc.integer({ min: FROM_MS, max: TO_MS }),
  fc.constantFrom(...TRANSITIONS).chain(x => fc.integer({ min: x.atMs - 2 * DAY, max: x.atMs + 2 * DAY }))
)

// --- the old WAN rule as an oracle, valid where no DST change is near ---------------

/** Wall-clock membership: local weekday and time inside a rule (an evening part belongs to its day). */
function wallClockOpen (w: TimeWindow, tz: string, atMs: number): boolean {
  const local = DateTime.fromMillis(atMs, { zone: tz })
  const msOfDay = ((local.hour * 60 + local.minute) * 60 + local.second) * 1000 + local.millisecond
  const today = local.weekday as Weekday
  const yesterday = (today === 1 ? 7 : today - 1) as Weekday
  return w.rules.some(r => {
    const s = r.startMin * MIN
    const e = r.endMin * MIN
    if (s < e) return r.days.includes(today) && msOfDay >= s && msOfDay < e
    return (msOfDay >= s && r.days.includes(today)) || (msOfDay < e && r.days.includes(yesterday))
  })
}

function nearTransition (tz: string, atMs: number): boolean {
  return TRANSITIONS.some(x => x.zone === tz && x.atMs > atMs - 3 * DAY && x.atMs < atMs + 2 * DAY)
}

t.test('properties over zones and instants', async t => {
  // Rule: nextOpen() is the instant to act at; it is never in the past.
  t.doesNotThrow(() => fc.assert(fc.property(windowArb, zone, instant, (w, tz, now) => nextOpen(w, tz, now) >= now), FC),
    'nextOpen is never before now')

  // Rule: windowState() and isOpen() tell one story: open means the opening holds now,
  // closed means the next one starts after now.
  t.doesNotThrow(() => fc.assert(fc.property(windowArb, zone, instant, (w, tz, now) => {
    const s = windowState(w, tz, now)
    if (s.open !== isOpen(w, tz, now)) return false
    return s.open ? s.opensAtMs <= now && now < s.closesAtMs : now < s.opensAtMs && s.opensAtMs < s.closesAtMs
  }), FC), 'windowState and isOpen agree, and the opening they report brackets now')

  // Rule: an instant inside a window needs no waiting: its next opening is itself.
  t.doesNotThrow(() => fc.assert(fc.property(windowArb, zone, instant, (w, tz, now) => !isOpen(w, tz, now) || nextOpen(w, tz, now) === now), FC),
    'next-open of a time in a window is itself')

  // Rule: openings are half-open intervals that follow one another: walking from state
  // to state, open and closed alternate, every opening starts with a closed instant just
  // before it and ends with one just after (unless it runs past the scanned week).
  t.doesNotThrow(() => fc.assert(fc.property(windowArb, zone, instant, (w, tz, start) => {
    let now = start
    let wasOpen: boolean | undefined
    for (let step = 0; step < 4; step++) {
      const s = windowState(w, tz, now)
      if (wasOpen !== undefined && s.open === wasOpen) return false
      if (s.open) {
        if (!isOpen(w, tz, s.closesAtMs - 1)) return false
        if (isOpen(w, tz, s.closesAtMs)) return s.closesAtMs >= now + 7 * DAY // merged through the scanned week
        now = s.closesAtMs
      } else {
        if (isOpen(w, tz, s.opensAtMs - 1) || !isOpen(w, tz, s.opensAtMs)) return false
        if (isOpen(w, tz, now + Math.floor((s.opensAtMs - now) / 2))) return false
        now = s.opensAtMs
      }
      wasOpen = s.open
    }
    return true
  }), FC), 'open and close alternate, and the edges are where isOpen changes')

  // Rule: away from DST changes both old rules agreed with the wall clock, and so must
  // this one: open exactly when the local weekday and time are inside a rule.
  t.doesNotThrow(() => fc.assert(fc.property(windowArb, zone, fc.integer({ min: FROM_MS, max: TO_MS }), (w, tz, now) =>
    nearTransition(tz, now) || isOpen(w, tz, now) === wallClockOpen(w, tz, now)), FC),
  'away from DST changes, an instant is open exactly when its local wall time is inside a rule')

  // Rule: the windows never leave a hole where the clock jumps: rules that together cover
  // every minute of every day keep the window open at every instant, DST days included.
  const wholeDay = fc.oneof(
    fc.constant('00:00-24:00'),
    fc.constant('daily 00:00-24:00'),
    fc.constant('Mon-Sun 00:00-24:00'),
    fc.tuple(minuteOfDay, minuteOfDay).filter(([a, b]) => a !== b).map(([a, b]) => {
      const hhmm = (m: number): string => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`
      return `daily ${hhmm(a)}-${hhmm(b)}; ${hhmm(b)}-${hhmm(a)}`
    })
  )
  t.doesNotThrow(() => fc.assert(fc.property(wholeDay, zone, instant, (w, tz, now) => isOpen(w, tz, now) && nextOpen(w, tz, now) === now), FC),
    'a window that covers the whole day is always open')
})

// --- the grammar ---------------------------------------------------------------

const DAY_SPELLINGS: Record<Weekday, string[]> = {
  1: ['Mon', 'mon', 'MONDAY', 'Monday'],
  2: ['Tue', 'tue', 'TUESDAY', 'Tuesday'],
  3: ['Wed', 'wed', 'WEDNESDAY', 'Wednesday'],
  4: ['Thu', 'thu', 'THURSDAY', 'Thursday'],
  5: ['Fri', 'fri', 'FRIDAY', 'Friday'],
  6: ['Sat', 'sat', 'SATURDAY', 'Saturday'],
  7: ['Sun', 'sun', 'SUNDAY', 'Sunday']
}

t.test('grammar properties', async t => {
  // Rule: formatWindow() writes the canonical text, and parsing it gives the same rules.
  t.doesNotThrow(() => fc.assert(fc.property(windowArb, w => {
    const again = parseWindow(formatWindow(w))
    return JSON.stringify(again.rules) === JSON.stringify(w.rules) && formatWindow(again) === formatWindow(w)
  }), { ...FC, numRuns: 500 }), 'format then parse is the identity on rules')

  // Rule: one grammar, many spellings: day names in any case, short or long, listed with
  // optional spaces, or as the range or alias that means the same days, parse alike.
  const spelled = fc.tuple(rule, fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.boolean()).map(([r, salt, spaced]) => {
    let dayText: string
    const all = r.days.length === 7
    const weekdaysOnly = JSON.stringify(r.days) === '[1,2,3,4,5]'
    const weekends = JSON.stringify(r.days) === '[6,7]'
    const contiguous = r.days.length > 1 && r.days.every((d, i) => i === 0 || d === (r.days[i - 1] as number) + 1)
    if (all) dayText = ['', 'daily ', 'everyday ', '* ', 'Mon-Sun ', 'weekdays,weekends '][salt % 6] as string
    else if (weekdaysOnly && salt % 2 === 0) dayText = 'weekdays '
    else if (weekends && salt % 2 === 0) dayText = 'Weekends '
    else if (contiguous && salt % 3 === 0) dayText = `${DAY_SPELLINGS[r.days[0] as Weekday][salt % 4] as string}${spaced ? ' - ' : '-'}${DAY_SPELLINGS[r.days[r.days.length - 1] as Weekday][(salt >> 2) % 4] as string} `
    else dayText = r.days.map((d, i) => DAY_SPELLINGS[d][(salt >> i) % 4] as string).join(spaced ? ', ' : ',') + ' '
    const h = (m: number, pad: boolean): string => `${pad ? String(Math.floor(m / 60)).padStart(2, '0') : String(Math.floor(m / 60))}:${String(m % 60).padStart(2, '0')}`
    const end = r.endMin === 1440 && salt % 5 === 0 ? '00:00' : h(r.endMin, salt % 7 !== 0)
    return { r, text: `${dayText}${h(r.startMin, salt % 7 !== 0)}${spaced ? ' - ' : '-'}${end}` }
  })
  t.doesNotThrow(() => fc.assert(fc.property(spelled, ({ r, text }) => JSON.stringify(parseWindow(text).rules) === JSON.stringify([r])), { ...FC, numRuns: 500 }),
    'every spelling of a rule parses to the same canonical rule')

  // Rule: anything else fails closed with a typed error (never an exception of another kind).
  t.doesNotThrow(() => fc.assert(fc.property(fc.string({ maxLength: 40 }), s => {
    try {
      parseWindow(s)
      return true
    } catch (err) {
      return (err as { code?: string }).code === 'E_INVALID_ARGUMENT'
    }
  }), { ...FC, numRuns: 500 }), 'arbitrary text parses or fails with E_INVALID_ARGUMENT')
})

// --- the DST rule at every transition ----------------------------------------------

/**
 * Where the rule says a daily rule starting at wall time `wsMs` (local time read as
 * UTC) for `lengthMs` opens and closes, next to transition `x`.
 */
function expectedOpening (x: Transition, wsMs: number, lengthMs: number): [number, number] {
  const weMs = wsMs + lengthMs
  let earliest: (wall: number) => number
  let latest: (wall: number) => number
  if (x.afterMs > x.beforeMs) {
    // spring forward: wall times in [T + before, T + after) never show; they open at T
    const gapStart = x.atMs + x.beforeMs
    const gapEnd = x.atMs + x.afterMs
    const at = (wall: number): number => wall < gapStart ? wall - x.beforeMs : wall >= gapEnd ? wall - x.afterMs : x.atMs
    earliest = at
    latest = at
  } else {
    // fall back: wall times in [T + after, T + before) show twice
    earliest = wall => wall < x.atMs + x.beforeMs ? wall - x.beforeMs : wall - x.afterMs
    latest = wall => wall < x.atMs + x.afterMs ? wall - x.beforeMs : wall - x.afterMs
  }
  const s = earliest(wsMs)
  const e = latest(weMs)
  return [s, e > s ? e : s + lengthMs]
}

function checkAtTransition (x: Transition, offsetMin: number, lengthMin: number): string | undefined {
  // Wall time of the transition's jump (spring) or of the start of the repeat (fall).
  const edgeWall = x.atMs + Math.min(x.beforeMs, x.afterMs)
  const wsMs = edgeWall + offsetMin * MIN
  const window = `daily ${DateTime.fromMillis(wsMs, { zone: 'UTC' }).toFormat('HH:mm')}-${DateTime.fromMillis(wsMs + lengthMin * MIN, { zone: 'UTC' }).toFormat('HH:mm')}`
  const [s, e] = expectedOpening(x, wsMs, lengthMin * MIN)
  const st = windowState(window, x.zone, s - 1)
  const where = `${x.zone} ${new Date(x.atMs).toISOString()} "${window}"`
  if (st.open || st.opensAtMs !== s || st.closesAtMs !== e) {
    return `${where}: expected [${new Date(s).toISOString()}, ${new Date(e).toISOString()}), got ${st.open ? 'open' : 'closed'} [${new Date(st.opensAtMs).toISOString()}, ${new Date(st.closesAtMs).toISOString()})`
  }
  // Exactly one opening and one close in between: never opened twice.
  const edges = windowEdges(window, x.zone, s - HOUR, e + HOUR)
  if (JSON.stringify(edges) !== JSON.stringify([s, e])) return `${where}: edges ${edges.map(ms => new Date(ms).toISOString()).join(', ')}`
  return undefined
}

t.test('the DST rule holds at every transition of the zones in 2026-2027', async t => {
  t.ok(TRANSITIONS.length >= 16)
  // Exhaustive: every transition, starts from an hour before the jump or repeat to an
  // hour after, lengths from inside the shifted stretch to well beyond it.
  const failures: string[] = []
  let checked = 0
  for (const x of TRANSITIONS) {
    for (const offsetMin of [-60, -30, -15, -1, 0, 1, 10, 15, 29, 30, 44, 45, 59, 60, 75]) {
      for (const lengthMin of [1, 15, 30, 45, 60, 90, 240]) {
        const f = checkAtTransition(x, offsetMin, lengthMin)
        if (f !== undefined) failures.push(f)
        checked++
      }
    }
  }
  t.same(failures.slice(0, 5), [], `${checked} windows around ${TRANSITIONS.length} transitions`)

  // Random: any start within four hours of the change, any length up to eight hours.
  t.doesNotThrow(() => fc.assert(fc.property(fc.constantFrom(...TRANSITIONS), fc.integer({ min: -240, max: 240 }), fc.integer({ min: 1, max: 480 }),
    (x, offsetMin, lengthMin) => checkAtTransition(x, offsetMin, lengthMin) === undefined), FC), 'random starts and lengths around each transition')

  // The rule in words, on Chicago 2026 (spring 03-08 02:00 CST -> 03:00 CDT, fall 11-01 02:00 CDT -> 01:00 CST):
  const chicago = 'America/Chicago'
  t.same(windowState('02:15-02:45', chicago, Date.parse('2026-03-08T07:00:00Z')),
    { open: false, opensAtMs: Date.parse('2026-03-08T08:00:00Z'), closesAtMs: Date.parse('2026-03-08T08:30:00Z') },
    'wholly inside the gap: opens at the end of the gap (03:00 CDT) for its nominal 30 minutes')
  t.same(windowState('01:15-01:45', chicago, Date.parse('2026-11-01T06:00:00Z')),
    { open: false, opensAtMs: Date.parse('2026-11-01T06:15:00Z'), closesAtMs: Date.parse('2026-11-01T07:45:00Z') },
    'inside the repeated hour: opens at the first 01:15 (CDT), closes at the last 01:45 (CST), once')
})
