/**
 * The connection gater: an optional allowlist of peer ids. Peer ids are known only
 * after Noise (the notes), so the list is enforced in the encrypted-connection hooks
 * for both directions, plus `denyDialPeer` so we never dial a stranger at all.
 *
 * The set is read on every check: a role may add or remove peers at run time by
 * mutating the Set it passed in. Removing a peer does not close its open connections.
 */
import type { ConnectionGater, PeerId } from '@libp2p/interface'

export function allowlistGater (allow: ReadonlySet<string> | undefined): ConnectionGater {
  if (allow === undefined) return {}
  const denied = (peer: PeerId): boolean => !allow.has(peer.toString())
  return {
    denyDialPeer: denied,
    denyInboundEncryptedConnection: denied,
    denyOutboundEncryptedConnection: denied
  }
}
