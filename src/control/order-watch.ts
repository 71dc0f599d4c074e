/**
 * Wakes held report polls when an order is written by another process: a second super
 * hub on the same PostgreSQL, or `storemesh fleet …` run against the database. Orders
 * this process writes wake them at once (FleetLedger `onChange`); these are seen within
 * one interval, by one small query per interval whatever the number of hubs.
 */
import { toStoremeshError } from '../interface/errors.js'
import type { Log } from '../interface/log.js'

/** How often the orders table's stamp is read. @default 1 s */
export const DEFAULT_ORDER_WATCH_INTERVAL_MS = 1_000

export interface OrderStampSource {
  /** moves whenever an order is written; undefined while the database is not open */
  ordersStamp(): Promise<string | undefined>
}

export function watchOrders (source: OrderStampSource, onChange: () => void, options: { intervalMs?: number, log?: Log } = {}): { stop: () => void } {
  let last: string | undefined
  let busy = false
  let warned = false
  const timer = setInterval(() => {
    if (busy) return
    busy = true
    source.ordersStamp().then(stamp => {
      warned = false
      if (stamp === undefined) return
      // the first stamp read is the baseline, not a change
      if (last !== undefined && stamp !== last) onChange()
      last = stamp
    }, (err: unknown) => {
      if (!warned) options.log?.warn(`order watch: ${toStoremeshError(err).toLine()}`)
      warned = true
    }).finally(() => { busy = false })
  }, options.intervalMs ?? DEFAULT_ORDER_WATCH_INTERVAL_MS)
  timer.unref()
  return { stop: () => { clearInterval(timer) } }
}
