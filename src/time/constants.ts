/**
 * Units and limits of time windows (README "Time windows"). Local calendar days are
 * walked as "wall time read as UTC" milliseconds, which never meet a DST change.
 */
export const MS_PER_MINUTE = 60_000
export const MS_PER_HOUR = 60 * MS_PER_MINUTE
export const MS_PER_DAY = 24 * MS_PER_HOUR
export const MINUTES_PER_DAY = 24 * 60

/** Longest window expression accepted (a policy may list several rules with `;`). */
export const MAX_WINDOW_TEXT_CHARS = 256

/**
 * Local days scanned before today for openings that may still run now: a rule opens
 * at most 23:59 after its day's midnight and runs at most 24 h, plus a DST shift.
 */
export const SCAN_DAYS_BEFORE = 2
/** Local days scanned after today: a full week plus one, so every rule opens in it. */
export const SCAN_DAYS_AFTER = 8

/** Zones kept by zoneOf(); building one costs an Intl.DateTimeFormat (~0.4 ms). */
export const MAX_CACHED_ZONES = 1000
/**
 * UTC offsets remembered per zone, one per UTC hour: luxon reads an offset through
 * Intl (5 to 50 us), and schedules ask for the same hours again and again.
 */
export const MAX_CACHED_OFFSET_HOURS = 100_000
