/**
 * How the picker judges peers that have not delivered yet (issue #20): pure functions
 * over a PeerEntry, so the rules are read in one place apart from the picking.
 *
 * - Suspects: a peer that never delivered a chunk is a suspect once one of its
 *   requests has waited `suspectAfterMs`, or `suspectAfterTimeouts` of its requests
 *   were answered by another peer after waiting `reaskAfterMs`. Its requests stop
 *   counting as "in flight" (anyone else may be asked for those chunks at once) and it
 *   keeps a single request, until it delivers a chunk and is trusted like any other.
 *   A slow honest peer (a hub capped at 256 KiB/s serving many devices) is still
 *   asked, one chunk at a time, and its first chunk ends the suspicion.
 * - Hoarders: a peer that never delivered while our requests waited at it for
 *   `hoarderAfterMs` in all (time with at least one request in flight there, so a
 *   request cancelled at once costs it nothing) is named once; the swarm disconnects
 *   and scores it (session.ts). Its clock starts at its claim: the first request is
 *   counted from when it both claimed a chunk we lack and unchoked us, if that was
 *   earlier. Time it keeps us choked does not count: honest peers choke too (upload
 *   slots), and a choking claimant holds none of our requests.
 */
import type { PeerEntry, PickerInit } from './picker-types.js'

/** Never delivered, and one of its requests waited suspectAfterMs (sticky until it delivers). */
export function isSuspect (p: PeerEntry, nowMs: number, init: PickerInit): boolean {
  if (p.served > 0) return false
  if (p.suspect) return true
  if (p.timeouts >= (init.suspectAfterTimeouts ?? 1)) {
    p.suspect = true
    return true
  }
  const staleBefore = nowMs - (init.suspectAfterMs ?? init.reaskAfterMs)
  for (const at of p.inflight.values()) {
    if (at <= staleBefore) {
      p.suspect = true
      return true
    }
  }
  return false
}

/** Peers whose requests waited hoarderAfterMs in all with nothing delivered, each returned once. */
export function takeHoarders (peers: ReadonlyMap<string, PeerEntry>, nowMs: number, hoarderAfterMs: number): string[] {
  const out: string[] = []
  for (const [id, p] of peers) {
    if (p.served > 0 || p.hoarder) continue
    if (p.waitedMs + (p.waitingSinceMs !== undefined ? nowMs - p.waitingSinceMs : 0) < hoarderAfterMs) continue
    p.hoarder = true
    out.push(id)
  }
  return out
}

/** How long until the next peer becomes a hoarder if nothing changes; undefined when no unproven peer holds a request. */
export function hoarderDueInMs (peers: ReadonlyMap<string, PeerEntry>, nowMs: number, hoarderAfterMs: number): number | undefined {
  let due: number | undefined
  for (const p of peers.values()) {
    if (p.served > 0 || p.hoarder || p.waitingSinceMs === undefined) continue
    const left = Math.max(0, hoarderAfterMs - p.waitedMs - (nowMs - p.waitingSinceMs))
    if (due === undefined || left < due) due = left
  }
  return due
}

/** A first request's wait counts from when the peer claimed a chunk we lack and unchoked us, if that was earlier. */
export function askableSince (p: PeerEntry, nowMs: number): number {
  if (p.claimedAtMs === undefined || p.unchokedAtMs === undefined) return nowMs
  return Math.min(nowMs, Math.max(p.claimedAtMs, p.unchokedAtMs))
}
