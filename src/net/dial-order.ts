/**
 * One connection per pair of peers that found each other over mDNS (issue #19).
 *
 * Both ends of a pair hear each other's answers at about the same time and both dialled,
 * so every hub-device pair held two connections: twice the identify and identity
 * exchanges, yamux keep-alives, connection-monitor pings and peer-store merges, for
 * ever. Now the peer whose id sorts lower dials at once; the other waits
 * DIAL_DEFER_MS and dials only if no connection came (it may be the only one of the two
 * that knows the other: a restarted hub hears answers to its query while the devices'
 * queries are minutes apart). Dials that still cross (a slow handshake outlasting the
 * wait) are settled on both ends by the same rule: the connection the lower id dialled
 * stays, the other is closed. Only two connections opened within DUPLICATE_WINDOW_MS of
 * each other count as a crossing: an older one may be a dead link whose peer restarted
 * and dialled anew (connection-cap.ts then lets the newest win), and closing the new one
 * would cut that peer off until the connection monitor found the old one dead.
 */
import type { Connection, Libp2p, PeerId } from '@libp2p/interface'

/** How long the higher id waits for the lower id's dial before it dials itself. @default 2 s */
export const DIAL_DEFER_MS = 2_000
/** Two connections of one pair opened this close together crossed. @default 30 s */
export const DUPLICATE_WINDOW_MS = 30_000

/** The peer that dials first: the lower id, as both ends sort them the same way. */
export function dialsFirst (local: PeerId, remote: PeerId): boolean {
  return local.toString() < remote.toString()
}

/** The id of the end that dialled `c`, seen from `local`. */
function dialerOf (local: PeerId, c: Connection): string {
  return c.direction === 'outbound' ? local.toString() : c.remotePeer.toString()
}

/**
 * Of the open connections to one peer, those to close as crossed duplicates: every one
 * the higher id dialled while one the lower id dialled opened within `windowMs` of it.
 */
export function crossedDuplicates (local: PeerId, conns: readonly Connection[], windowMs = DUPLICATE_WINDOW_MS): Connection[] {
  if (conns.length < 2) return []
  const lower = [local.toString(), conns[0]!.remotePeer.toString()].sort()[0]
  const kept = conns.filter(c => dialerOf(local, c) === lower)
  return conns.filter(c => dialerOf(local, c) !== lower &&
    kept.some(k => Math.abs(k.timeline.open - c.timeline.open) <= windowMs))
}

export interface DuplicateStats {
  /** crossed connections closed */
  closed: number
}

/** Closes crossed duplicates on `node` from now on; returns the counter and a remover. */
export function closeCrossedDuplicates (node: Pick<Libp2p, 'peerId' | 'addEventListener' | 'removeEventListener' | 'getConnections'>, windowMs = DUPLICATE_WINDOW_MS): { stats: DuplicateStats, stop: () => void } {
  const stats: DuplicateStats = { closed: 0 }
  const onOpen = (evt: CustomEvent<Connection>): void => {
    const open = node.getConnections(evt.detail.remotePeer).filter(c => c.status === 'open')
    for (const c of crossedDuplicates(node.peerId, open, windowMs)) {
      stats.closed++
      void c.close().catch(() => { c.abort(new Error('crossed dial: the other connection of this pair stays')) })
    }
  }
  node.addEventListener('connection:open', onOpen)
  return { stats, stop: () => { node.removeEventListener('connection:open', onOpen) } }
}
