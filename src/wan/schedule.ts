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
 * `when` takes the window grammar of src/time/window.ts (README "Time windows").
 */
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import { StoremeshError } from '../interface/errors.js'
import { MAX_SCHEDULE_FILE_BYTES, MAX_SCHEDULE_WINDOWS, MS_PER_DAY, NEXT_CHANGE_HORIZON_MS } from './constants.js'
import { parseRate } from './rate.js'
import { isOpen, MAX_WINDOW_TEXT_CHARS, parseWindow, windowEdges, zoneOf } from '../time/index.js'
import type { TimeWindow } from '../time/index.js'

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
  return windowAt(schedule, nowMs)?.rateBytesPerSec ?? schedule.defaultRateBytesPerSec
}

/** The window in force at `nowMs`, or undefined outside every window. */
export function windowAt (schedule: Schedule, nowMs: number): ScheduleWindow | undefined {
  return schedule.windows.find(w => isOpen(w.when, schedule.timezone, nowMs))
}

/**
 * The first instant after `nowMs` at which rateAt() returns another rate, so that a
 * scheduler can sleep until a window opens or closes; undefined when the rate never
 * changes (no windows, or every window at the default rate).
 *
 * The rate can change only where a window opens or closes (src/time/window.ts says
 * when, DST included). Those instants are listed a day at a time for the next
 * NEXT_CHANGE_HORIZON_MS and tried in order.
 */
export function nextChange (schedule: Schedule, nowMs: number): number | undefined {
  const current = rateAt(schedule, nowMs)
  if (schedule.windows.every(w => w.rateBytesPerSec === current) && schedule.defaultRateBytesPerSec === current) return undefined
  // A day at a time: the next change is nearly always within the first.
  for (let from = nowMs; from < nowMs + NEXT_CHANGE_HORIZON_MS; from += MS_PER_DAY) {
    const edges = new Set<number>()
    for (const w of schedule.windows) {
      for (const at of windowEdges(w.when, schedule.timezone, from, from + MS_PER_DAY)) edges.add(at)
    }
    for (const at of [...edges].sort((a, b) => a - b)) {
      if (rateAt(schedule, at) !== current) return at
    }
  }
  return undefined
}

// --- building and parsing ----------------------------------------------------

const rateField = z.union([z.string().max(64), z.number()])

const scheduleSchema = z.object({
  apiVersion: z.literal('storemesh/v1').optional(),
  kind: z.literal('WanSchedule').optional(),
  timezone: z.string().max(64).optional(),
  defaultRate: rateField,
  windows: z.array(z.object({ when: z.string().max(MAX_WINDOW_TEXT_CHARS), rate: rateField }).strict()).max(MAX_SCHEDULE_WINDOWS)
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
