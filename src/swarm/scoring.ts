/**
 * Peer scoring and bans, shared by every bundle swarm of a node.
 *
 * Every protocol violation (violations.ts: over a budget, a wrong-length or
 * unsolicited piece, a malformed frame, a chunk failing BLAKE3...) adds its weight to
 * the peer's misbehaviour score; at `banScore` points the peer is banned: its wires
 * are closed, its connections dropped, and reconnects refused — the node's connection
 * gater asks `isBanned(peerId)` (see `banGater`). A score is forgotten after
 * `quietMs` without a violation.
 *
 * Bans escalate: each ban of the same identity lasts longer (DEFAULT_BAN_LADDER_MS:
 * 1 min, 10 min, 1 h, 24 h; one earned with bad chunks at least 1 h), and offences are remembered for `offenceMemoryMs` after
 * the last ban ends. Scores and bans attach to `keyOf(peerId)`: the peer id itself
 * today, the certified device id once identities are on, so a new peer id does not
 * start clean. The list can be saved and restored (ban-file.ts) so a restart does not
 * forgive anyone.
 */
import { EventEmitter } from 'node:events'
import type { ConnectionGater, PeerId } from '@libp2p/interface'
import {
  DEFAULT_BAD_CHUNK_BAN_MS, DEFAULT_BAD_CHUNK_THRESHOLD, DEFAULT_BAN_LADDER_MS, DEFAULT_MAX_BAN_RECORDS, DEFAULT_OFFENCE_MEMORY_MS,
  DEFAULT_VIOLATION_BAN_SCORE, DEFAULT_VIOLATION_QUIET_MS
} from './constants.js'
import { VIOLATION_WEIGHTS, type ViolationCode } from './violations.js'

export interface BanEntry {
  /** the identity banned (keyOf(peerId)) */
  key: string
  /** the peer id that earned the ban */
  peerId: string
  untilMs: number
  reason: string
  /** 1 for a first ban, 2 for the next... (picks the duration on the ladder) */
  offence: number
}

/** What is persisted per identity: its last ban, in force or not, and how many it had. */
export interface BanRecord extends BanEntry {
  /** when the last ban was issued */
  sinceMs: number
}

export interface BanListInit {
  /** one duration for every ban (tests, operators who want no escalation); overrides banLadderMs */
  banDurationMs?: number
  /** @default DEFAULT_BAN_LADDER_MS (1 min, 10 min, 1 h, 24 h) */
  banLadderMs?: readonly number[]
  /** @default DEFAULT_OFFENCE_MEMORY_MS (7 days) */
  offenceMemoryMs?: number
  /** @default DEFAULT_MAX_BAN_RECORDS */
  maxRecords?: number
  /** the identity a peer id is banned under @default the peer id itself */
  keyOf?: (peerId: string) => string
  now?: () => number
}

export interface BanListEvents {
  ban: [entry: BanEntry]
  /** the records changed (a ban, an unban, a restore): time to persist */
  change: []
}

export class BanList extends EventEmitter<BanListEvents> {
  readonly banLadderMs: readonly number[]
  /** banDurationMs was given: every ban lasts exactly that */
  readonly #fixed: boolean
  readonly offenceMemoryMs: number
  readonly maxRecords: number
  readonly keyOf: (peerId: string) => string
  readonly #now: () => number
  readonly #records = new Map<string, BanRecord>()

  constructor (init: BanListInit = {}) {
    super()
    this.banLadderMs = init.banDurationMs !== undefined ? [init.banDurationMs] : (init.banLadderMs ?? DEFAULT_BAN_LADDER_MS)
    this.#fixed = init.banDurationMs !== undefined
    this.offenceMemoryMs = init.offenceMemoryMs ?? DEFAULT_OFFENCE_MEMORY_MS
    this.maxRecords = init.maxRecords ?? DEFAULT_MAX_BAN_RECORDS
    this.keyOf = init.keyOf ?? (peerId => peerId)
    this.#now = init.now ?? Date.now
  }

  /** The duration of a ban for the n-th offence (1-based). */
  durationFor (offence: number): number {
    const ladder = this.banLadderMs
    return ladder[Math.min(Math.max(offence, 1), ladder.length) - 1] ?? 0
  }

  /**
   * Bans a peer's identity for the next rung of its ladder (or `durationMs`), at least
   * `minDurationMs` (unless the list has one fixed duration).
   */
  ban (peerId: string, reason: string, durationMs?: number, options: { minDurationMs?: number } = {}): BanEntry {
    const now = this.#now()
    const key = this.keyOf(peerId)
    const prev = this.#records.get(key)
    const remembered = prev !== undefined && now - prev.untilMs < this.offenceMemoryMs
    const offence = remembered ? prev.offence + 1 : 1
    const floor = this.#fixed ? 0 : (options.minDurationMs ?? 0)
    const record: BanRecord = { key, peerId, untilMs: now + Math.max(durationMs ?? this.durationFor(offence), floor), reason, offence, sinceMs: now }
    this.#records.delete(key)
    this.#records.set(key, record)
    this.#prune(now)
    const { sinceMs: _since, ...entry } = record
    this.emit('ban', entry)
    this.emit('change')
    return entry
  }

  /** Lifts a ban in force (the offence count stays). */
  unban (peerId: string): void {
    const r = this.#records.get(this.keyOf(peerId))
    if (r === undefined || r.untilMs <= this.#now()) return
    r.untilMs = this.#now()
    this.emit('change')
  }

  /** Bound so that it can be handed around: `gater.denyDialPeer = id => bans.isBanned(id.toString())`. */
  readonly isBanned = (peerId: string): boolean => {
    const r = this.#records.get(this.keyOf(peerId))
    return r !== undefined && r.untilMs > this.#now()
  }

  /** Offences of this peer's identity still remembered. */
  offences (peerId: string): number {
    const r = this.#records.get(this.keyOf(peerId))
    return r !== undefined && this.#now() - r.untilMs < this.offenceMemoryMs ? r.offence : 0
  }

  /** Bans in force now. */
  list (): BanEntry[] {
    const now = this.#now()
    return [...this.#records.values()].filter(r => r.untilMs > now).map(({ sinceMs: _since, ...e }) => e)
  }

  /** Every record still worth keeping (in force, or offences remembered): what ban-file.ts saves. */
  records (): BanRecord[] {
    const now = this.#now()
    return [...this.#records.values()].filter(r => now - r.untilMs < this.offenceMemoryMs).map(r => ({ ...r }))
  }

  /** Loads saved records (ban-file.ts); a record already held with a later ban wins. */
  restore (records: Iterable<BanRecord>): void {
    for (const r of records) {
      const held = this.#records.get(r.key)
      if (held !== undefined && held.sinceMs >= r.sinceMs) continue
      this.#records.set(r.key, { ...r })
    }
    this.#prune(this.#now())
    this.emit('change')
  }

  /** Drops forgotten records, then the oldest ones past maxRecords (those not in force first). */
  #prune (now: number): void {
    for (const [k, r] of this.#records) if (now - r.untilMs >= this.offenceMemoryMs) this.#records.delete(k)
    if (this.#records.size <= this.maxRecords) return
    const order = [...this.#records.values()].sort((a, b) => (Number(a.untilMs > now) - Number(b.untilMs > now)) || a.sinceMs - b.sinceMs)
    for (const r of order.slice(0, this.#records.size - this.maxRecords)) this.#records.delete(r.key)
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
  /** bad chunks that ban on their own; sets the weight of 'bad-chunk' @default DEFAULT_BAD_CHUNK_THRESHOLD (2) */
  badChunkThreshold?: number | undefined
  /** a ban earned by bad chunks lasts at least this @default DEFAULT_BAD_CHUNK_BAN_MS (1 hour) */
  badChunkBanMs?: number
  /** @default DEFAULT_VIOLATION_BAN_SCORE (10) */
  banScore?: number
  /** @default DEFAULT_VIOLATION_QUIET_MS (10 min) */
  quietMs?: number
  now?: () => number
}

export interface BadChunkVerdict {
  badChunks: number
  banned: boolean
}

export interface ViolationVerdict {
  /** the score after this violation (0 again once it banned) */
  score: number
  /** this violation banned the peer */
  banned: boolean
}

export interface ViolationEvent extends ViolationVerdict {
  peerId: string
  violation: ViolationCode
  detail: string
}

export interface PeerScorerEvents {
  violation: [event: ViolationEvent]
}

interface Score { points: number, lastMs: number, badChunks: number }

export class PeerScorer extends EventEmitter<PeerScorerEvents> {
  readonly bans: BanList
  readonly badChunkThreshold: number
  readonly banScore: number
  readonly badChunkBanMs: number
  readonly quietMs: number
  readonly #now: () => number
  readonly #scores = new Map<string, Score>()
  /** violations recorded since start, by code: the metrics' source */
  readonly violationCounts = new Map<ViolationCode, number>()

  constructor (init: PeerScorerInit) {
    super()
    this.bans = init.bans
    this.badChunkThreshold = init.badChunkThreshold ?? DEFAULT_BAD_CHUNK_THRESHOLD
    this.banScore = init.banScore ?? DEFAULT_VIOLATION_BAN_SCORE
    this.badChunkBanMs = init.badChunkBanMs ?? DEFAULT_BAD_CHUNK_BAN_MS
    this.quietMs = init.quietMs ?? DEFAULT_VIOLATION_QUIET_MS
    this.#now = init.now ?? Date.now
  }

  /** Scores a peer down for a violation; bans it when its score reaches banScore. */
  recordViolation (peerId: string, violation: ViolationCode, detail: string): ViolationVerdict {
    const s = this.#score(peerId)
    const weight = violation === 'bad-chunk' ? Math.ceil(this.banScore / this.badChunkThreshold) : VIOLATION_WEIGHTS[violation]
    if (violation === 'bad-chunk') s.badChunks++
    s.points += weight
    this.violationCounts.set(violation, (this.violationCounts.get(violation) ?? 0) + 1)
    let banned = false
    // a peer already banned (another wire's violation racing) is not banned twice
    if (s.points >= this.banScore && !this.bans.isBanned(peerId)) {
      const byBadChunks = violation === 'bad-chunk' && s.badChunks >= this.badChunkThreshold
      const reason = byBadChunks
        ? `${s.badChunks} chunks failed BLAKE3 verification (last: ${detail})`
        : `misbehaviour score ${s.points} (last: ${violation}: ${detail})`
      this.#scores.delete(this.bans.keyOf(peerId))
      // a peer serving chunks that fail BLAKE3 is lying outright: never less than before the ladder (1 h)
      this.bans.ban(peerId, reason, undefined, s.badChunks > 0 ? { minDurationMs: this.badChunkBanMs } : {})
      banned = true
    }
    const verdict = { score: banned ? 0 : s.points, banned }
    this.emit('violation', { peerId, violation, detail, ...verdict })
    return verdict
  }

  /** Scores a peer down for a chunk that failed verification; bans it at the threshold. */
  recordBadChunk (peerId: string, detail: string): BadChunkVerdict {
    const badChunks = this.#score(peerId).badChunks + 1
    const { banned } = this.recordViolation(peerId, 'bad-chunk', detail)
    return { badChunks, banned }
  }

  badChunks (peerId: string): number {
    return this.#scores.get(this.bans.keyOf(peerId))?.badChunks ?? 0
  }

  /** The peer's misbehaviour points now (0 after a quiet period). */
  score (peerId: string): number {
    const s = this.#scores.get(this.bans.keyOf(peerId))
    return s === undefined || this.#now() - s.lastMs >= this.quietMs ? 0 : s.points
  }

  #score (peerId: string): Score {
    const key = this.bans.keyOf(peerId)
    const now = this.#now()
    let s = this.#scores.get(key)
    if (s === undefined || now - s.lastMs >= this.quietMs) {
      s = { points: 0, lastMs: now, badChunks: 0 }
      this.#scores.set(key, s)
    }
    s.lastMs = now
    // scores of peers long quiet are dropped as new ones come (bounded by the peers that violated recently)
    if (this.#scores.size > this.bans.maxRecords) {
      for (const [k, v] of this.#scores) if (now - v.lastMs >= this.quietMs) this.#scores.delete(k)
    }
    return s
  }
}
