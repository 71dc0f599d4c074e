/**
 * Defaults and limits of the WAN tier (DESIGN.md section 5), in one place so the CLI
 * flags, the limiters and the tests read the same values. Units are in the names.
 */

export const MS_PER_SECOND = 1000
export const MS_PER_MINUTE = 60 * MS_PER_SECOND
export const MS_PER_HOUR = 60 * MS_PER_MINUTE
export const MS_PER_DAY = 24 * MS_PER_HOUR

/**
 * How much a limiter may hold, as time at its rate: the most that passes at once
 * after an idle spell, and the event-loop stall it can make up for without losing
 * rate. Measured on a loaded 2-core machine (load 8): at 50 ms, stalls cost up to
 * 7% of single seconds; at 100 ms, with slices of a quarter of it, seconds after the
 * first stayed within 3%. 100 ms still keeps every second within 10% of the target
 * and never lets more than 100 ms worth pass at once.
 * @default 100
 */
export const DEFAULT_BURST_MS = 100

/**
 * How far a limiter may catch up after its waiters were held up (the event loop or
 * the whole process stalled, a timer fired late), as time at its rate. While a slice
 * waits, the bucket keeps filling past the burst by up to this much, so bytes a
 * stall withheld go out right after it instead of being lost: on a loaded 2-core
 * machine (load 12) stalls of 150-650 ms cost 2-28% of the long-run rate at 20 Mbit/s
 * with the 100 ms burst alone. Tokens are earned at the rate only, so no limit is
 * exceeded over any span longer than this; after an idle spell (no waiter) only the
 * burst passes at once, as before.
 * @default 500
 */
export const DEFAULT_CATCH_UP_MS = 500

/**
 * The smallest burst, so that a very low rate does not cut payloads into slivers
 * that cost more in framing and timer wake-ups than they carry: slices are never
 * under 1 KiB (a quarter of this). Below 40 KiB/s a burst is longer than 100 ms.
 * @default 4096
 */
export const DEFAULT_MIN_BURST_BYTES = 4 * 1024

/**
 * Requests are cut into slices of burst / SLICES_PER_BURST (25 ms at the default),
 * so a limiter keeps filling while one of its slices waits in the limiters above it
 * or for a late timer. With slices as large as the burst, a store hub held by its
 * own low limit lost a sixth of it (measured: 209 of 250 kB/s) whenever its slice
 * had to wait at the global limiter (bucket full, tokens lost).
 * @default 4
 */
export const SLICES_PER_BURST = 4

/**
 * The largest rate a string may name: 1 TiB/s. Above it a typo (`40Tbit`) is more
 * likely than intent; `unlimited` says "no limit" on purpose.
 */
export const MAX_RATE_BYTES_PER_SEC = 1024 ** 4

/** The longest rate string parseRate() reads; longer input is refused, not scanned. */
export const MAX_RATE_STRING_LENGTH = 64

/** A schedule file larger than this is refused before it is parsed. */
export const MAX_SCHEDULE_FILE_BYTES = 64 * 1024

/** The most windows one schedule may list. */
export const MAX_SCHEDULE_WINDOWS = 64

/**
 * How far ahead nextChange() looks. Windows repeat weekly, and a DST gap can swallow
 * one week's opening, so two weeks and a day always find the next change if any exists.
 */
export const NEXT_CHANGE_HORIZON_MS = 15 * MS_PER_DAY

/**
 * The longest a schedule follower sleeps before it looks at the clock again, so a
 * wall-clock step (NTP, suspend, a VM restored from a snapshot) is noticed quickly.
 * @default 60000
 */
export const DEFAULT_SCHEDULE_MAX_SLEEP_MS = MS_PER_MINUTE

/** Store classes of the fair scheduler, strongest first. */
export const STORE_CLASSES = ['critical', 'normal'] as const

/** Weight of a store hub that has none configured. @default 1 */
export const DEFAULT_STORE_WEIGHT = 1

/** Weights are relative; this bound keeps virtual-time arithmetic exact in a double. */
export const MAX_STORE_WEIGHT = 1_000_000

/** Bin width of rate samples for benchmarks (per-second error). @default 1000 */
export const DEFAULT_RATE_SAMPLE_MS = MS_PER_SECOND
