/**
 * A node's view of who its peers are (protocols/identity/SPEC.md sections 5 and 6):
 * the verified identity of each connected peer, the peers refused recently, and the
 * revocation list in force. Shared by the identity protocol (which fills it), the
 * connection gater (identityGater: refused and revoked peers never finish a
 * connection) and the chunk protocol (`isAllowed`: nothing is stored from a peer that
 * is not allowed). In memory only; the revocation list is persisted by its owner.
 */
import { EventEmitter } from 'node:events'
import type { ConnectionGater, PeerId } from '@libp2p/interface'
import { StoremeshError, toStoremeshError } from '../interface/errors.js'
import { DEFAULT_MAX_REFUSED_PEERS, DEFAULT_REFUSAL_MEMORY_MS, type NodeRole } from './constants.js'
import { EMPTY_REVOCATIONS, newerRevocationList, revocationSetOf, verifyRevocationList, type RevocationList, type RevocationSet } from './revocation.js'
import type { EnrolmentTrust } from './signed.js'
import { ACT_REFUSAL_REASONS, REFUSAL_REASONS, refusalReasonOf, verifyCertificate, type ActRefusalReason, type RefusalReason, type VerifiedIdentity } from './verify.js'

export interface PeerIdentitiesInit {
  /** the fleet's enrolment keys: the root's enrolment role (a live view follows rotations), or a key list */
  trust: EnrolmentTrust
  /** refuse peers without a valid certificate (SPEC.md section 6). @default false */
  requireCertificates?: boolean
  /** refuse certificates of another store (a hub and its devices set it) */
  storeId?: string
  /** roles accepted from peers. @default every role */
  roles?: readonly NodeRole[]
  /** the list in force at start (already verified, e.g. read from the data dir) */
  revocations?: RevocationList
  /** @default DEFAULT_REFUSAL_MEMORY_MS */
  refusalMemoryMs?: number
  /** @default DEFAULT_MAX_REFUSED_PEERS */
  maxRefusedPeers?: number
  now?: () => number
}

export interface RefusalEvent {
  peerId: string
  reason: RefusalReason
  error: StoremeshError
}

export interface PeerIdentitiesEvents {
  verified: [VerifiedIdentity]
  refused: [RefusalEvent]
  /** a newer revocation list is in force (persist it) */
  revocations: [RevocationList]
}

export class PeerIdentities extends EventEmitter<PeerIdentitiesEvents> {
  readonly requireCertificates: boolean
  readonly #init: PeerIdentitiesInit
  readonly #now: () => number
  readonly #verified = new Map<string, VerifiedIdentity>()
  /** peer id → refused until (ms); insertion order is age, for the bound */
  readonly #refused = new Map<string, number>()
  readonly #counts = new Map<RefusalReason, number>()
  #list: RevocationList | undefined
  #revoked: RevocationSet

  constructor (init: PeerIdentitiesInit) {
    super()
    this.#init = init
    this.requireCertificates = init.requireCertificates === true
    this.#now = init.now ?? Date.now
    this.#list = init.revocations
    this.#revoked = init.revocations !== undefined ? revocationSetOf(init.revocations) : EMPTY_REVOCATIONS
  }

  get revocationList (): RevocationList | undefined { return this.#list }
  get revocationVersion (): number { return this.#revoked.version }

  /** Verifies what `peerId` presented and records its identity; throws the refusal (not yet recorded). */
  verify (peerId: string, certificate: unknown): VerifiedIdentity {
    const who = verifyCertificate(certificate, {
      trust: this.#init.trust,
      peerId,
      revocations: this.#revoked,
      nowMs: this.#now(),
      ...(this.#init.storeId !== undefined ? { storeId: this.#init.storeId } : {}),
      ...(this.#init.roles !== undefined ? { roles: this.#init.roles } : {})
    })
    this.#verified.set(peerId, who)
    this.#refused.delete(peerId)
    this.emit('verified', who)
    return who
  }

  /** Records a refusal: counted by reason, remembered for the gater, announced. */
  refuse (peerId: string, err: unknown): RefusalEvent {
    const error = toStoremeshError(err)
    const reason = refusalReasonOf(error)
    this.#verified.delete(peerId)
    this.#counts.set(reason, (this.#counts.get(reason) ?? 0) + 1)
    this.#refused.delete(peerId)
    this.#refused.set(peerId, this.#now() + (this.#init.refusalMemoryMs ?? DEFAULT_REFUSAL_MEMORY_MS))
    const max = this.#init.maxRefusedPeers ?? DEFAULT_MAX_REFUSED_PEERS
    for (const oldest of this.#refused.keys()) {
      if (this.#refused.size <= max) break
      this.#refused.delete(oldest)
    }
    const event = { peerId, reason, error }
    this.emit('refused', event)
    return event
  }

  /** A lease or report naming an id the peer is not certified for was refused: counted (verify.ts ACT_REFUSAL_REASONS). */
  refuseAct (reason: ActRefusalReason): void {
    this.#counts.set(reason, (this.#counts.get(reason) ?? 0) + 1)
  }

  /** The peer is gone: its identity is asked again on its next connection. */
  forget (peerId: string): void {
    this.#verified.delete(peerId)
  }

  /** The verified identity of a connected peer, while its certificate is valid. */
  identityOf (peerId: string): VerifiedIdentity | undefined {
    const who = this.#verified.get(peerId)
    if (who !== undefined && who.expiresAtMs <= this.#now()) return undefined
    return who
  }

  /** May we accept data (pieces) from this peer? With certificates required: only once verified. */
  isAllowed (peerId: string): boolean {
    if (this.isDenied(peerId)) return false
    return !this.requireCertificates || this.identityOf(peerId) !== undefined
  }

  /**
   * The device id a peer may act for in leases and reports: its certificate's; `null`
   * (none) for an uncertified peer when certificates are required; `undefined` (any, as
   * before identities) for an uncertified peer otherwise.
   */
  boundDeviceId (peerId: string): string | null | undefined {
    const who = this.identityOf(peerId)
    if (who !== undefined) return who.deviceId
    return this.requireCertificates || this.isDenied(peerId) ? null : undefined
  }

  /**
   * The hub ids a peer may send a store's hub batches as (a super hub asks): for a peer
   * certified as a hub, its peer id, device id and store id; `null` (none) for any
   * other certified role, or for an uncertified peer when certificates are required;
   * `undefined` (any) for an uncertified peer otherwise.
   */
  boundHubIds (peerId: string): readonly string[] | null | undefined {
    const who = this.identityOf(peerId)
    if (who !== undefined) return who.role === 'hub' ? [who.peerId, who.deviceId, who.storeId] : null
    return this.requireCertificates || this.isDenied(peerId) ? null : undefined
  }

  /** Refused recently, or revoked by peer id: the gater denies its connections. */
  isDenied (peerId: string): boolean {
    if (this.#revoked.peerIds.has(peerId)) return true
    const until = this.#refused.get(peerId)
    if (until === undefined) return false
    if (until > this.#now()) return true
    this.#refused.delete(peerId)
    return false
  }

  /**
   * A list from a peer or from the hub: verified, and in force when newer. Returns the
   * connected peers it revokes (the caller refuses and disconnects them). An older or
   * bad list throws (E_REVOCATION_*) and changes nothing.
   */
  adoptRevocations (input: unknown): VerifiedIdentity[] {
    const list = verifyRevocationList(input, this.#init.trust)
    const next = newerRevocationList(this.#list, list)
    if (next === this.#list) return []
    this.#list = next
    this.#revoked = revocationSetOf(next)
    this.emit('revocations', next)
    return [...this.#verified.values()].filter(w => this.#revoked.serials.has(w.serial) || this.#revoked.peerIds.has(w.peerId))
  }

  /** Refusals so far by reason (`storemesh_peer_refusals_total{reason}`); every reason present. */
  refusalCounts (): Record<RefusalReason, number> {
    const out = {} as Record<RefusalReason, number>
    for (const reason of [...Object.values(REFUSAL_REASONS), ...ACT_REFUSAL_REASONS]) out[reason] = this.#counts.get(reason) ?? 0
    return out
  }

  /** Verified peers whose certificate has expired since (to refuse them). */
  expiredPeers (): VerifiedIdentity[] {
    const nowMs = this.#now()
    return [...this.#verified.values()].filter(w => w.expiresAtMs <= nowMs)
  }

  /** Verified peers connected now. */
  get verifiedCount (): number { return this.#verified.size }
}

/** The connection gater of SPEC.md section 5: refused and revoked peer ids never finish a connection. */
export function identityGater (identities: PeerIdentities): ConnectionGater {
  const denied = (peer: PeerId): boolean => identities.isDenied(peer.toString())
  return {
    denyDialPeer: denied,
    denyInboundEncryptedConnection: denied,
    denyOutboundEncryptedConnection: denied
  }
}

export function missingCertificateError (peerId: string, why: string): StoremeshError {
  return new StoremeshError('E_CERT_MISSING', `peer ${peerId} presented no certificate: ${why}`, { peer: peerId })
}
