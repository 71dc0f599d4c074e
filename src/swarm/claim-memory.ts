/**
 * What the hoarder rule (picker-trust.ts) found about a peer, kept across its wires
 * (issue #20). A wire that closes and comes back (a second connection's wire replaces
 * the first, a stream reset re-opened) used to start the peer afresh: its new bitfield
 * was judged whole, though most of it was chunks it downloaded since its first wire,
 * which are no claim of a hoarder's (they would have come by `have`). So a partial
 * bitfield got twice the time (16 s), to spare such honest devices, and a hoarder
 * claiming all but one chunk got the same.
 *
 * Now a peer's judged claims are what its first bitfield in this swarm claimed, on
 * every later wire too (the new bitfield's chunks among them); a peer that delivered on
 * an earlier wire is trusted on the next, and the time it already held us carries on,
 * so a hoarder cannot restart its clock by re-opening its wire. A peer that was
 * dropped as a hoarder starts its clock afresh: the watch distrusts it on return, and a
 * second drop bans it (hoarders.ts).
 */
import { Bits } from './bits.js'
import type { PeerEntry } from './picker-types.js'

/** Peers remembered per swarm: far more than a store's peers; the oldest are forgotten. */
export const MAX_REMEMBERED_PEERS = 1024

interface Kept {
  served: boolean
  /** the claims judged on its first wire that carried a bitfield, or undefined if none did */
  judged: Bits | undefined
  waitedMs: number
}

export class ClaimMemory {
  readonly #kept = new Map<string, Kept>()

  /** The peer's wire is gone: keep what its judging found. */
  keep (id: string, p: PeerEntry, nowMs: number): void {
    const waitedMs = p.hoarder ? 0 : p.waitedMs + (p.waitingSinceMs !== undefined ? nowMs - p.waitingSinceMs : 0)
    this.#kept.delete(id)
    this.#kept.set(id, { served: p.served > 0, judged: p.firstClaims ?? p.priorClaims, waitedMs })
    if (this.#kept.size > MAX_REMEMBERED_PEERS) this.#kept.delete(this.#kept.keys().next().value as string)
  }

  /** A new wire's fresh entry for the peer: what its earlier wires found. */
  restore (id: string, p: PeerEntry): void {
    const k = this.#kept.get(id)
    if (k === undefined) return
    if (k.served) p.served = 1
    p.priorClaims = k.judged
    p.waitedMs = k.waitedMs
  }
}

/**
 * The claims a bitfield's hoarder clock judges: all of it on the peer's first wire,
 * else only what its first bitfield claimed too. Returns them and how many we lack.
 */
export function firstClaimsOf (bits: Bits, prior: Bits | undefined, have: Bits, n: number): { claims: Bits, wanted: number } {
  const claims = Bits.from(bits.bytes, n)
  let wanted = 0
  for (const i of bits.indices()) {
    if (prior !== undefined && !prior.get(i)) claims.clear(i)
    else if (!have.get(i)) wanted++
  }
  return { claims, wanted }
}
