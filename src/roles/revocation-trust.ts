/**
 * The uplink's `trust` for a LAN node with identities on: newer revocation lists in the
 * report answers are put in force by its identity protocol (src/identity/revocation-news.ts).
 */
import { revocationSink, type RevocationSink } from '../identity/revocation-news.js'
import type { LanPeer } from './peer.js'

export function trustOf (peer: Pick<LanPeer, 'node'>): { trust?: RevocationSink } {
  const identity = peer.node.services.identity
  if (identity === undefined) return {}
  return { trust: revocationSink(identity.identities, list => identity.adoptRevocations(list)) }
}
