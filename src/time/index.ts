/**
 * Time windows and IANA zones, below every layer that schedules by the clock: the WAN
 * (rate schedules, prefetch windows), the policy (`schedule.window` gate) and the CLI
 * flags that take a window. One grammar and one DST rule, stated in window.ts. Pure.
 */
export * from './constants.js'
export { TimeZone, isValidTimezone, zoneOf } from './zone.js'
export { formatWindow, isOpen, nextOpen, parseWindow, windowEdges, windowOpenings, windowState } from './window.js'
export type { Opening, TimeWindow, Weekday, WindowRule, WindowState } from './window.js'
