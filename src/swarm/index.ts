/**
 * `/storemesh/chunks/1.0.0`: the BitTorrent peer wire over libp2p streams
 * (DESIGN.md section 4; spec protocols/chunks/SPEC.md; shape of js-libp2p's
 * protocol-ping: interface, Init, factory). Where to look:
 *
 * - `index.ts`          this file: the public interface, the Init, the factory
 * - `constants.ts`      protocol id, wire limits and swarm defaults (`defaultSwarmOptions`)
 * - `messages.ts`       the wire's messages and handshake: what a remote may send, checked
 * - `chunk-protocol.ts` the one class owning the handler and the client side (ChunkProtocolService)
 * - `frame-guard.ts`    the bounded framer bittorrent-protocol needs in front of it (its header says why)
 * - `handshake.ts`, `wire.ts`, `transport.ts`  one peer wire: routing by info-hash, the
 *                       library's Wire with our rules, coalesced writes
 * - `session.ts`, `unchoking.ts`  one bundle's swarm; the algorithms each alone:
 *                       `picker.ts`, `rarity-map.ts`, `choker.ts`, `superseed.ts`, `upload-turns.ts`,
 *                       `uploader.ts`, `scoring.ts`, `reopen.ts`, `bits.ts`, `link.ts`
 * - `wire-budget.ts`, `rate-budget.ts`, `violations.ts`  per-peer budgets on the wire
 *                       (a GCRA per message class) and the violation codes and weights;
 *                       `ban-file.ts` keeps the ban list across restarts
 *
 * ```ts
 * const bans = new BanList()
 * const node = await createStoremeshNode({
 *   swarmKey, services: { chunks: chunkProtocol({ store, bans }) }   // + banGater(bans) in the gater
 * })
 * const swarm = await node.services.chunks.join(bundleInfo, { superseed: isHub })
 * swarm.on('progress', p => ...)
 * await swarm.done
 * ```
 */
import type { AbortOptions, Connection, PeerId, StreamHandler, StreamHandlerOptions, Topology, Stream } from '@libp2p/interface'
import type { BundleInfo, ChunkSink, Link } from '../interface/types.js'
import type { Startable } from '../interface/startable.js'
import type { Log } from '../interface/log.js'
import { ChunkProtocolService } from './chunk-protocol.js'
import type { SwarmOptions } from './constants.js'
import type { BanList, PeerScorer } from './scoring.js'
import type { BundleSwarm } from './session.js'
import type { ByteDuplex } from './transport.js'
import type { AcquireBytes } from './uploader.js'

export { CHUNK_PROTOCOL, defaultSwarmOptions, type SwarmOptions } from './constants.js'
export { BanList, banGater, PeerScorer, type BanEntry, type BanRecord, type ViolationEvent } from './scoring.js'
export { BanFile, BAN_FILE_SCHEMA } from './ban-file.js'
export { BAN_FILE_NAME } from './constants.js'
export { VIOLATION_CODES, VIOLATION_WEIGHTS, type ViolationCode } from './violations.js'
export { BundleSwarm, type BundleSwarmInit, type PeerConnection, type SwarmProgress } from './session.js'
export type { AcquireBytes } from './uploader.js'
export type { AcquireOptions } from './uploader.js'
export { UploadTurns } from './upload-turns.js'
export type { ByteDuplex } from './transport.js'
export { linkOfMultiaddr } from './link.js'

/** The few components the protocol uses (a libp2p node fits as registrar too). */
export interface ChunkProtocolComponents {
  peerId: PeerId
  registrar: {
    handle(protocol: string, handler: StreamHandler, options?: StreamHandlerOptions): Promise<void>
    unhandle(protocol: string, options?: AbortOptions): Promise<void>
    register(protocol: string, topology: Topology, options?: AbortOptions): Promise<string>
    unregister(id: string): void
  }
  connectionManager: {
    getConnections(peerId?: PeerId): Connection[]
  }
}

export interface JoinOptions {
  /** hand each chunk out once (the store hub) */
  superseed?: boolean
  /** overrides of the protocol's swarm options for this bundle */
  options?: Partial<SwarmOptions>
}

export interface ChunkProtocolInit {
  /** the node's chunk store; chunks held for any bundle are announced for every bundle */
  store: ChunkSink
  /** defaults for every joined bundle */
  options?: Partial<SwarmOptions>
  /** shared with the node's connection gater (banGater); default: a new list */
  bans?: BanList
  /** @default DEFAULT_BAD_CHUNK_THRESHOLD (2) */
  badChunkThreshold?: number
  /** node-wide upload cap, taken before every chunk sent */
  uploadLimiter?: AcquireBytes
  /** per-peer upload cap (e.g. WAN token buckets), taken before the node's */
  peerUploadLimiter?: (peer: { peerId: string, link: Link }) => AcquireBytes | undefined
  /** pieces from peers this refuses are never stored (src/identity/ PeerIdentities.isAllowed) */
  isAllowed?: (peerId: string) => boolean
  /** peers never disconnected as hoarders (the store's hub: session.ts) @default none */
  spareHoarder?: (peerId: string) => boolean | Promise<boolean>
  /** each swarm's per-peer debug lines (peer-trace.ts) @default none */
  log?: Log | undefined
  /** @default linkOfMultiaddr(connection.remoteAddr) */
  linkOf?: (connection: Connection) => Link
  /** an inbound stream for a bundle we have not joined: return its info to join it (as a seeder of what we hold), or undefined to close */
  resolveBundle?: (infoHash: Uint8Array, peerId: string, options: AbortOptions) => Promise<BundleInfo | undefined>
  /** @default toByteDuplex from src/net/byte-stream.ts (no Node stream layer) */
  toDuplex?: (stream: Stream) => ByteDuplex
  /** @default CHUNK_PROTOCOL */
  protocol?: string
}

export interface ChunkProtocol extends Startable {
  readonly protocol: string
  readonly bans: BanList
  readonly scorer: PeerScorer
  /** Joins (or returns) the swarm of a bundle and opens streams to connected peers. */
  join(bundle: BundleInfo, options?: JoinOptions): Promise<BundleSwarm>
  leave(bundleId: string): Promise<void>
  /** re-open sweeps run so far (an idle node whose peers all have their wires sweeps once per DEFAULT_REOPEN_IDLE_MS) */
  readonly sweeps: number
  swarm(bundleId: string): BundleSwarm | undefined
  swarms(): BundleSwarm[]
  /** A chunk was stored by another path (WAN): announce it in every swarm that lists it. */
  noteChunkStored(hash: string): void
  isBanned(peerId: string): boolean
  /** inbound streams refused because their peer (or all peers) had too many in their handshake */
  readonly refusedStreams: number
  /** inbound handshakes naming a bundle not joined (each may cost a manifest fetch) */
  readonly unknownHandshakes: number
}

export function chunkProtocol (init: ChunkProtocolInit): (components: ChunkProtocolComponents) => ChunkProtocol {
  return (components) => new ChunkProtocolService(components, init)
}
