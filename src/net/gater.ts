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

// the hooks differ in arguments; each is forwarded as libp2p called it
type Deny = (...args: any[]) => boolean | Promise<boolean> // eslint-disable-line @typescript-eslint/no-explicit-any
const MERGED_HOOKS = ['denyDialPeer', 'denyInboundEncryptedConnection', 'denyOutboundEncryptedConnection', 'denyInboundConnection'] as const

/**
 * Merges the hooks of several gaters (the allowlist, a role's ban list, its address
 * bans): a connection is refused when any of them refuses it. The three peer-id hooks
 * (the notes) and `denyInboundConnection`, the one hook before Noise, which sees only
 * the remote address (net/address-bans.ts); each is called with every argument libp2p
 * passes (the connection too, after Noise).
 */
export function mergePeerGaters (...gaters: ConnectionGater[]): ConnectionGater {
  const out: ConnectionGater = {}
  for (const hook of MERGED_HOOKS) {
    const fns = gaters.map(g => g[hook] as Deny | undefined).filter((f): f is Deny => f !== undefined)
    if (fns.length === 0) continue
    const merged: Deny = async (...args: unknown[]) => {
      for (const f of fns) if (await f(...args)) return true
      return false
    }
    ;(out as Record<string, Deny>)[hook] = merged
  }
  return out
}
