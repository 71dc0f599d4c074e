/**
 * IANA time zones for windows: UTC offsets (from luxon's IANAZone, remembered per UTC
 * hour because Intl is slow), wall time of an instant, and the instant(s) at which a
 * zone's clock shows a wall time: none in a spring-forward gap, two in a fall-back
 * overlap. Wall times are "local time read as UTC" milliseconds. Pure: no I/O.
 */
import { IANAZone } from 'luxon'
import { StoremeshError } from '../interface/errors.js'
import { MAX_CACHED_OFFSET_HOURS, MAX_CACHED_ZONES, MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE } from './constants.js'

export class TimeZone {
  readonly name: string
  readonly #zone: IANAZone
  /** UTC hour -> offset in ms for the whole hour, or null when the offset changes inside it */
  readonly #hours = new Map<number, number | null>()

  constructor (zone: IANAZone) {
    this.#zone = zone
    this.name = zone.name
  }

  /** UTC offset in ms at an instant. */
  offsetMs (atMs: number): number {
    const hour = Math.floor(atMs / MS_PER_HOUR)
    let cached = this.#hours.get(hour)
    if (cached === undefined) {
      // No zone changes its offset twice within an hour, so equal ends mean a constant hour.
      const a = this.#zone.offset(hour * MS_PER_HOUR)
      const b = this.#zone.offset((hour + 1) * MS_PER_HOUR - 1)
      cached = a === b ? a * MS_PER_MINUTE : null
      if (this.#hours.size >= MAX_CACHED_OFFSET_HOURS) this.#hours.clear()
      this.#hours.set(hour, cached)
    }
    return cached ?? this.#zone.offset(atMs) * MS_PER_MINUTE
  }

  /** The local wall time of an instant. */
  wallOf (atMs: number): number {
    return atMs + this.offsetMs(atMs)
  }

  /** The instants at which the clock shows `wallMs`, ascending: none, one, or two. */
  instantsOf (wallMs: number): number[] {
    const out: number[] = []
    for (const probe of [wallMs - MS_PER_DAY, wallMs, wallMs + MS_PER_DAY]) {
      const at = wallMs - this.offsetMs(probe)
      if (this.offsetMs(at) === wallMs - at && !out.includes(at)) out.push(at)
    }
    return out.sort((a, b) => a - b)
  }

  /**
   * The instant at which the clock shows `wallMs`: the earliest or latest of two when
   * that time repeats (fall back), the end of the gap when it never shows (spring forward).
   */
  instantOf (wallMs: number, pick: 'earliest' | 'latest'): number {
    const before = this.offsetMs(wallMs - MS_PER_DAY)
    const after = this.offsetMs(wallMs + MS_PER_DAY)
    if (before === after && this.offsetMs(wallMs - before) === before) return wallMs - before
    const valid = this.instantsOf(wallMs)
    if (valid.length > 0) return (pick === 'earliest' ? valid[0] : valid[valid.length - 1]) as number
    // In the gap: find the first instant on the new offset.
    let lo = wallMs - after // still on the old offset
    let hi = wallMs - before // already on the new offset
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2)
      if (this.offsetMs(mid) === before) lo = mid
      else hi = mid
    }
    return hi
  }

  /** Instants in (fromMs, toMs] at which the offset changes, each to the millisecond. */
  offsetChanges (fromMs: number, toMs: number): number[] {
    const out: number[] = []
    for (let a = fromMs; a < toMs; a += MS_PER_DAY) {
      const b = Math.min(a + MS_PER_DAY, toMs)
      const first = this.offsetMs(a)
      if (first === this.offsetMs(b)) continue
      // Zones change offset at most once within a day.
      let lo = a
      let hi = b
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2)
        if (this.offsetMs(mid) === first) lo = mid
        else hi = mid
      }
      out.push(hi)
    }
    return out
  }
}

const zones = new Map<string, TimeZone>()

export function isValidTimezone (name: string): boolean {
  return typeof name === 'string' && IANAZone.isValidZone(name)
}

/** A zone by IANA name; throws E_INVALID_ARGUMENT for an unknown one. */
export function zoneOf (name: string): TimeZone {
  const cached = zones.get(name)
  if (cached !== undefined) return cached
  if (!isValidTimezone(name)) {
    throw new StoremeshError('E_INVALID_ARGUMENT', `unknown IANA time zone "${String(name)}"`, { timezone: String(name) })
  }
  const zone = new TimeZone(IANAZone.create(name))
  if (zones.size >= MAX_CACHED_ZONES) zones.clear()
  zones.set(name, zone)
  return zone
}
