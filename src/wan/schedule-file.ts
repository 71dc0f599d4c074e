/**
 * Reads a WAN schedule file (schedule.ts describes the format). The only module of
 * the WAN tier's schedule code that touches the disk; everything else is pure.
 */
import { DateTime } from 'luxon'
import { readRegularFile } from '../interface/regular-file.js'
import { MAX_SCHEDULE_FILE_BYTES } from './constants.js'
import { parseScheduleYaml } from './schedule.js'
import type { Schedule } from './schedule.js'

/** The host's IANA zone, for schedules that name none (a store hub runs on store time). */
export function hostTimezone (): string {
  return DateTime.local().zoneName ?? 'UTC'
}

export async function readScheduleFile (path: string, options: { signal?: AbortSignal, defaultTimezone?: string } = {}): Promise<Schedule> {
  const bytes = await readRegularFile(path, {
    what: 'WAN schedule',
    maxBytes: MAX_SCHEDULE_FILE_BYTES,
    codes: { tooLarge: 'E_INVALID_ARGUMENT' }
  })
  options.signal?.throwIfAborted()
  const text = bytes.toString('utf8')
  return parseScheduleYaml(text, { source: path, defaultTimezone: options.defaultTimezone ?? hostTimezone() })
}
