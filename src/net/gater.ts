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

type DenyPeer = (peer: PeerId) => boolean | Promise<boolean>
const PEER_HOOKS = ['denyDialPeer', 'denyInboundEncryptedConnection', 'denyOutboundEncryptedConnection'] as const

/**
 * Merges the peer-id hooks of several gaters (the allowlist, a role's ban list): a
 * peer is refused when any of them refuses it. Only these three hooks are merged;
 * they are the ones that see a peer id (the notes).
 */
export function mergePeerGaters (...gaters: ConnectionGater[]): ConnectionGater {
  const out: ConnectionGater = {}
  for (const hook of PEER_HOOKS) {
    const fns = gaters.map(g => g[hook] as DenyPeer | undefined).filter((f): f is DenyPeer => f !== undefined)
    if (fns.length === 0) continue
    out[hook] = async (peer: PeerId) => {
      for (const f of fns) if (await f(peer)) return true
      return false
    }
  }
  return out
}
