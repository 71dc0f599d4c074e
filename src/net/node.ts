/**
 * One libp2p node factory for every role (DESIGN.md section 1): TCP, the fleet
 * pre-shared key (pnet), Noise, Yamux, identify, optional mDNS that dials what it
 * finds, an optional peer allowlist, connection limits for a 300-device store, and a
 * persisted identity. Roles differ only in the services they pass in.
 *
 * The polyfill (src/polyfill.ts) must have run before this module is imported.
 */
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify, type Identify } from '@libp2p/identify'
import { mdns } from '@libp2p/mdns'
import { tcp, type TCPSocketOptions } from '@libp2p/tcp'
import type { ConnectionGater, Libp2p, PeerDiscovery, PeerInfo, PrivateKey, ServiceMap } from '@libp2p/interface'
import { createLibp2p, type Libp2pOptions, type ServiceFactoryMap } from 'libp2p'
import {
  DEFAULT_DIAL_TIMEOUT_MS, DEFAULT_INBOUND_CONNECTION_THRESHOLD, DEFAULT_LISTEN_ADDRS, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_CONNECTIONS_PER_PEER, DEFAULT_MAX_EARLY_STREAMS,
  DEFAULT_MAX_INCOMING_PENDING_CONNECTIONS, DEFAULT_MAX_PARALLEL_DIALS, DEFAULT_MAX_READ_BUFFER_BYTES,
  DEFAULT_MAX_STREAM_WINDOW_BYTES, DEFAULT_MDNS_INTERVAL_MS, DEFAULT_MDNS_SERVICE_TAG, CONNECTION_PING_INTERVAL_MS
} from './constants.js'
import { StoremeshError } from '../interface/errors.js'
import { capConnectionsPerPeer } from './connection-cap.js'
import { allowlistGater, mergePeerGaters } from './gater.js'
import { loadOrCreatePeerKey } from './identity.js'
import { noiseQuietLength } from './noise-length.js'
import { swarmKeyProtector } from './protector.js'
import type { SwarmKey } from './swarm-key.js'
import { filterMdnsFor } from './mdns-filter.js'
import { closeCrossedDuplicates, DIAL_DEFER_MS, dialsFirst } from './dial-order.js'

export interface MdnsOptions {
  /** one tag per fleet or test isolates groups. @default DEFAULT_MDNS_SERVICE_TAG */
  serviceTag?: string
  /** @default DEFAULT_MDNS_INTERVAL_MS (10 s) */
  intervalMs?: number
  /** mDNS only reports peers; dial them. @default true */
  dialOnDiscovery?: boolean
  /**
   * Between its backed-off queries, a node with peers closes its mDNS socket
   * (MDNS_SLEEP_AFTER_MS): devices, not the hub every device must find. @default false
   */
  sleepWhenConnected?: boolean
  /** queries of a node with peers back off up to this. @default MDNS_MAX_BACKOFF_INTERVAL_MS */
  maxIntervalMs?: number
  /** the higher id of a pair waits this long for the lower id's dial (dial-order.ts). @default DIAL_DEFER_MS */
  dialDeferMs?: number
}

export interface ConnectionLimits {
  maxConnections: number
  /** connections one remote peer may hold; the oldest beyond are closed (connection-cap.ts) */
  maxConnectionsPerPeer: number
  /** new inbound connections per second per remote host */
  inboundConnectionThreshold: number
  maxIncomingPendingConnections: number
  maxParallelDials: number
  dialTimeoutMs: number
  /** libp2p's connection monitor: each connection pinged this often, aborted when it fails */
  pingIntervalMs: number
}

export const defaultConnectionLimits: Readonly<ConnectionLimits> = {
  maxConnections: DEFAULT_MAX_CONNECTIONS,
  maxConnectionsPerPeer: DEFAULT_MAX_CONNECTIONS_PER_PEER,
  inboundConnectionThreshold: DEFAULT_INBOUND_CONNECTION_THRESHOLD,
  maxIncomingPendingConnections: DEFAULT_MAX_INCOMING_PENDING_CONNECTIONS,
  maxParallelDials: DEFAULT_MAX_PARALLEL_DIALS,
  dialTimeoutMs: DEFAULT_DIAL_TIMEOUT_MS,
  pingIntervalMs: CONNECTION_PING_INTERVAL_MS
}

export interface NodeInit<T extends ServiceMap = ServiceMap> {
  /**
   * The fleet key; `null` runs an open node (tests of the refusal, labs). Required so
   * that leaving it out is a decision, not an accident.
   */
  swarmKey: SwarmKey | null
  /** @default DEFAULT_LISTEN_ADDRS (loopback only); roles pass e.g. `/ip4/0.0.0.0/tcp/4301` */
  listen?: string[]
  /** addresses to announce instead of the listening ones (e.g. only the store LAN's) */
  announce?: string[]
  /** the identity persists in `<dataDir>/peer-key.json` */
  dataDir?: string
  /** an explicit identity; wins over dataDir. Neither: a new one each start. */
  privateKey?: PrivateKey
  /** mDNS discovery; off unless given */
  mdns?: MdnsOptions | false
  /** only these peer ids (strings) may connect or be dialled; the Set is read live */
  allowPeers?: ReadonlySet<string>
  /** more peer-id hooks (a role's ban list: swarm's banGater), merged with the allowlist */
  gater?: ConnectionGater
  limits?: Partial<ConnectionLimits>
  /**
   * the local address our TCP dials leave from (net.connect's localAddress): a test or
   * bench plays a separate host with 127.0.0.2, as address bans see hosts (address-bans.ts) @default the kernel's choice
   */
  dialFromAddress?: string
  /** @default DEFAULT_MAX_STREAM_WINDOW_BYTES (256 KiB; see constants.ts for why) */
  maxStreamWindowBytes?: number
  /** protocol services, e.g. `{ manifest: manifestProtocol({ lookup }) }` */
  services?: ServiceFactoryMap<T>
  /** libp2p's metrics factory (e.g. @libp2p/prometheus-metrics on the role's registry) */
  metrics?: Libp2pOptions['metrics']
  /** @default true */
  start?: boolean
}

export type StoremeshNode<T extends ServiceMap = ServiceMap> = Libp2p<T & { identify: Identify }>

/**
 * Dials what mDNS reports, once at a time per peer, unless already connected. Of two
 * peers that find each other the lower id dials; the other dials only if no connection
 * came within DIAL_DEFER_MS (dial-order.ts).
 */
class DiscoveryDialer {
  node: Libp2p | undefined
  readonly #inflight = new Set<string>()
  readonly #deferred = new Map<string, NodeJS.Timeout>()

  constructor (private readonly allow: ReadonlySet<string> | undefined, private readonly dialTimeoutMs: number, private readonly deferMs: number) {}

  readonly onPeer = (evt: CustomEvent<PeerInfo>): void => {
    const node = this.node
    const { id, multiaddrs } = evt.detail
    const key = id.toString()
    if (node === undefined || node.status !== 'started' || id.equals(node.peerId)) return
    if (this.allow !== undefined && !this.allow.has(key)) return
    if (this.#inflight.has(key) || this.#deferred.has(key) || node.getConnections(id).length > 0 || multiaddrs.length === 0) return
    if (!dialsFirst(node.peerId, id) && this.deferMs > 0) {
      const timer = setTimeout(() => { this.#deferred.delete(key); this.#dial(node, evt.detail) }, this.deferMs)
      timer.unref()
      this.#deferred.set(key, timer)
      return
    }
    this.#dial(node, evt.detail)
  }

  #dial (node: Libp2p, { id, multiaddrs }: PeerInfo): void {
    const key = id.toString()
    if (node.status !== 'started' || this.#inflight.has(key) || node.getConnections(id).length > 0) return
    this.#inflight.add(key)
    const log = node.logger.forComponent('storemesh:net:mdns')
    const addrs = multiaddrs.map(ma => ma.encapsulate(`/p2p/${key}`))
    node.dial(addrs, { signal: AbortSignal.timeout(this.dialTimeoutMs) })
      .then(() => { log('dialled discovered peer %p', id) })
      .catch((err: unknown) => { log('dial to discovered peer %p failed: %e', id, err) })
      .finally(() => { this.#inflight.delete(key) })
  }

  stop (): void {
    for (const t of this.#deferred.values()) clearTimeout(t)
    this.#deferred.clear()
  }
}

/**
 * Once a node has peers, its own mDNS queries back off: interval, 2x, 4x ... up to
 * this. Every node answers every query and every answer is multicast to every node, so
 * one round of queries costs O(N^2) answers per node (about 1 ms of CPU each when
 * merged into the peer store) — at N=16 more than two cores have. A newcomer's own
 * queries still find everyone at once (their answers reach it whatever our interval),
 * and a node that lost every connection goes back to the base interval.
 */
export const MDNS_MAX_BACKOFF_INTERVAL_MS = 120_000
/**
 * A sleeping node (MdnsOptions.sleepWhenConnected) listens this long after each of its
 * queries once they are MDNS_MAX_BACKOFF_INTERVAL_MS apart, then closes the socket
 * until the next one. Every mDNS packet on the LAN wakes a listening node (bench:mdns-
 * packet: 60-90 us of CPU each, 10-40 a second on the bench machine, issue #19); asleep
 * it wakes for none. Whoever appears meanwhile is found at our next query (its answer),
 * and losing the last connection wakes the node at once, at the base interval.
 */
export const MDNS_AWAKE_AFTER_QUERY_MS = 5_000

let mdnsAsleep = 0
/** Nodes of this process whose mDNS socket is closed now (tests, diagnostics). */
export function mdnsSocketsAsleep (): number {
  return mdnsAsleep
}

/** The fields of @libp2p/mdns's MulticastDNS we drive (public in its JS, private in its types). */
interface MdnsInternals {
  mdns?: { query(q: { questions: Array<{ name: string, type: 'PTR' }> }): void }
  serviceTag: string
  _queryInterval: NodeJS.Timeout | null
  /** bound in the constructor, subscribed in start() */
  _onMdnsQuery: (query: { questions?: Array<{ name?: string }> }) => void
  start(): Promise<void>
  stop(): Promise<void>
}

/**
 * Takes over the module's fixed query interval (adaptive back-off above) and drops
 * answers from peers we are already connected to before libp2p merges them into the
 * peer store: their addresses are known from the connection, and the merge is the
 * per-answer CPU cost. A restarted peer has no connection, so it still gets through.
 * Queries for other services are dropped before the module reads our addresses: it
 * builds every listen multiaddr for each query on the LAN, then checks the name, which
 * made printers' and phones' queries (and other fleets' tags) most of an idle agent's
 * CPU. The module answers only when the first question names our tag; so do we.
 */
function tameMdns (discovery: PeerDiscovery, node: () => Libp2p | undefined, baseIntervalMs: number, maxIntervalMs: number, sleepWhenConnected: boolean): void {
  const m = discovery as unknown as MdnsInternals
  const onQuery = m._onMdnsQuery
  m._onMdnsQuery = query => { if (query.questions?.[0]?.name === m.serviceTag) onQuery(query) }
  const connected = (evt: Event): boolean => {
    const n = node()
    const id = (evt as CustomEvent<PeerInfo>).detail?.id
    return n !== undefined && id !== undefined && n.getConnections(id).length > 0
  }
  const dispatch = discovery.dispatchEvent.bind(discovery)
  discovery.dispatchEvent = (evt: Event): boolean => evt.type === 'peer' && connected(evt) ? true : dispatch(evt)

  let delayMs = baseIntervalMs
  let timer: NodeJS.Timeout | undefined
  let sleepTimer: NodeJS.Timeout | undefined
  let running = false
  let asleep = false
  const start = m.start.bind(m)
  const stop = m.stop.bind(m)
  const hasPeers = (): boolean => (node()?.getConnections().length ?? 0) > 0
  /** opens the socket again; the module's start() queries once itself */
  const setAsleep = (v: boolean): void => { if (v !== asleep) mdnsAsleep += v ? 1 : -1; asleep = v }
  const wake = async (): Promise<void> => {
    setAsleep(false)
    await start()
    if (m._queryInterval !== null) clearInterval(m._queryInterval)
    m._queryInterval = null
    if (!running) await stop()
  }
  const tick = (): void => {
    timer = undefined
    if (!running) return
    if (hasPeers()) delayMs = Math.min(maxIntervalMs, Math.max(baseIntervalMs, delayMs * 2))
    else delayMs = baseIntervalMs
    if (asleep) void wake().catch(() => {})
    else m.mdns?.query({ questions: [{ name: m.serviceTag, type: 'PTR' }] })
    if (sleepWhenConnected && delayMs >= maxIntervalMs) {
      clearTimeout(sleepTimer)
      sleepTimer = setTimeout(() => { if (running && !asleep && hasPeers()) { setAsleep(true); void stop().catch(() => {}) } }, Math.min(MDNS_AWAKE_AFTER_QUERY_MS, maxIntervalMs / 2))
      sleepTimer.unref()
    }
    timer = setTimeout(tick, delayMs)
    timer.unref()
  }
  // the last connection gone: listen and ask again now, at the base interval
  const onClose = (): void => { setImmediate(wakeIfAlone) }
  const wakeIfAlone = (): void => {
    if (!running || hasPeers() || (!asleep && delayMs === baseIntervalMs)) return
    clearTimeout(timer)
    delayMs = baseIntervalMs
    tick()
  }
  let unfilter: (() => void) | undefined
  m.start = async () => {
    // other services' packets are skipped undecoded while we listen (mdns-filter.ts)
    unfilter ??= filterMdnsFor(m.serviceTag)
    running = true
    setAsleep(false)
    await start()
    // the module queried once already and set a fixed interval: ours replaces it
    if (m._queryInterval !== null) clearInterval(m._queryInterval)
    m._queryInterval = null
    delayMs = baseIntervalMs
    if (sleepWhenConnected) node()?.addEventListener('connection:close', onClose)
    if (timer === undefined) { timer = setTimeout(tick, delayMs); timer.unref() }
  }
  m.stop = async () => {
    running = false
    setAsleep(false)
    clearTimeout(timer)
    clearTimeout(sleepTimer)
    timer = undefined
    node()?.removeEventListener('connection:close', onClose)
    unfilter?.()
    unfilter = undefined
    await stop()
  }
}

async function resolveKey (init: NodeInit<ServiceMap>): Promise<PrivateKey | undefined> {
  if (init.privateKey !== undefined) return init.privateKey
  if (init.dataDir !== undefined) return await loadOrCreatePeerKey(init.dataDir)
  return undefined
}

export async function createStoremeshNode<T extends ServiceMap = ServiceMap> (init: NodeInit<T>): Promise<StoremeshNode<T>> {
  if (init.swarmKey === undefined) {
    throw new StoremeshError('E_INVALID_ARGUMENT', 'a swarm key is required (pass null only to run an open node on purpose)')
  }
  const limits: ConnectionLimits = { ...defaultConnectionLimits, ...init.limits }
  const dialer = new DiscoveryDialer(init.allowPeers, limits.dialTimeoutMs, init.mdns !== undefined && init.mdns !== false ? init.mdns.dialDeferMs ?? DIAL_DEFER_MS : DIAL_DEFER_MS)
  const peerDiscovery = []
  if (init.mdns !== undefined && init.mdns !== false) {
    const m = init.mdns
    const intervalMs = m.intervalMs ?? DEFAULT_MDNS_INTERVAL_MS
    const create = mdns({ serviceTag: m.serviceTag ?? DEFAULT_MDNS_SERVICE_TAG, interval: intervalMs })
    peerDiscovery.push((components: Parameters<typeof create>[0]): PeerDiscovery => {
      const discovery = create(components)
      tameMdns(discovery, () => dialer.node, intervalMs, m.maxIntervalMs ?? MDNS_MAX_BACKOFF_INTERVAL_MS, m.sleepWhenConnected === true)
      // the raw 'peer' event fires on every answer; libp2p's 'peer:discovery' only
      // the first time it ever sees a peer, so a restarted peer would never be redialled
      if (m.dialOnDiscovery !== false) discovery.addEventListener('peer', dialer.onPeer)
      return discovery
    })
  }
  const windowBytes = init.maxStreamWindowBytes ?? DEFAULT_MAX_STREAM_WINDOW_BYTES
  const services = { ...init.services, identify: identify() } as unknown as ServiceFactoryMap<T & { identify: Identify }>
  const node = await createLibp2p<T & { identify: Identify }>({
    privateKey: await resolveKey(init as NodeInit<ServiceMap>),
    addresses: {
      listen: [...(init.listen ?? DEFAULT_LISTEN_ADDRS)],
      ...(init.announce !== undefined ? { announce: [...init.announce] } : {})
    },
    // localAddress is net.connect's; @libp2p/tcp spreads dialOpts into it but types only a few fields
    transports: [tcp(init.dialFromAddress !== undefined ? { dialOpts: { localAddress: init.dialFromAddress } as TCPSocketOptions } : {})],
    connectionEncrypters: [noiseQuietLength()],
    streamMuxers: [yamux({
      maxEarlyStreams: DEFAULT_MAX_EARLY_STREAMS,
      streamOptions: {
        maxStreamWindowSize: windowBytes,
        maxReadBufferLength: Math.max(DEFAULT_MAX_READ_BUFFER_BYTES, 2 * windowBytes)
      }
    })],
    ...(init.swarmKey !== null ? { connectionProtector: swarmKeyProtector(init.swarmKey) } : {}),
    connectionGater: mergePeerGaters(allowlistGater(init.allowPeers), init.gater ?? {}),
    ...(init.metrics !== undefined ? { metrics: init.metrics } : {}),
    connectionManager: {
      maxConnections: limits.maxConnections,
      inboundConnectionThreshold: limits.inboundConnectionThreshold,
      maxIncomingPendingConnections: limits.maxIncomingPendingConnections,
      maxParallelDials: limits.maxParallelDials,
      dialTimeout: limits.dialTimeoutMs
    },
    connectionMonitor: { pingInterval: limits.pingIntervalMs },
    peerDiscovery,
    services,
    // mDNS may report a peer during start(); the dialer must hold the node by then
    start: false
  })
  dialer.node = node as unknown as Libp2p
  capConnectionsPerPeer(node, limits.maxConnectionsPerPeer)
  closeCrossedDuplicates(node)
  node.addEventListener('stop', () => { dialer.stop() })
  if (init.start !== false) await node.start()
  return node
}
