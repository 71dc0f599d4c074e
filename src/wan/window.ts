/**
 * Time windows as operators write them: `00:30-03:30`, `22:00-04:00` (crosses
 * midnight), `Mon-Fri 00:30-03:30`, `Sat,Sun 00:00-06:00`, `Fri-Mon 23:00-01:00`.
 *
 * Meaning, chosen so it stays simple across DST changes: an instant is inside the
 * window when its local wall-clock time in the window's IANA zone lies in
 * [start, end), on a listed weekday. A window that crosses midnight belongs to the
 * day it starts on: `Fri 22:00-04:00` runs from Friday 22:00 to Saturday 04:00.
 * Consequences on DST days: when clocks spring forward, a window overlapping the
 * skipped hour is that much shorter, and one lying wholly inside it does not open
 * that day; when clocks fall back, the repeated hour counts twice, so a window
 * spanning it is an hour longer. Maintenance windows in cron and most fleet tools
 * behave the same way.
 */
import { IANAZone } from 'luxon'
import { StoremeshError } from '../interface/errors.js'
import { MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE } from './constants.js'

/** ISO weekdays as luxon numbers them: 1 = Monday ... 7 = Sunday. */
export type Weekday = 1 | 2 | 3 | 4 | 5 | 6 | 7

export interface TimeWindow {
  /** The text it was parsed from, for messages. */
  readonly text: string
  /** Weekdays the window starts on, ascending; all seven when none were written. */
  readonly days: readonly Weekday[]
  /** Start as milliseconds after local midnight. */
  readonly startMs: number
  /** End as milliseconds after local midnight; at most 24:00; below startMs when it crosses midnight. */
  readonly endMs: number
}

const DAY_NAMES: Record<string, Weekday> = {
  mon: 1, monday: 1, tue: 2, tuesday: 2, wed: 3, wednesday: 3, thu: 4, thursday: 4,
  fri: 5, friday: 5, sat: 6, saturday: 6, sun: 7, sunday: 7
}
const SHORT_NAMES = ['', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const

const WINDOW_RE = /^(?:([A-Za-z][A-Za-z,\s-]*?)\s+)?(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})$/
const TIME_RE = /^(\d{1,2}):(\d{2})$/
const MAX_WINDOW_TEXT = 100
const ALL_DAYS: readonly Weekday[] = [1, 2, 3, 4, 5, 6, 7]

function invalid (text: string, why: string): StoremeshError {
  return new StoremeshError('E_INVALID_ARGUMENT', `invalid time window "${text}": ${why}`, { window: text })
}

function parseTime (text: string, time: string, allow24: boolean): number {
  const m = TIME_RE.exec(time)
  const hour = Number(m?.[1])
  const minute = Number(m?.[2])
  if (m === null || minute > 59) throw invalid(text, `"${time}" is not a time of day (HH:MM)`)
  if (hour === 24 && minute === 0 && allow24) return MS_PER_DAY
  if (hour > 23) throw invalid(text, `"${time}" is not a time of day (00:00 to 23:59${allow24 ? ', or 24:00 as an end' : ''})`)
  return hour * MS_PER_HOUR + minute * MS_PER_MINUTE
}

function parseDay (text: string, name: string): Weekday {
  const day = DAY_NAMES[name.trim().toLowerCase()]
  if (day === undefined) throw invalid(text, `"${name.trim()}" is not a weekday (Mon, Tue, ... Sun)`)
  return day
}

function parseDays (text: string, spec: string): Weekday[] {
  const days = new Set<Weekday>()
  for (const item of spec.split(',')) {
    if (item.trim() === '') throw invalid(text, 'empty weekday in the list')
    const [from, to, extra] = item.split('-')
    if (extra !== undefined) throw invalid(text, `"${item.trim()}" is not a weekday or a range`)
    const a = parseDay(text, from ?? '')
    if (to === undefined) {
      days.add(a)
      continue
    }
    // Ranges may wrap the week: Fri-Mon is Fri, Sat, Sun, Mon.
    const b = parseDay(text, to)
    for (let d = a; ; d = (d % 7 + 1) as Weekday) {
      days.add(d)
      if (d === b) break
    }
  }
  return [...days].sort((x, y) => x - y)
}

/** Parses `[days ]HH:MM-HH:MM`; throws E_INVALID_ARGUMENT with the reason. */
export function parseWindow (input: string): TimeWindow {
  if (typeof input !== 'string' || input.length > MAX_WINDOW_TEXT) {
    throw invalid(String(input).slice(0, 20), `expected text of at most ${MAX_WINDOW_TEXT} characters`)
  }
  const text = input.trim()
  const m = WINDOW_RE.exec(text)
  if (m === null) throw invalid(text, 'expected "HH:MM-HH:MM" with optional weekdays first, e.g. "Mon-Fri 00:30-03:30"')
  const days = m[1] === undefined ? ALL_DAYS : parseDays(text, m[1])
  const startMs = parseTime(text, m[2] ?? '', false)
  const endMs = parseTime(text, m[3] ?? '', true)
  if (startMs === endMs) throw invalid(text, 'start and end are equal; write 00:00-24:00 for a whole day')
  return { text, days, startMs, endMs }
}

function clock (ms: number): string {
  const minutes = Math.floor(ms / MS_PER_MINUTE)
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`
}

/** Canonical text: `Mon,Tue,Wed,Thu,Fri 00:30-03:30`, or just the times for every day. */
export function formatWindow (w: TimeWindow): string {
  const times = `${clock(w.startMs)}-${clock(w.endMs)}`
  if (w.days.length === 7) return times
  return `${w.days.map(d => SHORT_NAMES[d]).join(',')} ${times}`
}

// Checking a zone name builds an Intl.DateTimeFormat (~0.4 ms); schedules ask per instant.
const zones = new Map<string, IANAZone>()
const MAX_CACHED_ZONES = 1000

/** A zone by IANA name; throws E_INVALID_ARGUMENT for an unknown one. */
export function zoneOf (timezone: string): IANAZone {
  const cached = zones.get(timezone)
  if (cached !== undefined) return cached
  if (typeof timezone !== 'string' || !IANAZone.isValidZone(timezone)) {
    throw new StoremeshError('E_INVALID_ARGUMENT', `unknown IANA time zone "${String(timezone)}"`, { timezone: String(timezone) })
  }
  const zone = IANAZone.create(timezone)
  if (zones.size >= MAX_CACHED_ZONES) zones.clear()
  zones.set(timezone, zone)
  return zone
}

/** Local weekday and milliseconds after local midnight of an instant. */
export interface LocalTime {
  weekday: Weekday
  msOfDay: number
}

export function localTimeOf (nowMs: number, zone: IANAZone): LocalTime {
  // Wall time read as UTC: the zone's offset is all luxon needs to tell us.
  const wallMs = nowMs + zone.offset(nowMs) * MS_PER_MINUTE
  const day = Math.floor(wallMs / MS_PER_DAY)
  const msOfDay = wallMs - day * MS_PER_DAY
  // 1970-01-01 was a Thursday (ISO weekday 4).
  const weekday = (((day + 3) % 7 + 7) % 7 + 1) as Weekday
  return { weekday, msOfDay }
}

/** isOpen() on a local time already computed (schedules test many windows per instant). */
export function isOpenAtLocal (w: TimeWindow, local: LocalTime): boolean {
  if (w.startMs < w.endMs) {
    return w.days.includes(local.weekday) && local.msOfDay >= w.startMs && local.msOfDay < w.endMs
  }
  // Crosses midnight: the evening part belongs to today, the morning part to yesterday.
  if (local.msOfDay >= w.startMs) return w.days.includes(local.weekday)
  const yesterday = (local.weekday === 1 ? 7 : local.weekday - 1) as Weekday
  return local.msOfDay < w.endMs && w.days.includes(yesterday)
}

/** True when `nowMs` lies inside `window` in time zone `timezone` (an IANA name). */
export function isOpen (window: TimeWindow | string, timezone: string, nowMs: number): boolean {
  const w = typeof window === 'string' ? parseWindow(window) : window
  return isOpenAtLocal(w, localTimeOf(nowMs, zoneOf(timezone)))
}
