/**
 * The shapes a bundle swarm takes and gives: peer connections in, progress and events
 * out. Kept apart from session.ts so roles, status and metrics can import them alone.
 */
import type { StoremeshError } from '../interface/errors.js'
import type { Log } from '../interface/log.js'
import type { BundleInfo, ChunkSink, Link } from '../interface/types.js'
import type { SwarmOptions } from './constants.js'
import type { PeerScorer } from './scoring.js'
import type { ByteDuplex } from './transport.js'
import type { AcquireBytes } from './uploader.js'
import type { ViolationCode } from './violations.js'

export interface PeerConnection {
  /** the remote's libp2p peer id (authenticated by Noise) */
  remotePeerId: string
  duplex: ByteDuplex
  link: Link
  /** we opened the stream (we send the handshake first) */
  initiator: boolean
  /** bytes a router already read from the duplex (the remote's handshake) */
  prefix?: Uint8Array
  /** this peer's upload cap, applied before the node's */
  uploadLimiter?: AcquireBytes
  /** drops the underlying connection; called when the peer is banned */
  disconnect?: () => void
}

export interface BundleSwarmInit {
  bundle: BundleInfo
  store: ChunkSink
  localPeerId: string
  /** hub mode: hand each chunk out once and let peers spread it */
  superseed?: boolean
  options?: Partial<SwarmOptions>
  /** node-wide scores and bans; default: private to this swarm */
  scorer?: PeerScorer
  /** node-wide upload cap, applied to every chunk sent */
  uploadLimiter?: AcquireBytes
  /** pieces from a peer this refuses are dropped, never stored (certificates required: src/identity/) */
  isAllowed?: (peerId: string) => boolean
  /** a peer never disconnected as a hoarder (the store's hub); WAN peers never are either */
  spareHoarder?: (peerId: string) => boolean | Promise<boolean>
  /** debug lines per peer: when it claimed, unchoked us, was first asked, and why not (peer-trace.ts) @default none */
  log?: Log | undefined
  now?: () => number
  random?: () => number
}

export interface LinkBytes { up: number, down: number }

export interface SwarmProgress {
  bundleId: string
  heldChunks: number
  totalChunks: number
  heldBytes: number
  totalBytes: number
  /** chunk payload bytes by link */
  bytes: Record<Link, LinkBytes>
  /** received but not used: endgame duplicates, late answers, bad chunks */
  wastedBytes: number
  badChunks: number
  peers: number
  complete: boolean
  superseed: boolean
}

export interface ChunkEvent { index: number, hash: string, size: number, peerId?: string, link?: Link }
export interface BadChunkEvent { index: number, hash: string, peerId: string, banned: boolean }
/** A wire closed for a protocol violation (violations.ts); `banned`: this one banned the peer. */
export interface ViolationSwarmEvent { peerId: string, violation: ViolationCode, message: string, banned: boolean }

export interface BundleSwarmEvents {
  progress: [progress: SwarmProgress]
  chunk: [event: ChunkEvent]
  'bad-chunk': [event: BadChunkEvent]
  violation: [event: ViolationSwarmEvent]
  /** a wire to this peer completed its handshake */
  'peer:add': [peerId: string]
  /** that wire closed (not when another wire to the same peer replaced it) */
  'peer:remove': [peerId: string, err?: StoremeshError]
  done: []
  /** a store or serving failure that did not stop the swarm */
  warning: [err: StoremeshError]
}
