/**
 * Revocation lists over the report answers (report 1.2.0 `have.revocationVersion` /
 * `trust.revocations`, protocols/report/SPEC.md; protocols/identity/SPEC.md section 3):
 * each hop answers a poll with its list when it is newer than the asker's, and adopts a
 * newer list from its own upstream's answer (roles/trust-exchange.ts). A device's poll
 * is held by its hub and woken when the hub's list changes, so a node revoked at the super hub is refused by every
 * peer within one report interval: adopting the list refuses (E_CERT_REVOKED, counted in
 * `storemesh_peer_refusals_total{reason="revoked"}`) and disconnects the revoked
 * peers at once, and the gater denies them from then on (IdentityProtocol.adoptRevocations).
 *
 * Typed by shape so that ledger/ need not import identity/ nor the other way round.
 */
import type { PeerIdentities } from './peer-identities.js'
import type { RevocationList } from './revocation.js'

/** The revocation part of a report answer's trust news. */
export interface RevocationNews { revocations?: RevocationList }

/**
 * The answering side (the revocation part of roles/trust-exchange.ts): the list for an asker that says it holds an older version.
 * An asker that names no version keeps no list and gets none.
 */
export function revocationNews (identities: Pick<PeerIdentities, 'revocationList' | 'revocationVersion'>): { newsFor: (have: { revocationVersion?: number } | undefined) => RevocationNews | undefined } {
  return {
    newsFor: have => {
      const list = identities.revocationList
      if (list === undefined || have?.revocationVersion === undefined || identities.revocationVersion <= have.revocationVersion) return undefined
      return { revocations: list }
    }
  }
}
