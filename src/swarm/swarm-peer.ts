/**
 * One peer of a bundle's swarm: its wire and its uploader, built from the connection
 * the ChunkProtocol (or a test) hands in, and the rule for two wires to one peer.
 */
import type { BundleInfo, Link } from '../interface/types.js'
import type { SwarmOptions } from './constants.js'
import { wirePeerId } from './handshake.js'
import type { PeerConnection } from './swarm-types.js'
import { StoremeshError } from '../interface/errors.js'
import { MAX_SENDS_PER_CHUNK, Uploader, type AcquireBytes, type UploaderInit } from './uploader.js'
import { PeerWire } from './wire.js'

export interface SwarmPeer {
  id: string
  link: Link
  initiator: boolean
  wire: PeerWire
  uploader: Uploader
  disconnect?: () => void
  /** piece bytes in the current choke interval, for the choker's ranking */
  recentDown: number
  recentUp: number
  /** chunks we uploaded to it over this wire: none makes it a newcomer to our choker (choker.ts) */
  sentChunks: number
}

/**
 * Of two wires to the same peer, the one opened by the smaller peer id wins on both
 * sides, so both keep the same one; a reconnect by the same side replaces the old one.
 */
export function newWireWins (localPeerId: string, remotePeerId: string, newInitiator: boolean, existingInitiator: boolean): boolean {
  const opener = (initiator: boolean): string => initiator ? localPeerId : remotePeerId
  const winner = localPeerId < remotePeerId ? localPeerId : remotePeerId
  return opener(newInitiator) === opener(existingInitiator) || opener(newInitiator) === winner
}

export interface SwarmPeerDeps {
  bundle: BundleInfo
  localPeerId: string
  options: SwarmOptions
  now: () => number
  /** the node's own upload cap, after the connection's */
  uploadLimiter: AcquireBytes | undefined
  read: UploaderInit['read']
  holders: NonNullable<UploaderInit['holders']>
  signal: AbortSignal
  onSent: (peer: SwarmPeer, index: number, bytes: number) => void
  onError: UploaderInit['onError']
}

export function createSwarmPeer (conn: PeerConnection, deps: SwarmPeerDeps): SwarmPeer {
  const id = conn.remotePeerId
  const wire = new PeerWire({
    duplex: conn.duplex,
    bundle: deps.bundle,
    localWireId: wirePeerId(deps.localPeerId),
    remoteWireId: wirePeerId(id),
    initiator: conn.initiator,
    prefix: conn.prefix,
    options: deps.options,
    now: deps.now
  })
  const peer: SwarmPeer = {
    id,
    link: conn.link,
    initiator: conn.initiator,
    wire,
    disconnect: conn.disconnect,
    recentDown: 0,
    recentUp: 0,
    sentChunks: 0,
    uploader: new Uploader({
      wire,
      read: deps.read,
      limiters: [conn.uploadLimiter, deps.uploadLimiter].filter((l): l is AcquireBytes => l !== undefined),
      holders: deps.holders,
      signal: deps.signal,
      onSent: (index, bytes) => { deps.onSent(peer, index, bytes) },
      onError: deps.onError,
      // the wire's close names the violation: the swarm scores the peer and bans it (peer-events.ts).
      // LAN only: over a WAN link slower than a chunk per request timeout (60 s) an honest
      // store hub may time out twice on one chunk and ask a third time
      ...(conn.link === 'lan'
        ? {
            onRepeat: (index: number) => {
              wire.close(new StoremeshError('E_PEER_OVER_BUDGET', `chunk ${index} asked again after ${MAX_SENDS_PER_CHUNK} copies over this wire`,
                { bundle: deps.bundle.id, index, violation: 'repeat-request' }))
            }
          }
        : {})
    })
  }
  return peer
}
