/**
 * WAN schedules: time windows in an IANA zone mapped to rates, and a default rate
 * outside every window (often 0: no WAN traffic in shop hours). Pure: time is passed
 * in, nothing is read from disk (schedule-file.ts does that).
 *
 * ```yaml
 * apiVersion: storemesh/v1     # optional
 * kind: WanSchedule            # optional
 * timezone: America/Chicago    # IANA name; the caller's default when left out
 * defaultRate: 0               # outside every window
 * windows:                     # the first window that matches wins
 *   - { when: "Mon-Fri 00:30-03:30", rate: 40Mbit/s }
 *   - { when: "Sat,Sun 00:00-06:00", rate: 10MiB/s }
 * ```
 */
import type { IANAZone } from 'luxon'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import { StoremeshError } from '../interface/errors.js'
import { MAX_SCHEDULE_FILE_BYTES, MAX_SCHEDULE_WINDOWS, MS_PER_DAY, NEXT_CHANGE_HORIZON_MS } from './constants.js'
import { parseRate } from './rate.js'
import { isOpenAtLocal, localTimeOf, parseWindow, zoneOf } from './window.js'
import type { LocalTime, TimeWindow } from './window.js'

export interface ScheduleWindow {
  when: TimeWindow
  rateBytesPerSec: number
}

export interface Schedule {
  timezone: string
  defaultRateBytesPerSec: number
  windows: readonly ScheduleWindow[]
}

/** The rate in force at `nowMs`: the first open window's, else the default. */
export function rateAt (schedule: Schedule, nowMs: number): number {
  return rateAtLocal(schedule, localTimeOf(nowMs, zoneOf(schedule.timezone)))
}

function rateAtLocal (schedule: Schedule, local: LocalTime): number {
  for (const w of schedule.windows) {
    if (isOpenAtLocal(w.when, local)) return w.rateBytesPerSec
  }
  return schedule.defaultRateBytesPerSec
}

/** The window in force at `nowMs`, or undefined outside every window. */
export function windowAt (schedule: Schedule, nowMs: number): ScheduleWindow | undefined {
  const local = localTimeOf(nowMs, zoneOf(schedule.timezone))
  return schedule.windows.find(w => isOpenAtLocal(w.when, local))
}

/**
 * The first instant after `nowMs` at which rateAt() returns another rate, so that a
 * scheduler can sleep until a window opens or closes; undefined when the rate never
 * changes (no windows, or every window at the default rate).
 *
 * The rate can change only where the local wall clock reaches a window's start or
 * end or midnight (weekdays), or jumps (a DST change). Those candidate instants are
 * listed for the next NEXT_CHANGE_HORIZON_MS and tried in order.
 */
export function nextChange (schedule: Schedule, nowMs: number): number | undefined {
  const zone = zoneOf(schedule.timezone)
  const current = rateAtLocal(schedule, localTimeOf(nowMs, zone))
  if (schedule.windows.every(w => w.rateBytesPerSec === current) && schedule.defaultRateBytesPerSec === current) return undefined
  // A day at a time: the next change is nearly always within the first.
  for (let from = nowMs; from < nowMs + NEXT_CHANGE_HORIZON_MS; from += MS_PER_DAY) {
    for (const at of candidateInstants(schedule, zone, from, from + MS_PER_DAY)) {
      if (rateAtLocal(schedule, localTimeOf(at, zone)) !== current) return at
    }
  }
  return undefined
}

function candidateInstants (schedule: Schedule, zone: IANAZone, fromMs: number, toMs: number): number[] {
  const marks = new Set<number>([0])
  for (const w of schedule.windows) {
    marks.add(w.when.startMs % MS_PER_DAY)
    marks.add(w.when.endMs % MS_PER_DAY)
  }
  const out = new Set<number>()
  // Local dates as "wall time read as UTC"; one day either side covers any offset.
  const firstDay = Math.floor((fromMs + zone.offset(fromMs) * 60_000) / MS_PER_DAY) * MS_PER_DAY - MS_PER_DAY
  for (let day = firstDay; day <= toMs + MS_PER_DAY; day += MS_PER_DAY) {
    for (const mark of marks) {
      for (const at of instantsOfWallTime(zone, day + mark)) {
        if (at > fromMs && at <= toMs) out.add(at)
      }
    }
  }
  for (const at of offsetChanges(zone, fromMs, toMs)) out.add(at)
  return [...out].sort((a, b) => a - b)
}

/**
 * The instants whose local wall time in `zone` is `wallMs` (wall time read as UTC):
 * none in a spring-forward gap, two in a fall-back overlap, else one.
 */
export function instantsOfWallTime (zone: IANAZone, wallMs: number): number[] {
  const out: number[] = []
  for (const probe of [wallMs - MS_PER_DAY, wallMs, wallMs + MS_PER_DAY]) {
    const offsetMin = zone.offset(probe)
    const at = wallMs - offsetMin * 60_000
    if (zone.offset(at) === offsetMin && !out.includes(at)) out.push(at)
  }
  return out.sort((a, b) => a - b)
}

/** Instants in (fromMs, toMs] where the zone's UTC offset changes (DST), to the millisecond. */
export function offsetChanges (zone: IANAZone, fromMs: number, toMs: number): number[] {
  const out: number[] = []
  for (let a = fromMs; a < toMs; a += MS_PER_DAY) {
    const b = Math.min(a + MS_PER_DAY, toMs)
    if (zone.offset(a) === zone.offset(b)) continue
    // Zones change offset at most once within a day; find the first instant of the new one.
    let lo = a
    let hi = b
    const before = zone.offset(a)
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2)
      if (zone.offset(mid) === before) lo = mid
      else hi = mid
    }
    out.push(hi)
  }
  return out
}

// --- building and parsing ----------------------------------------------------

const rateField = z.union([z.string().max(64), z.number()])

const scheduleSchema = z.object({
  apiVersion: z.literal('storemesh/v1').optional(),
  kind: z.literal('WanSchedule').optional(),
  timezone: z.string().max(64).optional(),
  defaultRate: rateField,
  windows: z.array(z.object({ when: z.string().max(100), rate: rateField }).strict()).max(MAX_SCHEDULE_WINDOWS)
}).strict()

export interface ParseScheduleOptions {
  /** Zone for a schedule that names none (the host's zone, for a file). @default 'UTC' */
  defaultTimezone?: string
  /** Where the schedule came from, for messages (a file path). */
  source?: string
}

function invalidSchedule (why: string, source: string | undefined, field?: string): StoremeshError {
  return new StoremeshError('E_INVALID_ARGUMENT', `invalid WAN schedule: ${why}`, { source, field })
}

/** Validates a schedule given as plain data (parsed YAML or JSON). */
export function parseSchedule (input: unknown, options: ParseScheduleOptions = {}): Schedule {
  const r = scheduleSchema.safeParse(input)
  if (!r.success) {
    const issue = r.error.issues[0]
    const field = issue?.path.join('.')
    throw invalidSchedule(`${field !== undefined && field !== '' ? field + ': ' : ''}${issue?.message ?? 'bad shape'}`, options.source, field)
  }
  const doc = r.data
  const timezone = doc.timezone ?? options.defaultTimezone ?? 'UTC'
  const at = (field: string, fn: () => number): number => {
    try {
      return fn()
    } catch (err) {
      throw invalidSchedule(`${field}: ${err instanceof Error ? err.message : String(err)}`, options.source, field)
    }
  }
  at('timezone', () => { zoneOf(timezone); return 0 })
  // In a file a bare number is refused unless 0: `5` could mean bytes, KiB or Mbit.
  const rateOf = (v: string | number): number => parseRate(String(v))
  const defaultRateBytesPerSec = at('defaultRate', () => rateOf(doc.defaultRate))
  const windows = doc.windows.map((w, i) => {
    let when: TimeWindow | undefined
    at(`windows.${i}.when`, () => { when = parseWindow(w.when); return 0 })
    return { when: when as TimeWindow, rateBytesPerSec: at(`windows.${i}.rate`, () => rateOf(w.rate)) }
  })
  return { timezone, defaultRateBytesPerSec, windows }
}

/** Parses schedule YAML text (size-limited, fails closed with E_INVALID_ARGUMENT). */
export function parseScheduleYaml (text: string, options: ParseScheduleOptions = {}): Schedule {
  if (Buffer.byteLength(text, 'utf8') > MAX_SCHEDULE_FILE_BYTES) {
    throw invalidSchedule(`larger than ${MAX_SCHEDULE_FILE_BYTES} bytes`, options.source)
  }
  let doc: unknown
  try {
    doc = parseYaml(text, { maxAliasCount: 16 })
  } catch (err) {
    throw invalidSchedule(`not YAML: ${err instanceof Error ? err.message.split('\n')[0] ?? '' : String(err)}`, options.source)
  }
  return parseSchedule(doc, options)
}

/**
 * The schedule behind `--wan-window 00:30-03:30 --wan-rate 5MiB/s`: one window at
 * `rate`, `outsideRate` (default 0, paused) the rest of the time.
 */
export function singleWindowSchedule (opts: { window: string, rate: string | number, timezone?: string, outsideRate?: string | number }): Schedule {
  return {
    timezone: zoneOf(opts.timezone ?? 'UTC').name,
    defaultRateBytesPerSec: parseRate(opts.outsideRate ?? 0),
    windows: [{ when: parseWindow(opts.window), rateBytesPerSec: parseRate(opts.rate) }]
  }
}

/** A schedule that is always at `rate` (no windows). */
export function constantSchedule (rate: string | number, timezone = 'UTC'): Schedule {
  return { timezone: zoneOf(timezone).name, defaultRateBytesPerSec: parseRate(rate), windows: [] }
}
