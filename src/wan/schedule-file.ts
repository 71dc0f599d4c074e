/**
 * Reads a WAN schedule file (schedule.ts describes the format). The only module of
 * the WAN tier's schedule code that touches the disk; everything else is pure.
 */
import { open } from 'node:fs/promises'
import { DateTime } from 'luxon'
import { StoremeshError, toStoremeshError } from '../interface/errors.js'
import { MAX_SCHEDULE_FILE_BYTES } from './constants.js'
import { parseScheduleYaml } from './schedule.js'
import type { Schedule } from './schedule.js'

/** The host's IANA zone, for schedules that name none (a store hub runs on store time). */
export function hostTimezone (): string {
  return DateTime.local().zoneName ?? 'UTC'
}

export async function readScheduleFile (path: string, options: { signal?: AbortSignal, defaultTimezone?: string } = {}): Promise<Schedule> {
  let text: string
  try {
    const fh = await open(path, 'r')
    try {
      // Read one byte past the limit so an oversized file is refused, never truncated.
      const buf = Buffer.alloc(MAX_SCHEDULE_FILE_BYTES + 1)
      let bytesRead = 0
      for (;;) {
        const r = await fh.read(buf, bytesRead, buf.length - bytesRead, bytesRead)
        if (r.bytesRead === 0) break
        bytesRead += r.bytesRead
        if (bytesRead === buf.length) break
      }
      if (bytesRead > MAX_SCHEDULE_FILE_BYTES) {
        throw new StoremeshError('E_INVALID_ARGUMENT', `invalid WAN schedule: larger than ${MAX_SCHEDULE_FILE_BYTES} bytes`, { source: path })
      }
      options.signal?.throwIfAborted()
      text = buf.subarray(0, bytesRead).toString('utf8')
    } finally {
      await fh.close()
    }
  } catch (err) {
    throw toStoremeshError(err)
  }
  return parseScheduleYaml(text, { source: path, defaultTimezone: options.defaultTimezone ?? hostTimezone() })
}
