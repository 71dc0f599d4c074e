/**
 * A cap on connections per remote peer, which libp2p's connection manager does not
 * have (it caps the total, pending inbound connections and new connections per host
 * per second). Every protocol caps its streams per connection (`maxInboundStreams`),
 * so a peer that opens many connections would multiply its allowance. Past the cap the
 * OLDEST connections are closed: a restarted peer's new connection must win over the
 * dead one its old process left behind.
 */
import type { Connection, Libp2p } from '@libp2p/interface'

export interface ConnectionCapStats {
  /** connections closed for being over the per-peer cap */
  closed: number
}

/** Enforces `maxPerPeer` on `node` from now on; returns the counters and a remover. */
export function capConnectionsPerPeer (node: Pick<Libp2p, 'addEventListener' | 'removeEventListener' | 'getConnections'>, maxPerPeer: number): { stats: ConnectionCapStats, stop: () => void } {
  const stats: ConnectionCapStats = { closed: 0 }
  const onOpen = (evt: CustomEvent<Connection>): void => {
    const conns = node.getConnections(evt.detail.remotePeer).filter(c => c.status === 'open')
    if (conns.length <= maxPerPeer) return
    const oldestFirst = [...conns].sort((a, b) => a.timeline.open - b.timeline.open)
    for (const c of oldestFirst.slice(0, conns.length - maxPerPeer)) {
      stats.closed++
      void c.close().catch(() => { c.abort(new Error('over the per-peer connection cap')) })
    }
  }
  node.addEventListener('connection:open', onOpen)
  return { stats, stop: () => { node.removeEventListener('connection:open', onOpen) } }
}
