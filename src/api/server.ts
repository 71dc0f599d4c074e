/**
 * The hub's HTTP API and dashboard (DESIGN.md section 9): node:http, bound to
 * 127.0.0.1 unless `host` is given, reads open, every write (any method but GET/HEAD)
 * refused with 401 `{error:{code:'E_UNAUTHORIZED'}}` unless it carries the bearer
 * token (compared in constant time, checked before the body is read), bodies at most
 * MAX_BODY_BYTES (413), JSON validated with zod (400). A Host header that names none of
 * the server's names is refused with 421 E_MISDIRECTED_REQUEST (host-check.ts: DNS
 * rebinding), and slow or idle connections are cut off (the timeouts in constants.ts).
 *
 * ```ts
 * const api = new ApiServer({ token: await loadOrCreateApiToken(dataDir), sources, handlers, metrics })
 * await api.start()            // api.url: http://127.0.0.1:7480
 * await api.stop()
 * ```
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { StoremeshError } from '../interface/errors.js'
import { parseStrictJson } from '../interface/strict-json.js'
import type { Startable } from '../interface/startable.js'
import type { MetricsEndpoint } from '../metrics/index.js'
import {
  DEFAULT_API_HOST, DEFAULT_API_PORT, HEADERS_TIMEOUT_MS, KEEP_ALIVE_TIMEOUT_MS, MAX_BODY_BYTES, MAX_URL_CHARS,
  REQUEST_TIMEOUT_MS, TIMEOUT_CHECK_INTERVAL_MS
} from './constants.js'
import { dashboardHtml } from './dashboard.js'
import { allowedHostNames, hostAllowed } from './host-check.js'
import { readBody, sendError, sendJson, sendText } from './http.js'
import { buildRoutes, type Route } from './routes.js'
import { bearerOf, tokenMatches } from './token.js'
import type { ApiHandlers, ApiSources } from './types.js'

/** The hub's routes (routes.ts), built from its sources and handlers. */
export interface HubRoutesInit {
  sources: ApiSources
  handlers: ApiHandlers
  /** served at /metrics when given */
  metrics?: MetricsEndpoint
}

/** Another node's route table (the super hub's fleet API, src/control/api/) on the same server rules. */
export interface OwnRoutesInit {
  routes: Route[]
}

export type ApiServerInit = ApiServerRules & (HubRoutesInit | OwnRoutesInit)

/** What every API server shares: token, bind address, Host names, limits, timeouts. */
export interface ApiServerRules {
  /** required: writes are never open */
  token: string
  /** @default DEFAULT_API_HOST (127.0.0.1); anything else only when the operator says so */
  host?: string
  /** @default DEFAULT_API_PORT (7480); 0 picks a free port */
  port?: number
  /** @default MAX_BODY_BYTES (64 KiB) */
  maxBodyBytes?: number
  /**
   * Host names (besides the bind address and the loopback names) clients reach the API
   * by, e.g. `hub-17.store.lan`: requests naming any other host are refused.
   * @default []
   */
  hostNames?: readonly string[]
  /** the connection timeouts; tests shorten them. @default apiTimeouts */
  timeouts?: Partial<ApiTimeouts>
  now?: () => number
  /** one line per failed request (5xx), for the role's logger */
  onError?: (err: unknown, req: { method: string, path: string }) => void
}

/** Node's server timeouts, set explicitly (constants.ts says why each). */
export interface ApiTimeouts {
  requestTimeoutMs: number
  headersTimeoutMs: number
  keepAliveTimeoutMs: number
  checkIntervalMs: number
}

export const apiTimeouts: Readonly<ApiTimeouts> = {
  requestTimeoutMs: REQUEST_TIMEOUT_MS,
  headersTimeoutMs: HEADERS_TIMEOUT_MS,
  keepAliveTimeoutMs: KEEP_ALIVE_TIMEOUT_MS,
  checkIntervalMs: TIMEOUT_CHECK_INTERVAL_MS
}

export class ApiServer implements Startable {
  readonly host: string
  readonly #init: ApiServerInit
  readonly #routes: Route[]
  readonly #maxBody: number
  #server: Server | undefined
  #hosts: { names: Set<string>, port: number } | undefined

  constructor (init: ApiServerInit) {
    if (typeof init.token !== 'string' || init.token.length < 16) {
      throw new StoremeshError('E_INVALID_ARGUMENT', 'the API needs a bearer token of at least 16 characters')
    }
    this.#init = init
    this.host = init.host ?? DEFAULT_API_HOST
    this.#maxBody = init.maxBodyBytes ?? MAX_BODY_BYTES
    this.#routes = 'routes' in init
      ? init.routes
      : buildRoutes({
        sources: init.sources,
        handlers: init.handlers,
        ...(init.metrics !== undefined ? { metrics: init.metrics } : {}),
        dashboardHtml: dashboardHtml(),
        now: init.now ?? Date.now
      })
  }

  async start (): Promise<void> {
    if (this.#server !== undefined) return
    const to = { ...apiTimeouts, ...this.#init.timeouts }
    const server = createServer({
      requestTimeout: to.requestTimeoutMs,
      headersTimeout: to.headersTimeoutMs,
      keepAliveTimeout: to.keepAliveTimeoutMs,
      connectionsCheckingInterval: to.checkIntervalMs
    }, (req, res) => {
      void this.#handle(req, res)
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.#init.port ?? DEFAULT_API_PORT, this.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    this.#server = server
    const bound = this.address()
    this.#hosts = { names: allowedHostNames({ bindHost: this.host, names: this.#init.hostNames ?? [] }), port: bound.port }
  }

  async stop (): Promise<void> {
    const server = this.#server
    if (server === undefined) return
    this.#server = undefined
    await new Promise<void>(resolve => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
  }

  /** The bound address (host and the real port when 0 was asked for). */
  address (): AddressInfo {
    const a = this.#server?.address()
    if (a === null || a === undefined || typeof a === 'string') throw new StoremeshError('E_NOT_CONNECTED', 'the API server is not listening')
    return a
  }

  get url (): string {
    const a = this.address()
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address
    return `http://${host}:${a.port}`
  }

  async #handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET'
    const rawUrl = req.url ?? '/'
    let path = '/'
    try {
      const hosts = this.#hosts
      if (hosts === undefined || !hostAllowed(req.headers.host, hosts.names, hosts.port)) {
        sendError(res, new StoremeshError('E_MISDIRECTED_REQUEST', 'this API does not answer to that Host',
          { host: String(req.headers.host ?? '').slice(0, 100) }), { connection: 'close' })
        return
      }
      if (rawUrl.length > MAX_URL_CHARS) throw new StoremeshError('E_INVALID_ARGUMENT', 'URL too long')
      const url = new URL(rawUrl, 'http://api.invalid')
      path = url.pathname
      const isRead = method === 'GET' || method === 'HEAD'
      if (!isRead && !tokenMatches(bearerOf(req.headers.authorization), this.#init.token)) {
        // the body is never read: close so an unread upload cannot linger
        sendError(res, new StoremeshError('E_UNAUTHORIZED', 'this request needs the API bearer token'),
          { 'www-authenticate': 'Bearer', connection: 'close' })
        return
      }
      const matches = this.#routes.map(r => ({ r, m: r.pattern.exec(path) })).filter(x => x.m !== null)
      if (matches.length === 0) throw new StoremeshError('E_NOT_FOUND', `no route ${path}`)
      const hit = matches.find(x => x.r.method === method || (method === 'HEAD' && x.r.method === 'GET'))
      if (hit === undefined) {
        sendJson(res, 405, { error: { code: 'E_USAGE', message: `${method} is not allowed on ${path}`, meta: {} } },
          { allow: [...new Set(matches.map(x => x.r.method))].join(', ') })
        return
      }
      let body: unknown
      if (hit.r.write) body = await this.#jsonBody(req)
      const params = (hit.m as RegExpExecArray).slice(1).map(p => decodeParam(p))
      const result = await hit.r.run({ params, query: url.searchParams, body })
      if (result.kind === 'json') sendJson(res, result.status ?? 200, result.body)
      else sendText(res, 200, result.contentType, result.body)
    } catch (err) {
      if (!(err instanceof StoremeshError) || err.code === 'E_INTERNAL') this.#init.onError?.(err, { method, path })
      const tooLarge = err instanceof StoremeshError && err.code === 'E_REQUEST_TOO_LARGE'
      sendError(res, err, tooLarge ? { connection: 'close' } : {})
    }
  }

  async #jsonBody (req: IncomingMessage): Promise<unknown> {
    const bytes = await readBody(req, this.#maxBody)
    if (bytes.length === 0) return {}
    try {
      return parseStrictJson(bytes, 'request body', { code: 'E_INVALID_ARGUMENT' })
    } catch (err) {
      throw new StoremeshError('E_INVALID_ARGUMENT', `request body is not JSON (${String((err as StoremeshError).meta.reason)})`)
    }
  }
}

function decodeParam (p: string | undefined): string {
  try {
    return decodeURIComponent(p ?? '')
  } catch {
    throw new StoremeshError('E_INVALID_ARGUMENT', 'bad percent-encoding in the path')
  }
}

/** Creates and starts an API server. */
export async function startApiServer (init: ApiServerInit): Promise<ApiServer> {
  const server = new ApiServer(init)
  await server.start()
  return server
}
