/**
 * Where `storemesh fleet …` runs its orders and reads: a running super hub's fleet API
 * (`--api <url>`, or the `<data>/api.json` a running super hub writes), or the fleet
 * database itself (`--db postgres://…`, or a stopped super hub's embedded one under
 * `--data`). An embedded database belongs to one process, so while the super hub runs
 * the CLI goes through its API; orders there take the same checks and idempotency
 * (src/control/api/fleet-routes.ts) and need the API token (`--token`,
 * STOREMESH_TOKEN, or `<data>/api-token`).
 */
import { readApiToken } from '../api/token.js'
import { checkDbUrl } from '../control/db/open.js'
import { FleetLedger, type FleetStatus, type IssueResult, type OrderRequest } from '../control/index.js'
import { isStoremeshError, StoremeshError } from '../interface/errors.js'
import { ApiClient, runningApiUrl } from './api-client.js'

export interface FleetBackendOptions {
  db?: string
  data?: string
  api?: string
  token?: string
}

export interface FleetBackend {
  issue(req: OrderRequest): Promise<IssueResult>
  status(waveId?: string): Promise<FleetStatus>
  registerHub(hubId: string): Promise<boolean>
  close(): Promise<void>
}

function apiBackend (client: ApiClient): FleetBackend {
  const body = (r: OrderRequest): Record<string, unknown> => {
    const { hubId, ...rest } = r
    return { ...rest, ...(hubId !== undefined ? { store: hubId } : {}) }
  }
  return {
    issue: async req => await client.post<IssueResult>('/api/orders', body(req)),
    status: async waveId => {
      const { atMs: _at, ...s } = await client.get<FleetStatus & { atMs: number }>(`/api/fleet${waveId !== undefined ? `?wave=${encodeURIComponent(waveId)}` : ''}`)
      return s
    },
    registerHub: async hubId => (await client.post<{ changed: boolean }>('/api/hubs', { hubId })).changed,
    close: async () => {}
  }
}

function ledgerBackend (l: FleetLedger): FleetBackend {
  return {
    issue: async req => await l.issue(req),
    status: async waveId => await l.status(waveId),
    registerHub: async hubId => await l.registerHub(hubId),
    close: async () => { await l.close() }
  }
}

export async function openFleetBackend (opts: FleetBackendOptions, processEnv: NodeJS.ProcessEnv = process.env): Promise<FleetBackend> {
  // an empty variable is an unset one
  const env = Object.fromEntries(Object.entries(processEnv).filter(([, v]) => v !== undefined && v !== ''))
  if (opts.api !== undefined && opts.db !== undefined) throw new StoremeshError('E_USAGE', 'give --api or --db, not both')
  // a flag wins over the other's environment variable
  const url = opts.db ?? (opts.api === undefined ? env.STOREMESH_FLEET_DB : undefined)
  const apiUrl = opts.api ?? (opts.db === undefined ? env.STOREMESH_FLEET_API : undefined)
  const token = async (): Promise<string | undefined> => opts.token ?? env.STOREMESH_TOKEN ?? (opts.data !== undefined ? await readApiToken(opts.data) : undefined)
  if (apiUrl !== undefined) return apiBackend(new ApiClient(apiUrl, await token()))
  if (url === undefined && opts.data === undefined) throw new StoremeshError('E_USAGE', 'give --api <super hub API>, --db postgres://… (or STOREMESH_FLEET_DB) or --data <super hub data dir>')
  if (url !== undefined && opts.data !== undefined) throw new StoremeshError('E_USAGE', 'give --db or --data, not both')
  if (url !== undefined) return ledgerBackend(await FleetLedger.open({ dbUrl: checkDbUrl(url) }, { waitForDb: true }))
  const running = await runningApiUrl(opts.data!)
  if (running !== undefined) {
    const client = new ApiClient(running, await token())
    try {
      await client.get('/api/waves')
      return apiBackend(client)
    } catch (err) {
      // a super hub killed without stopping left api.json behind: its database is free
      if (!isStoremeshError(err, 'E_NOT_CONNECTED')) throw err
    }
  }
  return ledgerBackend(await FleetLedger.open({ dataDir: opts.data! }, { waitForDb: true }))
}
