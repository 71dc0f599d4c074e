/**
 * The picker's settings and its per-peer record: the shapes picker.ts works on,
 * apart so the policy (which chunk of whom) reads without them.
 */
import type { Bits } from './bits.js'

export interface PickerInit {
  pieceSizes: readonly number[]
  pipelineBytes: number
  pipelineMinRequests: number
  pipelineMaxRequests: number
  endgameMaxPeersPerPiece: number
  /** a chunk in flight this long may be asked of an idle holder too */
  reaskAfterMs: number
  /** requests in flight at a peer that has not delivered a chunk yet @default no limit */
  unprovenPipelineRequests?: number
  /** a peer that never delivered and let a request wait this long is a suspect @default reaskAfterMs */
  suspectAfterMs?: number
  /** ...or that many of its requests were beaten by another peer after waiting reaskAfterMs @default 1 */
  suspectAfterTimeouts?: number
  /** requests a peer that never delivered gets even for chunks in flight at a trusted peer (picker.ts) @default 0 */
  probeRequests?: number
  /** a peer that never delivered while our requests waited at it this long in all is a hoarder @default never */
  hoarderAfterMs?: number
  now?: () => number
  random?: () => number
}

/** What the picker knows of one peer (its own record; the swarm never sees it). */
export interface PeerEntry {
  bits: Bits
  /** chunk -> when it was asked of this peer (ms) */
  inflight: Map<number, number>
  /** chunk -> bytes the reader had outstanding across all peers when it was asked here (reask-clock.ts) */
  inflightAhead: Map<number, number>
  inflightBytes: number
  /** chunks this peer sent bad copies of */
  excluded: Set<number>
  /** chunks it holds that we lack */
  wanted: number
  /** good chunks it delivered */
  served: number
  /** its requests that another peer answered first after they waited reaskAfterMs */
  timeouts: number
  /** it let a request wait suspectAfterMs before it ever delivered a chunk */
  suspect: boolean
  /** time it held us (picker-trust.ts holdsUs) before its first delivery (ms), not counting the current hold */
  waitedMs: number
  /** since when it holds us while it never delivered (ms), or undefined */
  waitingSinceMs: number | undefined
  /** takeHoarders() returned it */
  hoarder: boolean
  /** prompt probes sent to it (copies of chunks in flight at trusted peers) */
  probes: number
  /** it was asked for a chunk at least once */
  asked: boolean
  /** when it first announced a chunk we lack (ms) */
  claimedAtMs: number | undefined
  /** since when it unchokes us (ms), or undefined while it chokes us */
  unchokedAtMs: number | undefined
  /** what its bitfield claimed (the chunks it says it held when its wire came up): what its hoarder clock judges */
  firstClaims: Bits | undefined
  /** what its first bitfield in this swarm claimed, from an earlier wire (claim-memory.ts): firstClaims is within it */
  priorClaims?: Bits | undefined
  /** it announced a chunk by have after its bitfield and still lacks some: it is downloading (picker-trust.ts) */
  downloading?: boolean
  /** of those, chunks we lack */
  firstWanted: number
  /** our requests in flight there for those */
  firstInflight: number
}
