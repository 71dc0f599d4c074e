/**
 * Time windows in an IANA zone: the one grammar and the one DST rule of the WAN
 * schedules (`--wan-window`, WanSchedule files), `hub prefetch --window` and the
 * policy's `schedule.maintenanceWindow` gate. Pure: no I/O.
 *
 * Grammar (README "Time windows"); case-insensitive, spaces allowed around `,` and `-`:
 *
 *   window := rule (";" rule)*
 *   rule   := [days] HH:MM "-" HH:MM
 *   days   := item ("," item)*          no days: every day
 *   item   := day | day "-" day | daily | everyday | "*" | weekdays | weekends
 *   day    := Mon | Monday | Tue | ... | Sun | Sunday
 *
 * `Mon-Fri 00:30-03:30`, `Sat,Sun 00:00-06:00`, `weekdays 22:00-04:00`,
 * `daily 01:00-05:00; Sun 12:00-14:00`. A day range may wrap the week (`Fri-Mon`). The
 * start is inclusive, the end exclusive. An end at or before the start crosses
 * midnight, and the rule belongs to the day it opens on: `Fri 22:00-04:00` runs from
 * Friday 22:00 to Saturday 04:00. `24:00` (or `00:00`) as an end is midnight;
 * `00:00-24:00` is a whole day. Overlapping or touching openings merge into one.
 *
 * The DST rule: a rule opens at the FIRST instant the local clock shows its start and
 * closes at the LAST instant the clock shows its end; a start or end that the clock
 * never shows (spring-forward gap) moves to the end of the gap, and a rule that lies
 * wholly inside the gap opens at the end of the gap for its nominal length.
 * - Spring forward (Chicago 2026-03-08, 02:00 -> 03:00): `02:00-04:00` opens at 03:00
 *   CDT and runs one real hour; `02:00-02:30` opens at 03:00 CDT and runs 30 minutes.
 * - Fall back (Chicago 2026-11-01, 02:00 CDT -> 01:00 CST): `01:00-01:30` opens at the
 *   first 01:00 and closes at the second 01:30, one opening of 1.5 real hours.
 * Why this rule: a window is a promise of time for a job that must happen (a weekly
 * maintenance window, a pre-staging pull). Dropping a window that sits in the skipped
 * hour would postpone that job a week, and opening one twice in the repeated hour would
 * start it twice (two install waves, twice the WAN budget). Under this rule every
 * listed day has exactly one opening, never cut to nothing, never doubled. It is the
 * rule the policy gate had already, so device decisions do not change; the WAN's
 * former "wall clock inside [start, end)" rule differed only in the DST hour.
 */
import { StoremeshError } from '../interface/errors.js'
import { MAX_WINDOW_TEXT_CHARS, MINUTES_PER_DAY, MS_PER_DAY, MS_PER_MINUTE, SCAN_DAYS_AFTER, SCAN_DAYS_BEFORE } from './constants.js'
import { zoneOf, type TimeZone } from './zone.js'

/** ISO weekdays: 1 = Monday ... 7 = Sunday. */
export type Weekday = 1 | 2 | 3 | 4 | 5 | 6 | 7

export interface WindowRule {
  /** weekdays the rule opens on, ascending */
  days: Weekday[]
  /** minutes after local midnight, 0..1439 */
  startMin: number
  /** minutes after local midnight, 1..1440; at or before startMin means the next day */
  endMin: number
}

export interface TimeWindow {
  /** the text it was parsed from, for messages */
  text: string
  rules: WindowRule[]
}

/** One opening: [startMs, endMs) in real time. */
export interface Opening {
  startMs: number
  endMs: number
}

export interface WindowState {
  open: boolean
  /** open: when the current opening began; closed: when the next one begins (> now) */
  opensAtMs: number
  /** the end of that opening (> now) */
  closesAtMs: number
}

const DAY_NAMES: Record<string, Weekday> = {
  mon: 1, monday: 1, tue: 2, tuesday: 2, wed: 3, wednesday: 3, thu: 4, thursday: 4,
  fri: 5, friday: 5, sat: 6, saturday: 6, sun: 7, sunday: 7
}
const SHORT_NAMES = ['', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const
const ALL_DAYS: readonly Weekday[] = [1, 2, 3, 4, 5, 6, 7]
const DAY_ALIASES: Record<string, readonly Weekday[]> = {
  daily: ALL_DAYS, everyday: ALL_DAYS, '*': ALL_DAYS, weekdays: [1, 2, 3, 4, 5], weekends: [6, 7]
}
const RULE_RE = /^(?:([A-Za-z*][A-Za-z*,\s-]*?)\s+)?(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$/

function invalid (text: string, why: string): StoremeshError {
  return new StoremeshError('E_INVALID_ARGUMENT', `time window ${JSON.stringify(text)}: ${why}`, { window: text })
}

function dayOf (text: string, name: string): Weekday {
  const day = DAY_NAMES[name.toLowerCase()]
  if (day === undefined) throw invalid(text, `unknown day ${JSON.stringify(name)} (Mon..Sun, daily, weekdays, weekends)`)
  return day
}

function parseDays (text: string, spec: string | undefined): Weekday[] {
  if (spec === undefined) return [...ALL_DAYS]
  const days = new Set<Weekday>()
  for (const item of spec.split(',').map(s => s.trim())) {
    if (item === '') throw invalid(text, 'empty day in the list')
    const alias = DAY_ALIASES[item.toLowerCase()]
    const range = item.split('-').map(s => s.trim())
    if (alias !== undefined) {
      for (const d of alias) days.add(d)
    } else if (range.length === 1) {
      days.add(dayOf(text, item))
    } else if (range.length === 2) {
      // A range may wrap the week: Fri-Mon is Fri, Sat, Sun, Mon.
      const to = dayOf(text, range[1] ?? '')
      for (let d = dayOf(text, range[0] ?? ''); ; d = (d % 7 + 1) as Weekday) {
        days.add(d)
        if (d === to) break
      }
    } else {
      throw invalid(text, `bad day range ${JSON.stringify(item)}`)
    }
  }
  return [...days].sort((a, b) => a - b)
}

function minutes (text: string, h: string, m: string, isEnd: boolean): number {
  const hh = Number(h)
  const mm = Number(m)
  if (mm > 59 || hh > 24 || (hh === 24 && (mm !== 0 || !isEnd))) {
    throw invalid(text, `bad time ${h}:${m} (00:00 to 23:59${isEnd ? ', or 24:00 as an end' : ''})`)
  }
  return hh * 60 + mm
}

/** Parses a window expression; throws E_INVALID_ARGUMENT naming what is wrong. */
export function parseWindow (input: string): TimeWindow {
  if (typeof input !== 'string' || input.length > MAX_WINDOW_TEXT_CHARS) {
    throw invalid(String(input).slice(0, 32), `expected text of at most ${MAX_WINDOW_TEXT_CHARS} characters`)
  }
  const text = input.trim()
  const parts = text.split(';').map(s => s.trim())
  if (parts.some(p => p === '')) throw invalid(text, 'empty window (stray ";"?)')
  const rules = parts.map(part => {
    const m = RULE_RE.exec(part)
    if (m === null) throw invalid(text, `expected "[days] HH:MM-HH:MM", e.g. "Mon-Fri 00:30-03:30", got ${JSON.stringify(part)}`)
    const startMin = minutes(text, m[2] ?? '', m[3] ?? '', false)
    const endMin = minutes(text, m[4] ?? '', m[5] ?? '', true)
    if (startMin === endMin) throw invalid(text, `${part} is empty (write 00:00-24:00 for a whole day)`)
    return { days: parseDays(text, m[1]), startMin, endMin: endMin === 0 ? MINUTES_PER_DAY : endMin }
  })
  return { text, rules }
}

function clock (minuteOfDay: number): string {
  return `${String(Math.floor(minuteOfDay / 60)).padStart(2, '0')}:${String(minuteOfDay % 60).padStart(2, '0')}`
}

/** Canonical text: `Mon,Tue,Wed 00:30-03:30`, only the times for every day, rules joined by `; `. */
export function formatWindow (w: TimeWindow): string {
  return w.rules.map(r => {
    const times = `${clock(r.startMin)}-${clock(r.endMin)}`
    return r.days.length === 7 ? times : `${r.days.map(d => SHORT_NAMES[d]).join(',')} ${times}`
  }).join('; ')
}

function windowOf (window: TimeWindow | string): TimeWindow {
  return typeof window === 'string' ? parseWindow(window) : window
}

/** ISO weekday of a local day given as wall-time midnight (1970-01-01 was a Thursday). */
function weekdayOf (dayWallMs: number): Weekday {
  return ((((Math.floor(dayWallMs / MS_PER_DAY) + 3) % 7) + 7) % 7 + 1) as Weekday
}

function localMidnight (zone: TimeZone, atMs: number): number {
  const wall = zone.wallOf(atMs)
  return wall - (((wall % MS_PER_DAY) + MS_PER_DAY) % MS_PER_DAY)
}

/** The opening of `rule` on the local day starting at wall time `dayWallMs`, by the DST rule above. */
function ruleOpening (zone: TimeZone, rule: WindowRule, dayWallMs: number): Opening | undefined {
  if (!rule.days.includes(weekdayOf(dayWallMs))) return undefined
  const nominalMs = (((rule.endMin - rule.startMin) % MINUTES_PER_DAY + MINUTES_PER_DAY) % MINUTES_PER_DAY || MINUTES_PER_DAY) * MS_PER_MINUTE
  const startWall = dayWallMs + rule.startMin * MS_PER_MINUTE
  const startMs = zone.instantOf(startWall, 'earliest')
  let endMs = zone.instantOf(startWall + nominalMs, 'latest')
  // Both ends in the same gap: keep the nominal length from the end of the gap.
  if (endMs <= startMs) endMs = startMs + nominalMs
  return { startMs, endMs }
}

/** Every rule's openings on local days [fromDay, toDay] around `atMs`, unmerged, by start. */
function openingsAround (zone: TimeZone, w: TimeWindow, atMs: number, fromDay: number, toDay: number): Opening[] {
  const today = localMidnight(zone, atMs)
  const out: Opening[] = []
  for (let day = today + fromDay * MS_PER_DAY; day <= today + toDay * MS_PER_DAY; day += MS_PER_DAY) {
    for (const rule of w.rules) {
      const o = ruleOpening(zone, rule, day)
      if (o !== undefined) out.push(o)
    }
  }
  return out.sort((a, b) => a.startMs - b.startMs || a.endMs - b.endMs)
}

/** True when `nowMs` lies inside an opening of `window` in zone `tz` (an IANA name). */
export function isOpen (window: TimeWindow | string, tz: string, nowMs: number): boolean {
  const w = windowOf(window)
  return openingsAround(zoneOf(tz), w, nowMs, -SCAN_DAYS_BEFORE, 0).some(o => o.startMs <= nowMs && nowMs < o.endMs)
}

/**
 * The instants in (fromMs, toMs] at which an opening of `window` starts or ends: the
 * only instants at which isOpen() can change (touching openings give one that does not).
 */
export function windowEdges (window: TimeWindow | string, tz: string, fromMs: number, toMs: number): number[] {
  const zone = zoneOf(tz)
  const days = Math.ceil((toMs - fromMs) / MS_PER_DAY) + 1
  const edges = new Set<number>()
  for (const o of openingsAround(zone, windowOf(window), fromMs, -SCAN_DAYS_BEFORE, days)) {
    if (o.startMs > fromMs && o.startMs <= toMs) edges.add(o.startMs)
    if (o.endMs > fromMs && o.endMs <= toMs) edges.add(o.endMs)
  }
  return [...edges].sort((a, b) => a - b)
}

/** Merged openings (overlapping or touching ones joined) that end after nowMs, in order, over the next week. */
export function windowOpenings (window: TimeWindow | string, tz: string, nowMs: number): Opening[] {
  const merged: Opening[] = []
  for (const o of openingsAround(zoneOf(tz), windowOf(window), nowMs, -SCAN_DAYS_BEFORE, SCAN_DAYS_AFTER)) {
    const last = merged[merged.length - 1]
    if (last !== undefined && o.startMs <= last.endMs) last.endMs = Math.max(last.endMs, o.endMs)
    else merged.push({ ...o })
  }
  return merged.filter(o => o.endMs > nowMs)
}

/**
 * Whether the window is open at nowMs, and the opening that holds now or comes next.
 * An opening merged through the end of the scanned week reports that end as its close:
 * a conservative time to look again, not a promise the window shuts then.
 */
export function windowState (window: TimeWindow | string, tz: string, nowMs: number): WindowState {
  const first = windowOpenings(window, tz, nowMs)[0]
  if (first === undefined) {
    // Every rule has a day and the scan covers a full week, so this cannot happen.
    throw new StoremeshError('E_INTERNAL', 'time window has no opening in the next week')
  }
  return { open: first.startMs <= nowMs, opensAtMs: first.startMs, closesAtMs: first.endMs }
}

/** nowMs when the window is open now, else when it next opens. */
export function nextOpen (window: TimeWindow | string, tz: string, nowMs: number): number {
  const s = windowState(window, tz, nowMs)
  return s.open ? nowMs : s.opensAtMs
}
