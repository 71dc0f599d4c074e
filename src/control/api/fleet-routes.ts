/**
 * The super hub's fleet API (docs/fleet.md "Fleet API"): the route table served by the
 * same ApiServer as the store hub's API (src/api/server.ts: loopback unless told, reads
 * open, writes only with the bearer token, Host check, body limits). Reads come from
 * the fleet ledger, store availability from what this super hub served over the WAN
 * (wan-served.ts). `POST /api/orders` is `storemesh fleet …`'s order: the same checks,
 * idempotency (order id or natural key) and who/why/when.
 */
import { z } from 'zod'
import { StoremeshError } from '../../interface/errors.js'
import { getRoute, htmlResult, idParam, intParam, jsonResult, parseBody, postRoute, type Route } from '../../api/route-kit.js'
import { WAVE_ID_RE } from '../../interface/ids.js'
import { HUB_ID_RE, MAX_REASON_CHARS } from '../../ledger/report/constants.js'
import type { FleetLedger } from '../fleet-ledger.js'
import { BUNDLE_ORDER_ACTIONS, ORDER_KINDS, WAVE_ORDER_ACTIONS, type OrderRequest } from '../fleet-orders.js'
import type { WanServedTally } from '../wan-served.js'
import { fleetDashboardHtml } from './fleet-dashboard.js'

export interface FleetRoutesDeps {
  ledger: FleetLedger
  /** what this super hub served each store (availability); absent: stores carry no availability */
  served?: WanServedTally
  /** the fleet `/metrics` text */
  metrics: { contentType: string, text: () => Promise<string> }
  now?: () => number
}

export const DEFAULT_STORES_LIMIT = 1000
export const MAX_STORES_LIMIT = 10_000
export const DEFAULT_ORDERS_LIMIT = 200
export const MAX_ORDERS_LIMIT = 5000
/**
 * A read on a super hub whose embedded database is not open yet opens it (it opens at
 * the first report or order otherwise) and waits this long for it. @default 30 s
 */
export const DB_OPEN_WAIT_MS = 30_000

const orderBody = z.object({
  kind: z.enum(ORDER_KINDS),
  action: z.enum([...WAVE_ORDER_ACTIONS, ...BUNDLE_ORDER_ACTIONS, 'rollback', 'prestage']),
  waveId: z.string().max(128).optional(),
  bundleId: z.string().max(128).optional(),
  /** device and prestage orders: the store (hub id) */
  store: z.string().max(128).optional(),
  deviceId: z.string().max(128).optional(),
  reason: z.string().max(MAX_REASON_CHARS).optional(),
  by: z.string().min(1).max(64),
  orderId: z.string().max(64).optional()
}).strict()

const hubBody = z.object({ hubId: z.string().regex(HUB_ID_RE, 'must be a hub id') }).strict()

export function fleetRoutes (d: FleetRoutesDeps): Route[] {
  const now = d.now ?? Date.now
  const open = async (): Promise<void> => {
    // a database that went away answers at once (503 E_DB_UNAVAILABLE), not after a wait
    if (!d.ledger.opening) return
    let timer: NodeJS.Timeout | undefined
    await Promise.race([d.ledger.ready(), new Promise(resolve => { timer = setTimeout(resolve, DB_OPEN_WAIT_MS) })])
    clearTimeout(timer)
  }
  const waveOf = (query: URLSearchParams): string | undefined => {
    const w = query.get('wave')
    return w === null || w === '' ? undefined : idParam(w, WAVE_ID_RE, 'wave')
  }
  return [
    getRoute(/^\/$/, async () => htmlResult(fleetDashboardHtml())),
    getRoute(/^\/metrics$/, async () => ({ kind: 'text', contentType: d.metrics.contentType, body: await d.metrics.text() })),
    // what `storemesh fleet status --json` prints
    getRoute(/^\/api\/fleet$/, async ({ query }) => {
      await open()
      const wave = waveOf(query)
      const s = await d.ledger.status(wave)
      if (wave !== undefined && s.waves.length === 0) throw new StoremeshError('E_WAVE_UNKNOWN', `no wave ${wave} in the fleet ledger`, { waveId: wave })
      return jsonResult({ atMs: now(), ...s })
    }),
    getRoute(/^\/api\/waves$/, async () => {
      await open()
      return jsonResult({ atMs: now(), waves: (await d.ledger.waves()).map(withProgress) })
    }),
    getRoute(/^\/api\/waves\/([^/]+)$/, async ({ params }) => {
      await open()
      const id = idParam(params[0], WAVE_ID_RE, 'wave')
      const w = (await d.ledger.status(id)).waves[0]
      if (w === undefined) throw new StoremeshError('E_WAVE_UNKNOWN', `no wave ${id} in the fleet ledger`, { waveId: id })
      return jsonResult({ atMs: now(), wave: withProgress(w) })
    }),
    getRoute(/^\/api\/stores$/, async ({ query }) => {
      await open()
      const after = query.get('after')
      const limit = intParam(query, 'limit', DEFAULT_STORES_LIMIT, 1, MAX_STORES_LIMIT)
      // one more than asked: whether another page follows
      const rows = await d.ledger.stores({
        ...(waveOf(query) !== undefined ? { waveId: waveOf(query)! } : {}),
        ...(after !== null && after !== '' ? { after: idParam(after, HUB_ID_RE, 'store') } : {}),
        limit: limit + 1
      })
      const stores = rows.slice(0, limit)
      return jsonResult({
        atMs: now(),
        availabilityFrom: d.served !== undefined ? 'wan-served' : 'none',
        stores: stores.map(s => ({ ...s, availability: s.peer !== undefined ? d.served?.availability(s.peer) ?? [] : [] })),
        ...(rows.length > limit ? { next: stores[stores.length - 1]!.hubId } : {})
      })
    }),
    getRoute(/^\/api\/orders$/, async ({ query }) => {
      await open()
      const wave = waveOf(query)
      return jsonResult({ atMs: now(), orders: await d.ledger.orders({ ...(wave !== undefined ? { waveId: wave } : {}), limit: intParam(query, 'limit', DEFAULT_ORDERS_LIMIT, 1, MAX_ORDERS_LIMIT) }) })
    }),
    getRoute(/^\/api\/halts$/, async () => {
      await open()
      const halts = (await d.ledger.waves()).flatMap(w => w.halts.map(h => ({ waveId: w.waveId, ...h })))
      return jsonResult({ atMs: now(), halts: halts.sort((a, b) => b.issuedAtMs - a.issuedAtMs) })
    }),
    postRoute(/^\/api\/orders$/, async ({ body }) => {
      const b = parseBody(orderBody, body, 'order')
      await open()
      const req: OrderRequest = {
        kind: b.kind, action: b.action, by: b.by,
        ...(b.waveId !== undefined ? { waveId: b.waveId } : {}),
        ...(b.bundleId !== undefined ? { bundleId: b.bundleId } : {}),
        ...(b.store !== undefined ? { hubId: b.store } : {}),
        ...(b.deviceId !== undefined ? { deviceId: b.deviceId } : {}),
        ...(b.reason !== undefined ? { reason: b.reason } : {}),
        ...(b.orderId !== undefined ? { orderId: b.orderId } : {})
      }
      const r = await d.ledger.issue(req)
      return jsonResult(r, r.created ? 201 : 200)
    }),
    postRoute(/^\/api\/hubs$/, async ({ body }) => {
      const b = parseBody(hubBody, body, 'hub')
      await open()
      const changed = await d.ledger.registerHub(b.hubId)
      return jsonResult({ hubId: b.hubId, changed }, changed ? 201 : 200)
    })
  ]
}

/** A wave with its progress: devices with an outcome, and the share updated. */
function withProgress<W extends { counts: { updated: number, rolledBack: number, failed: number, total: number }, batches: Array<{ state: string }> }> (w: W): W & { progress: WaveProgress } {
  const c = w.counts
  const outcomes = c.updated + c.rolledBack + c.failed
  return {
    ...w,
    progress: {
      outcomes,
      updatedRatio: c.total === 0 ? 0 : c.updated / c.total,
      batchesDone: w.batches.filter(b => b.state === 'healthy' || b.state === 'done').length,
      batches: w.batches.length
    }
  }
}

export interface WaveProgress {
  /** devices with a final outcome (updated, rolled back, failed) */
  outcomes: number
  /** updated / total devices reported */
  updatedRatio: number
  batchesDone: number
  batches: number
}
