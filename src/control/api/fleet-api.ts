/**
 * The super hub's fleet API server: the store hub's ApiServer (src/api/server.ts, same
 * token, loopback and Host rules) with the fleet route table (fleet-routes.ts) and the
 * fleet `/metrics`. Like the store hub it keeps its token in `<data>/api-token` (0600)
 * and writes its URL to `<data>/api.json`, where `storemesh fleet … --data <dir>` finds
 * a running super hub; api.json is removed on stop, so a stopped super hub's data dir
 * sends the CLI back to the embedded database.
 */
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { Registry } from 'prom-client'
import { API_URL_FILE } from '../../api/constants.js'
import { ApiServer } from '../../api/server.js'
import { loadOrCreateApiToken } from '../../api/token.js'
import { writeFileAtomic } from '../../interface/atomic-file.js'
import { toStoremeshError } from '../../interface/errors.js'
import { silentLog, type Log } from '../../interface/log.js'
import type { FleetLedger } from '../fleet-ledger.js'
import { createFleetMetrics } from '../fleet-metrics.js'
import type { WanServedTally } from '../wan-served.js'
import { fleetRoutes } from './fleet-routes.js'

/** @default 7490 (the store hub's is 7480: both may run on one host) */
export const DEFAULT_FLEET_API_PORT = 7490

export interface FleetApiInit {
  dataDir: string
  ledger: FleetLedger
  served?: WanServedTally
  /** registers the role's other series on the API's /metrics registry */
  extendMetrics?: (registry: Registry) => void
  /** @default 127.0.0.1 */
  host?: string
  /** @default DEFAULT_FLEET_API_PORT; 0 picks a free one */
  port?: number
  /** names clients reach the API by (Host header), besides its address and the loopback names */
  hostNames?: readonly string[]
  /** a port that is taken only logs a warning (the default port: another super hub on this host) */
  optional?: boolean
  log?: Log
}

export interface FleetApi {
  readonly url: string
  stop(): Promise<void>
}

/** Starts the fleet API; undefined when `optional` and the port could not be bound. */
export async function startFleetApi (init: FleetApiInit): Promise<FleetApi | undefined> {
  const log = init.log ?? silentLog
  const registry = new Registry()
  createFleetMetrics(registry, init.ledger)
  init.extendMetrics?.(registry)
  const server = new ApiServer({
    token: await loadOrCreateApiToken(init.dataDir),
    routes: fleetRoutes({
      ledger: init.ledger,
      ...(init.served !== undefined ? { served: init.served } : {}),
      metrics: { contentType: registry.contentType, text: async () => await registry.metrics() }
    }),
    ...(init.host !== undefined ? { host: init.host } : {}),
    port: init.port ?? DEFAULT_FLEET_API_PORT,
    ...(init.hostNames !== undefined ? { hostNames: init.hostNames } : {}),
    onError: (err, req) => { log.warn(`api ${req.method} ${req.path}: ${toStoremeshError(err).toLine()}`) }
  })
  try {
    await server.start()
  } catch (err) {
    if (init.optional !== true) throw toStoremeshError(err)
    log.warn(`fleet API not started (${server.host}:${init.port ?? DEFAULT_FLEET_API_PORT}): ${toStoremeshError(err).toLine()}; give --api-port to choose another port`)
    return undefined
  }
  const urlFile = join(init.dataDir, API_URL_FILE)
  try {
    await writeFileAtomic(urlFile, JSON.stringify({ url: server.url }) + '\n', { durable: false })
  } catch (err) {
    await server.stop()
    throw err
  }
  return {
    url: server.url,
    async stop () {
      await rm(urlFile, { force: true }).catch(() => {})
      await server.stop()
    }
  }
}
