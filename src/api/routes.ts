/**
 * The routes of the hub API. Reads are open (the server listens on loopback unless
 * told otherwise); writes need the bearer token, checked by the server before the body
 * is read. Every body and query is validated with zod; ids use the ledger's syntax.
 */
import { z } from 'zod'
import { StoremeshError } from '../interface/errors.js'
import { isBundleId } from '../interface/ids.js'
import type { MetricsEndpoint } from '../metrics/index.js'
import { availabilityView } from './availability-view.js'
import {
  DEFAULT_CACHE_LIMIT, DEFAULT_HEATMAP_CHUNKS, DEFAULT_LEDGER_DEVICES, DEVICE_ID_RE, MAX_CACHE_LIMIT, MAX_COHORT_CHARS,
  MAX_HEATMAP_CHUNKS, MAX_LEDGER_DEVICES, MAX_POLICY_CHARS, MAX_REASON_CHARS, WAVE_ID_RE
} from './constants.js'
import { getRoute, idParam, intParam, jsonResult, parseBody, postRoute, type Route, type RouteResult } from './route-kit.js'
import type { ApiHandlers, ApiSources } from './types.js'

export type { Route, RouteContext, RouteResult } from './route-kit.js'

export interface RouteDeps {
  sources: ApiSources
  handlers: ApiHandlers
  metrics?: MetricsEndpoint
  dashboardHtml: string
  now: () => number
}

const text = (max: number): z.ZodString => z.string().trim().min(1).max(max)
const startBody = z.object({ cohort: text(MAX_COHORT_CHARS) }).strict()
const reasonBody = z.object({ reason: text(MAX_REASON_CHARS) }).strict()
const bundleRef = z.string().refine(isBundleId, 'must be a b3: bundle id')
const pinBody = z.object({ bundle: bundleRef }).strict()
const evictBody = z.object({ bundle: bundleRef.optional(), dryRun: z.boolean().optional() }).strict()
const prefetchBody = z.object({ policy: z.string().min(1).max(MAX_POLICY_CHARS), window: z.string().max(64).optional() }).strict()

const parse = parseBody
const id = idParam
const json = (body: unknown): RouteResult => jsonResult(body)

export function buildRoutes (d: RouteDeps): Route[] {
  const get = getRoute
  const post = postRoute
  return [
    get(/^\/$/, async () => ({ kind: 'text', contentType: 'text/html; charset=utf-8', body: d.dashboardHtml })),
    get(/^\/metrics$/, async () => {
      if (d.metrics === undefined) throw new StoremeshError('E_NOT_FOUND', 'metrics are not enabled on this node')
      return { kind: 'text', contentType: d.metrics.contentType, body: await d.metrics.text() }
    }),
    get(/^\/api\/status$/, async () => json(await d.sources.status())),
    get(/^\/api\/bundles$/, async () => json({ bundles: await d.sources.bundles() })),
    get(/^\/api\/cache$/, async ({ query }) => json(await d.sources.cache(intParam(query, 'limit', DEFAULT_CACHE_LIMIT, 1, MAX_CACHE_LIMIT)))),
    get(/^\/api\/peers$/, async () => json({ peers: await d.sources.peers() })),
    get(/^\/api\/ledger$/, async ({ query }) => {
      const wave = query.get('wave') ?? undefined
      return json(await d.sources.ledger({
        ...(wave !== undefined ? { wave: id(wave, WAVE_ID_RE, 'wave') } : {}),
        limit: intParam(query, 'limit', DEFAULT_LEDGER_DEVICES, 1, MAX_LEDGER_DEVICES)
      }))
    }),
    get(/^\/api\/devices\/([^/]+)$/, async ({ params }) => {
      const deviceId = id(params[0], DEVICE_ID_RE, 'device')
      const view = await d.sources.device?.(deviceId)
      if (view === undefined) throw new StoremeshError('E_NOT_FOUND', `the ledger knows no device ${deviceId}`, { device: deviceId })
      return json(view)
    }),
    get(/^\/api\/availability$/, async ({ query }) => {
      const bundle = query.get('bundle') ?? undefined
      if (bundle !== undefined && !isBundleId(bundle)) throw new StoremeshError('E_INVALID_ARGUMENT', 'bundle must be a b3: bundle id')
      const from = intParam(query, 'from', 0, 0, 1e9)
      const count = intParam(query, 'count', DEFAULT_HEATMAP_CHUNKS, 1, MAX_HEATMAP_CHUNKS)
      return json(availabilityView(await d.sources.availability.bundles(), { ...(bundle !== undefined ? { bundle } : {}), from, count }, d.now()))
    }),
    post(/^\/api\/waves\/([^/]+)\/start$/, async ({ params, body }) =>
      json(await d.handlers.startWave(id(params[0], WAVE_ID_RE, 'wave'), parse(startBody, body, 'wave start')))),
    post(/^\/api\/waves\/([^/]+)\/pause$/, async ({ params, body }) =>
      json(await d.handlers.pauseWave(id(params[0], WAVE_ID_RE, 'wave'), parse(reasonBody, body, 'wave pause')))),
    post(/^\/api\/devices\/([^/]+)\/rollback$/, async ({ params, body }) =>
      json(await d.handlers.rollbackDevice(id(params[0], DEVICE_ID_RE, 'device'), parse(reasonBody, body, 'device rollback')))),
    post(/^\/api\/cache\/(pin|unpin)$/, async ({ params, body }) => {
      const b = parse(pinBody, body, `cache ${params[0] ?? ''}`)
      const run = params[0] === 'pin' ? d.handlers.cachePin : d.handlers.cacheUnpin
      if (run === undefined) throw new StoremeshError('E_NOT_FOUND', 'this node has no cache pins')
      return json(await run({ bundle: b.bundle }))
    }),
    post(/^\/api\/cache\/evict$/, async ({ body }) => {
      const b = parse(evictBody, body, 'cache evict')
      if (d.handlers.cacheEvict === undefined) throw new StoremeshError('E_NOT_FOUND', 'this node has no cache eviction')
      return json(await d.handlers.cacheEvict({ ...(b.bundle !== undefined ? { bundle: b.bundle } : {}), ...(b.dryRun !== undefined ? { dryRun: b.dryRun } : {}) }))
    }),
    post(/^\/api\/prefetch$/, async ({ body }) => {
      const b = parse(prefetchBody, body, 'prefetch')
      return json(await d.handlers.prefetch({ policy: b.policy, ...(b.window !== undefined ? { window: b.window } : {}) }))
    })
  ]
}
