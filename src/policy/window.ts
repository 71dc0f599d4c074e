/**
 * Maintenance windows in an IANA time zone: `Tue 02:00-04:00`, `Mon-Fri 22:00-02:00`,
 * `daily 01:00-05:00`, `01:00-05:00` (daily), `Mon,Wed,Fri 01:00-03:00`, `weekdays ...`,
 * `weekends ...`; several joined with `;`. The day names the day the window opens;
 * an end at or before the start crosses midnight into the next day; `24:00` ends at
 * midnight.
 *
 * Wall-clock semantics across DST, so that a window is never silently lost nor cut short:
 * - a window opens at the first instant the local clock shows its start, and closes at
 *   the last instant the clock shows its end (fall-back: `01:00-03:00` on a day whose
 *   01:00-02:00 happens twice opens at the first 01:00 and runs 3 real hours);
 * - a start or end inside the spring-forward gap moves to the end of the gap
 *   (`02:00-04:00` on 2026-03-08 in America/Chicago is 03:00-04:00 CDT);
 * - a window that falls wholly inside the gap opens at the end of the gap for its
 *   nominal length (a weekly window still happens that week).
 *
 * Time zone offsets come from luxon's IANAZone; calendar days are walked as
 * "local time as if UTC" milliseconds, which never meet a DST change. Pure.
 */
import { IANAZone } from 'luxon'
import { StoremeshError } from '../interface/errors.js'
import { DAY_MS, MINUTE_MS } from './constants.js'

export interface WindowRule {
  /** ISO weekdays the window opens on: 1 = Monday ... 7 = Sunday */
  days: number[]
  /** minutes after local midnight, 0..1439 */
  startMin: number
  /** minutes after local midnight, 1..1440; at or before startMin means the next day */
  endMin: number
}

export interface MaintenanceWindow {
  source: string
  rules: WindowRule[]
}

export interface WindowState {
  open: boolean
  /** open: when the current opening began; closed: when the next one begins (> now) */
  opensAtMs: number
  /** the end of that opening (> now) */
  closesAtMs: number
}

const DAY_NAMES = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']
const FULL_DAY_NAMES = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday']
const ALL_DAYS = [1, 2, 3, 4, 5, 6, 7]
const DAY_ALIASES: Record<string, number[]> = {
  daily: ALL_DAYS, '*': ALL_DAYS, everyday: ALL_DAYS, weekdays: [1, 2, 3, 4, 5], weekends: [6, 7]
}
/** Days scanned from yesterday (windows that opened then and still run) to a week ahead. */
const SCAN_DAYS_BEFORE = 1
const SCAN_DAYS_AFTER = 8
const MAX_WINDOW_CHARS = 256

const RULE_RE = /^(?:(\S+)\s+)?(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$/

function invalid (source: string, why: string): StoremeshError {
  return new StoremeshError('E_POLICY_INVALID', `maintenance window ${JSON.stringify(source)}: ${why}`)
}

function dayNumber (name: string, source: string): number {
  const n = name.toLowerCase()
  const i = DAY_NAMES.indexOf(n) >= 0 ? DAY_NAMES.indexOf(n) : FULL_DAY_NAMES.indexOf(n)
  if (i < 0) throw invalid(source, `unknown day ${JSON.stringify(name)} (Mon..Sun, daily, weekdays, weekends)`)
  return i + 1
}

function parseDays (token: string | undefined, source: string): number[] {
  if (token === undefined) return ALL_DAYS
  const alias = DAY_ALIASES[token.toLowerCase()]
  if (alias !== undefined) return alias
  const days = new Set<number>()
  for (const part of token.split(',')) {
    const range = part.split('-')
    if (range.length === 1) {
      days.add(dayNumber(part, source))
    } else if (range.length === 2) {
      // A range may wrap the week: Fri-Mon is Fri, Sat, Sun, Mon.
      const from = dayNumber(range[0] ?? '', source)
      const to = dayNumber(range[1] ?? '', source)
      for (let d = from, n = 0; n < 7; d = (d % 7) + 1, n++) {
        days.add(d)
        if (d === to) break
      }
    } else {
      throw invalid(source, `bad day range ${JSON.stringify(part)}`)
    }
  }
  return [...days].sort((a, b) => a - b)
}

function minutes (h: string, m: string, source: string, allow24: boolean): number {
  const hh = Number(h)
  const mm = Number(m)
  if (mm > 59 || hh > 24 || (hh === 24 && (mm !== 0 || !allow24))) throw invalid(source, `bad time ${h}:${m}`)
  return hh * 60 + mm
}

/** Parses a window expression; throws E_POLICY_INVALID naming what is wrong. */
export function parseWindow (source: string): MaintenanceWindow {
  if (source.length > MAX_WINDOW_CHARS) throw invalid(source.slice(0, 32) + '...', `longer than ${MAX_WINDOW_CHARS} characters`)
  const parts = source.split(';').map(s => s.trim())
  if (parts.some(p => p === '')) throw invalid(source, 'empty window (stray ";"?)')
  const rules = parts.map(part => {
    const m = RULE_RE.exec(part)
    if (m === null) throw invalid(source, `expected "[days] HH:MM-HH:MM", got ${JSON.stringify(part)}`)
    const startMin = minutes(m[2] ?? '', m[3] ?? '', source, false)
    const endMin = minutes(m[4] ?? '', m[5] ?? '', source, true)
    if (startMin === endMin) throw invalid(source, `${part} is empty (write 00:00-24:00 for a whole day)`)
    return { days: parseDays(m[1], source), startMin, endMin: endMin === 0 ? 1440 : endMin }
  })
  return { source, rules }
}

export function isValidTimezone (tz: string): boolean {
  return IANAZone.isValidZone(tz)
}

function zoneOf (tz: string): IANAZone {
  const zone = IANAZone.create(tz)
  if (!zone.isValid) throw new StoremeshError('E_POLICY_INVALID', `unknown time zone ${JSON.stringify(tz)}`)
  return zone
}

/** UTC offset in ms at an instant. */
function offsetMs (zone: IANAZone, atMs: number): number {
  return zone.offset(atMs) * MINUTE_MS
}

/**
 * The instant the local clock shows `wallMs` (local time written as if UTC):
 * `earliest` or `latest` of two when the time repeats, the end of the gap when it
 * does not exist.
 */
export function wallToInstant (zone: IANAZone, wallMs: number, pick: 'earliest' | 'latest'): number {
  const offsets = new Set([offsetMs(zone, wallMs - DAY_MS), offsetMs(zone, wallMs), offsetMs(zone, wallMs + DAY_MS)])
  const valid = [...offsets].map(o => wallMs - o).filter(t => offsetMs(zone, t) === wallMs - t).sort((a, b) => a - b)
  if (valid.length > 0) return (pick === 'earliest' ? valid[0] : valid[valid.length - 1]) as number
  // In the gap: the clock jumps from before wallMs to after it at one transition.
  const before = offsetMs(zone, wallMs - DAY_MS)
  const after = offsetMs(zone, wallMs + DAY_MS)
  let lo = wallMs - after // still on the old offset
  let hi = wallMs - before // already on the new offset
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2)
    if (offsetMs(zone, mid) === before) lo = mid
    else hi = mid
  }
  return hi
}

/** The openings of `rule` that start on local days [fromDay, toDay] (local-as-UTC midnights). */
function openings (zone: IANAZone, rule: WindowRule, fromDayMs: number, toDayMs: number): Array<[number, number]> {
  const out: Array<[number, number]> = []
  const nominalMs = (((rule.endMin - rule.startMin) % 1440 + 1440) % 1440 || 1440) * MINUTE_MS
  for (let day = fromDayMs; day <= toDayMs; day += DAY_MS) {
    const weekday = ((new Date(day).getUTCDay() + 6) % 7) + 1
    if (!rule.days.includes(weekday)) continue
    const startWall = day + rule.startMin * MINUTE_MS
    const endWall = startWall + nominalMs
    const s = wallToInstant(zone, startWall, 'earliest')
    let e = wallToInstant(zone, endWall, 'latest')
    if (e <= s) e = s + nominalMs
    out.push([s, e])
  }
  return out
}

/** Merged openings (overlapping or touching ones joined) that end after fromMs, in order. */
export function windowOpenings (window: MaintenanceWindow | string, tz: string, nowMs: number): Array<[number, number]> {
  const w = typeof window === 'string' ? parseWindow(window) : window
  const zone = zoneOf(tz)
  const localNow = nowMs + offsetMs(zone, nowMs)
  const today = localNow - (((localNow % DAY_MS) + DAY_MS) % DAY_MS)
  const all = w.rules.flatMap(r => openings(zone, r, today - SCAN_DAYS_BEFORE * DAY_MS, today + SCAN_DAYS_AFTER * DAY_MS))
  all.sort((a, b) => a[0] - b[0] || a[1] - b[1])
  const merged: Array<[number, number]> = []
  for (const [s, e] of all) {
    const last = merged[merged.length - 1]
    if (last !== undefined && s <= last[1]) last[1] = Math.max(last[1], e)
    else merged.push([s, e])
  }
  return merged.filter(([, e]) => e > nowMs)
}

/**
 * Whether the window is open at nowMs, and the opening that holds now or comes next.
 * An opening merged through the end of the scanned week reports that end as its close:
 * a conservative time to look again, not a promise the window shuts then.
 */
export function windowState (window: MaintenanceWindow | string, tz: string, nowMs: number): WindowState {
  const first = windowOpenings(window, tz, nowMs)[0]
  if (first === undefined) {
    // Every rule has a day and the scan covers a full week, so this cannot happen.
    throw new StoremeshError('E_INTERNAL', 'maintenance window has no opening in the next week')
  }
  return { open: first[0] <= nowMs, opensAtMs: first[0], closesAtMs: first[1] }
}

/** nowMs when the window is open now, else when it next opens. */
export function nextOpen (window: MaintenanceWindow | string, tz: string, nowMs: number): number {
  const s = windowState(window, tz, nowMs)
  return s.open ? nowMs : s.opensAtMs
}
