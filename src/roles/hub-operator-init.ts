/**
 * What the store hub's operator plane (hub-operator.ts) is started with: the hub, its
 * super hubs, the API's address and the registry. Apart so the composition reads
 * without its options.
 */
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Registry } from 'prom-client'
import type { Log } from '../interface/log.js'
import type { TrustOptions } from '../interface/types.js'
import type { WanPuller } from '../wan/puller.js'
import type { StoreHub } from './store-hub.js'

export interface HubOperatorInit {
  hub: StoreHub
  dataDir: string
  trust: TrustOptions
  /** the hub's name at its super hub. @default its peer id */
  hubId?: string
  /** the super hubs the ledger is pushed to (every --super: one at a time, the next when it fails); none: the ledger stays local */
  superHub?: string | Multiaddr | ReadonlyArray<string | Multiaddr>
  /** the WAN puller once started (metrics, prefetch poke) */
  wan?: () => WanPuller | undefined
  /** the API; absent: no API server (metrics and ledger still run) */
  api?: {
    /** @default DEFAULT_API_HOST (127.0.0.1) */
    host?: string
    /** @default DEFAULT_API_PORT (7480); 0 picks a free port */
    port?: number
    /** names clients reach the API by besides its address and localhost (Host check). @default [] */
    hostNames?: readonly string[]
    /** true: a port that cannot be bound is logged and the hub runs without the API (the default port may be taken) */
    optional?: boolean
  }
  /**
   * The registry /metrics serves; the hub's libp2p node registers its own metrics on it
   * (so it exists before the node). @default a new one
   */
  registry?: Registry
  /** the process logger, without a component (the operator names `api` and `ledger`). @default silentLog */
  log?: Log
  /** how often pins and the ledger are checked for eviction. @default DEFAULT_LIFECYCLE_INTERVAL_MS */
  lifecycleIntervalMs?: number
}
