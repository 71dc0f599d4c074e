/**
 * Peer scoring and bans, keyed by libp2p peer id and shared by every bundle swarm of a
 * node. A chunk whose BLAKE3 does not match costs the sender one point; at
 * `badChunkThreshold` points the peer is banned for `banDurationMs`: its wires are
 * closed, its connections dropped, and reconnects refused — the node's connection
 * gater asks `isBanned(peerId)` (see `banGater`).
 */
import { EventEmitter } from 'node:events'
import type { ConnectionGater, PeerId } from '@libp2p/interface'
import { DEFAULT_BAD_CHUNK_THRESHOLD, DEFAULT_BAN_DURATION_MS } from './constants.js'

export interface BanEntry {
  peerId: string
  untilMs: number
  reason: string
}

export interface BanListInit {
  /** @default DEFAULT_BAN_DURATION_MS (1 hour) */
  banDurationMs?: number
  now?: () => number
}

export interface BanListEvents {
  ban: [entry: BanEntry]
}

export class BanList extends EventEmitter<BanListEvents> {
  readonly banDurationMs: number
  readonly #now: () => number
  readonly #bans = new Map<string, BanEntry>()

  constructor (init: BanListInit = {}) {
    super()
    this.banDurationMs = init.banDurationMs ?? DEFAULT_BAN_DURATION_MS
    this.#now = init.now ?? Date.now
  }

  ban (peerId: string, reason: string, durationMs = this.banDurationMs): BanEntry {
    const entry = { peerId, untilMs: this.#now() + durationMs, reason }
    this.#bans.set(peerId, entry)
    this.emit('ban', entry)
    return entry
  }

  unban (peerId: string): void {
    this.#bans.delete(peerId)
  }

  /** Bound so that it can be handed around: `gater.denyDialPeer = id => bans.isBanned(id.toString())`. */
  readonly isBanned = (peerId: string): boolean => {
    const e = this.#bans.get(peerId)
    if (e === undefined) return false
    if (e.untilMs > this.#now()) return true
    this.#bans.delete(peerId)
    return false
  }

  /** Bans in force now. */
  list (): BanEntry[] {
    return [...this.#bans.values()].filter(e => this.isBanned(e.peerId))
  }
}

/** Connection-gater hooks that refuse banned peers; merge them into the node's gater. */
export function banGater (bans: Pick<BanList, 'isBanned'>): Required<Pick<ConnectionGater,
'denyDialPeer' | 'denyInboundEncryptedConnection' | 'denyOutboundEncryptedConnection'>> {
  const denied = (peer: PeerId): boolean => bans.isBanned(peer.toString())
  return { denyDialPeer: denied, denyInboundEncryptedConnection: denied, denyOutboundEncryptedConnection: denied }
}

export interface PeerScorerInit {
  bans: BanList
  /** @default DEFAULT_BAD_CHUNK_THRESHOLD (2) */
  badChunkThreshold?: number
}

export interface BadChunkVerdict {
  badChunks: number
  banned: boolean
}

export class PeerScorer {
  readonly bans: BanList
  readonly badChunkThreshold: number
  readonly #bad = new Map<string, number>()

  constructor (init: PeerScorerInit) {
    this.bans = init.bans
    this.badChunkThreshold = init.badChunkThreshold ?? DEFAULT_BAD_CHUNK_THRESHOLD
  }

  /** Scores a peer down for a chunk that failed verification; bans it at the threshold. */
  recordBadChunk (peerId: string, detail: string): BadChunkVerdict {
    const badChunks = (this.#bad.get(peerId) ?? 0) + 1
    this.#bad.set(peerId, badChunks)
    if (badChunks < this.badChunkThreshold) return { badChunks, banned: false }
    this.#bad.delete(peerId)
    this.bans.ban(peerId, `${badChunks} chunks failed BLAKE3 verification (last: ${detail})`)
    return { badChunks, banned: true }
  }

  badChunks (peerId: string): number {
    return this.#bad.get(peerId) ?? 0
  }
}
