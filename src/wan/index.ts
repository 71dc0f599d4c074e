/**
 * The WAN tier's algorithms (DESIGN.md section 5): rates, limiters, throttled
 * streams, schedules and store priorities. The network transfer that uses them lives
 * with the roles; everything here is testable with a ManualClock.
 */
export * from './constants.js'
export { ManualClock, systemClock, sleep, settle, MAX_TIMER_DELAY_MS } from './clock.js'
export type { Clock, CancelTimer } from './clock.js'
export { parseRate, formatRate, isValidRate, assertRate, UNLIMITED } from './rate.js'
export { TokenBucket } from './token-bucket.js'
export type { BurstOptions } from './token-bucket.js'
export { Limiter, LimiterChain } from './limiter.js'
export type { Acquirer, LimiterInit } from './limiter.js'
export { ThrottleStream, createThrottle, throttle } from './throttle.js'
export type { ThrottleOptions } from './throttle.js'
export { rateAt, windowAt, nextChange, parseSchedule, parseScheduleYaml, singleWindowSchedule, constantSchedule } from './schedule.js'
export type { Schedule, ScheduleWindow, ParseScheduleOptions } from './schedule.js'
export { readScheduleFile, hostTimezone } from './schedule-file.js'
export { followSchedule } from './schedule-driver.js'
export type { FollowScheduleInit, RateChange, ScheduleFollower } from './schedule-driver.js'
export { FairScheduler, MIN_STORE_WEIGHT } from './priority.js'
export type { FlowOptions, ScheduledRequest, StoreClass } from './priority.js'
export { RateMeter, percentile } from './rate-meter.js'
export type { RateMeterInit, RateReport, RateSample } from './rate-meter.js'
export { ByteBudget, DEFAULT_CHUNK_BYTES_IN_FLIGHT } from './byte-budget.js'
export type { ByteBudgetStats, ByteGrant } from './byte-budget.js'
