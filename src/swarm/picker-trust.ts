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
 * - Hoarders: a peer that never delivered while it held us for `hoarderAfterMs` in
 *   all is named once; the swarm disconnects and scores it (session.ts). Only what its
 *   bitfield claimed is judged (the chunks it said it held when its wire came up). It
 *   holds us (holdsUs) while a request of ours for one of those is in flight there, or
 *   while it keeps us choked though it claims one we lack. So its clock starts at its
 *   claim, however long it chokes first (issue #20: hoarders that choked 2-6 s before
 *   they took a request were out 10-14 s after their claim). An honest node never
 *   keeps an interested peer it has not served choked (choker.ts: newcomers are
 *   unchoked at once, beside the slots), so its choke costs a turn of its event loop.
 *   Chunks it announced later by `have` are not judged: an honest device that just got
 *   a chunk is asked for it by every neighbour at once and, at a 256 KiB/s cap, serves
 *   them one whole chunk a second (bench:lan, 16 MiB, N = 16: 146-204 honest devices
 *   dropped, most in the first 15 s, when each held one chunk from the hub). A
 *   bitfield on a later wire of the peer's is judged only where its first bitfield
 *   claimed too, and its clock carries on (claim-memory.ts): a device that re-opens its
 *   wire mid-download brings chunks it downloaded since, which are no hoarder's claim.
 *   A partial claimant gets hoarderAfterMs like a whole one, and twice that
 *   (PARTIAL_CLAIM_HOARDER_FACTOR) once it shows it is downloading: a have after its
 *   bitfield that leaves it still lacking chunks. An honest device whose first wire to
 *   us comes up mid-download (a mesh that forms late) is asked at once by every new
 *   neighbour and at a 256 KiB/s cap serves them one chunk a second (bench:lan N = 16
 *   at load 70: 22 such devices dropped at 8 s); it gets chunks meanwhile and says so.
 *   A hoarder claiming all but one chunk cannot: its one have completes it. It is out
 *   at 8 s (it had 16 s); one withholding more can buy 16 s with a made-up have. A request
 *   cancelled at once costs a peer nothing, and a first request is counted from when
 *   the peer both claimed a chunk we lack and unchoked us, if that was earlier.
 */
import { PARTIAL_CLAIM_HOARDER_FACTOR } from './constants.js'
import type { PeerEntry, PickerInit } from './picker-types.js'

/** How long a peer may hold us: twice as long once it shows it is downloading (see the header). */
function hoarderAfterFor (p: PeerEntry, hoarderAfterMs: number): number {
  return p.downloading === true ? PARTIAL_CLAIM_HOARDER_FACTOR * hoarderAfterMs : hoarderAfterMs
}

/**
 * Never delivered, and one of its requests waited suspectAfterMs beyond `queueMs`, the
 * wait the reader's own download queue explains (reask-clock.ts), sticky until it delivers.
 */
export function isSuspect (p: PeerEntry, nowMs: number, init: PickerInit, queueMs: (p: PeerEntry, index: number) => number = () => 0): boolean {
  if (p.served > 0) return false
  if (p.suspect) return true
  if (p.timeouts >= (init.suspectAfterTimeouts ?? 1)) {
    p.suspect = true
    return true
  }
  const staleBefore = nowMs - (init.suspectAfterMs ?? init.reaskAfterMs)
  for (const [index, at] of p.inflight) {
    if (at <= staleBefore && at + queueMs(p, index) <= staleBefore) {
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
    if (p.waitedMs + (p.waitingSinceMs !== undefined ? nowMs - p.waitingSinceMs : 0) < hoarderAfterFor(p, hoarderAfterMs)) continue
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
    const left = Math.max(0, hoarderAfterFor(p, hoarderAfterMs) - p.waitedMs - (nowMs - p.waitingSinceMs))
    if (due === undefined || left < due) due = left
  }
  return due
}

/** It keeps us waiting on its bitfield's claims: a request for one is in flight there, or it claims one we lack and chokes us. */
export function holdsUs (p: PeerEntry): boolean {
  return p.firstInflight > 0 || (p.firstWanted > 0 && p.unchokedAtMs === undefined)
}

/** Starts or stops an unproven peer's hoarder clock as it now holds us or not. */
export function reclock (p: PeerEntry, nowMs: number): void {
  const holding = holdsUs(p)
  if (holding && p.waitingSinceMs === undefined) p.waitingSinceMs = nowMs
  else if (!holding && p.waitingSinceMs !== undefined) {
    p.waitedMs += nowMs - p.waitingSinceMs
    p.waitingSinceMs = undefined
  }
}

/** A first request's wait counts from when the peer claimed a chunk we lack and unchoked us, if that was earlier. */
export function askableSince (p: PeerEntry, nowMs: number): number {
  if (p.claimedAtMs === undefined || p.unchokedAtMs === undefined) return nowMs
  return Math.min(nowMs, Math.max(p.claimedAtMs, p.unchokedAtMs))
}
