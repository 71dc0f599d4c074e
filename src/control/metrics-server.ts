/**
 * The super hub's `/metrics` (fleet aggregates, fleet-metrics.ts) on 127.0.0.1 only:
 * a read-only text page, so the loopback bind is its whole access rule (the store
 * hub's API serves its /metrics the same way, without a token). Anything but
 * `GET /metrics` is 404; slow clients are cut by the header and request timeouts.
 */
import { createServer, type Server } from 'node:http'
import { Registry } from 'prom-client'
import type { FleetLedger } from './fleet-ledger.js'
import { createFleetMetrics } from './fleet-metrics.js'

const HEADERS_TIMEOUT_MS = 10_000
const REQUEST_TIMEOUT_MS = 30_000

export interface FleetMetricsServer {
  readonly port: number
  close(): Promise<void>
}

/** `extend` registers the role's other series (the origin pull-through's) on the same registry. */
export async function startFleetMetricsServer (ledger: FleetLedger, port: number, extend?: (registry: Registry) => void): Promise<FleetMetricsServer> {
  const registry = new Registry()
  createFleetMetrics(registry, ledger)
  extend?.(registry)
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('E_NOT_FOUND only GET /metrics here\n')
      return
    }
    registry.metrics().then(text => {
      res.writeHead(200, { 'content-type': registry.contentType }).end(text)
    }, (err: Error) => {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`E_INTERNAL ${err.message}\n`)
    })
  })
  server.headersTimeout = HEADERS_TIMEOUT_MS
  server.requestTimeout = REQUEST_TIMEOUT_MS
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => { resolve() })
  })
  const addr = server.address()
  return {
    port: typeof addr === 'object' && addr !== null ? addr.port : port,
    close: async () => { await new Promise<void>(resolve => { server.close(() => { resolve() }); server.closeAllConnections() }) }
  }
}
