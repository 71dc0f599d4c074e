/**
 * Roots of trust travel with manifests (protocols/root/SPEC.md "Travel"): a node asks a
 * peer for the roots newer than the one it holds (`/storemesh/manifest/1.1.0`
 * `{rootsAfter}`), walks them, and stores what verified. A device asks its store hub
 * every manifest round, a hub its super hub every WAN round, so a store rotates the
 * moment its hub holds the new root, and a device that was off walks every version it
 * missed (several answers when it is more than MAX_ROOTS_PER_ANSWER behind).
 */
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { decodeRootChain, MAX_ROOT_CHAIN, type AcceptResult, type RootTrust } from '../identity/root/index.js'
import type { ManifestClient } from '../net/manifest/index.js'

export interface CatchUpOptions {
  signal?: AbortSignal
  timeoutMs?: number
}

/** Walks `root` forward with what `peer` holds; `{from, to}` equal when it had nothing newer. Throws E_ROOT_* for a bad chain. */
export async function catchUpRoots (manifest: Pick<ManifestClient, 'fetchRoots'>, root: RootTrust, peer: PeerId | Multiaddr | Multiaddr[],
  options: CatchUpOptions = {}): Promise<AcceptResult> {
  const from = root.version
  // bounded: each answer moves at least one version, and a chain is at most MAX_ROOT_CHAIN long
  for (let round = 0; round < MAX_ROOT_CHAIN; round++) {
    const bytes = await manifest.fetchRoots(peer, root.version, options)
    if (bytes === undefined) break
    const r = await root.accept(decodeRootChain(bytes))
    if (r.to === r.from) break
  }
  return { from, to: root.version }
}
