/**
 * What a LAN peer is built from (PeerInit) and the services its node carries: the
 * shapes the store hub, the device agent and the CLI's option parsing share, apart
 * from LanPeer's start and stop.
 */
import type { Log } from '../interface/log.js'
import type { TrustOptions } from '../interface/types.js'
import type { LeaseProtocol, LeaseServer } from '../lease/index.js'
import type { ManifestProtocol } from '../net/manifest/index.js'
import type { NodeInit, StoremeshNode } from '../net/node.js'
import type { PeerIdentityOptions } from '../identity/node-identity.js'
import type { IdentityProtocol } from '../identity/protocol/index.js'
import type { SwarmKey } from '../net/swarm-key.js'
import type { QuotaSpec } from '../store/index.js'
import type { AcquireBytes, ChunkProtocol, SwarmOptions } from '../swarm/index.js'

export type PeerServices = { chunks: ChunkProtocol, manifest: ManifestProtocol, lease: LeaseProtocol, identity?: IdentityProtocol }
export type PeerNode = StoremeshNode<PeerServices>

export interface PeerInit {
  /** `hub` or `device`; named in the status file */
  role: string
  dataDir: string
  /** the fleet key; `null` only on purpose (labs, the refusal test) */
  swarmKey: SwarmKey | null
  /** the static keys: the implicit root 0 under `<data>/root-chain.json` (src/identity/root/) */
  trust: TrustOptions
  /** a device's class: asked first when resolving an unknown bundle */
  deviceClass?: string
  /** mDNS service tag (one per fleet, or per test) */
  serviceTag?: string
  /** @default the mDNS module's 10 s */
  mdnsIntervalMs?: number
  /** @default DEFAULT_PEER_LISTEN_ADDRS (every interface) */
  listen?: string[]
  announce?: string[]
  /** node-wide upload cap (the LAN bench's token bucket); wins over uploadRateBytesPerSec */
  uploadLimiter?: AcquireBytes
  /** builds a token bucket (src/wan/limiter.ts) at this rate as the node-wide upload cap */
  uploadRateBytesPerSec?: number
  /** how long a banned peer's LAN address is refused before Noise; 0 turns it off (net/address-bans.ts) @default DEFAULT_ADDRESS_BAN_MS */
  addressBanMs?: number
  /** the hub's lease table; devices leave it out (client only) */
  leaseAuthority?: LeaseServer
  swarmOptions?: Partial<SwarmOptions>
  /** @default DEFAULT_STATUS_INTERVAL_MS */
  statusIntervalMs?: number
  /** libp2p's own metrics (the hub: @libp2p/prometheus-metrics on its registry) */
  metrics?: NodeInit['metrics']
  /** the process logger, without a component: the peer and what it builds name theirs. @default silentLog */
  log?: Log
  /** node certificates (protocols/identity/SPEC.md): present ours, verify theirs; absent: off */
  identity?: PeerIdentityOptions
  /** the chunk store's disk quota (`--store-quota`: bytes or a share of the filesystem); absent: none */
  storeQuota?: QuotaSpec
}
