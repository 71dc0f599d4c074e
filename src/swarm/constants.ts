/**
 * The chunk exchange `/storemesh/chunks/1.0.0` (DESIGN.md section 4): protocol id,
 * wire limits and swarm defaults, in one place. The CLI and roles read
 * `defaultSwarmOptions` so a flag and its default agree.
 */
import { STORE_ACTIVE_BUNDLES, STORE_DEVICES } from '../net/constants.js'
import { formatProtocolId } from '../net/protocol-id.js'

const KiB = 1024
const MiB = 1024 * KiB
const SECOND_MS = 1000

export const CHUNK_PROTOCOL_NAME = 'chunks'
export const CHUNK_PROTOCOL_VERSION = '1.0.0'
/** `/storemesh/chunks/1.0.0` */
export const CHUNK_PROTOCOL = formatProtocolId(CHUNK_PROTOCOL_NAME, CHUNK_PROTOCOL_VERSION)

// --- the BitTorrent peer wire (BEP 3) -------------------------------------------

export const PSTR = 'BitTorrent protocol'
/** <pstrlen=19><pstr><8 reserved><20 info-hash><20 peer id> */
export const HANDSHAKE_BYTES = 1 + PSTR.length + 8 + 20 + 20
export const INFO_HASH_BYTES = 20
export const WIRE_PEER_ID_BYTES = 20
/** <len:4><id=7><index:4><begin:4> before a piece's data. */
export const PIECE_HEADER_BYTES = 4 + 1 + 4 + 4

/**
 * Largest chunk on the wire: FastCDC's default maximum (DESIGN.md section 3). A piece
 * or request above it closes the wire; a bundle with larger chunks cannot be joined.
 * @default 1 MiB
 */
export const DEFAULT_MAX_CHUNK_BYTES = 1 * MiB
/** The BEP 10 extended handshake the library sends by itself is ~20 bytes. @default 16 KiB */
export const DEFAULT_MAX_EXTENDED_BYTES = 16 * KiB
/**
 * Requests a remote may queue at us before the wire is closed. Our own pipeline never
 * asks for more than DEFAULT_PIPELINE_MAX_REQUESTS, so an honest peer stays far below.
 * @default 256
 */
export const DEFAULT_MAX_QUEUED_PEER_REQUESTS = 256
/** The remote's handshake must arrive within this. @default 10 s */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10 * SECOND_MS
/** A peer that sends nothing for this long fails its oldest request. @default 60 s */
export const DEFAULT_REQUEST_TIMEOUT_MS = 60 * SECOND_MS
/** An idle wire sends a keep-alive this often (BEP 3 peers drop a wire silent for 2 minutes). @default 55 s */
export const KEEPALIVE_INTERVAL_MS = 55 * SECOND_MS
/**
 * Wire writes of one tick are coalesced into writes of at most this size (the notes:
 * one send() per wire write gives 36 MiB/s, batched 54–82 MiB/s).
 * @default 256 KiB
 */
export const DEFAULT_MAX_WRITE_BYTES = 256 * KiB

// --- piece picking ---------------------------------------------------------------

/**
 * Bytes requested and not yet received, per peer: about eight average chunks, what
 * one uncapped connection needs in flight to keep pace with a raw stream (bench:lan's
 * wire figure fell from 0.65-0.68x to 0.49-0.61x at 512 KiB). At a tight cap the
 * queue this builds at an uploader is worked off rarest first (upload-turns.ts), and
 * a chunk stuck in it is re-asked of an idle holder (DEFAULT_REASK_AFTER_MS).
 * @default 2 MiB
 */
export const DEFAULT_PIPELINE_BYTES = 2 * MiB
/** Always keep this many requests in flight per peer, whatever the chunk size. */
export const DEFAULT_PIPELINE_MIN_REQUESTS = 2
/** ... and never more than this (tiny chunks would otherwise mean thousands). */
export const DEFAULT_PIPELINE_MAX_REQUESTS = 64
/** In endgame a missing chunk is requested from at most this many peers at once. */
export const DEFAULT_ENDGAME_MAX_PEERS_PER_PIECE = 3
/**
 * A chunk asked of one peer and not here after this long may be asked of an idle
 * holder too (picker.ts); twice as often the swarm looks for such idle links.
 * About a chunk and a half at 256 KiB/s: on an uncapped LAN it never fires. Counted
 * beyond the drain time of the reader's own download queue ahead of the request
 * (reask-clock.ts), as DEFAULT_SUSPECT_AFTER_MS is. @default 1.5 s
 */
export const DEFAULT_REASK_AFTER_MS = 1500
/**
 * Requests in flight at a peer that has not delivered a chunk yet: a probe, so peers
 * that claim every chunk and never send one (issue #20's hoarders) hold one request
 * each, not a pipeline (picker.ts). @default 1
 */
export const DEFAULT_UNPROVEN_PIPELINE_REQUESTS = 1
/**
 * Prompt probes (picker.ts): a peer that has not delivered a chunk and has nothing in
 * flight gets up to this many requests in all for chunks already in flight at a trusted
 * peer, so a claimant is asked at its unchoke even when the hub is fetching everything
 * it claims (its hoarder clock runs from then). Each probe is a copy of at most one
 * chunk; the first copy to arrive cancels the other. Three: a probe cancelled because
 * the hub's copy arrived first (about a second at 256 KiB/s) leaves the next one to keep
 * the clock running within DEFAULT_HOARDER_AFTER_MS. @default 3
 */
export const DEFAULT_PROBE_REQUESTS = 3
/**
 * A peer that has not delivered a chunk and let its request wait this long is a
 * suspect: its requests stop holding their chunks (picker.ts). Longer than
 * DEFAULT_REASK_AFTER_MS: an honest device capped at 256 KiB/s sends a 256 KiB chunk
 * in about 1 s, but may queue it behind others; at 1.5 s bench:lan N=4 saw twice the
 * duplicate bytes. A hoarder holds each chunk this long once. @default 4 s
 */
export const DEFAULT_SUSPECT_AFTER_MS = 4 * SECOND_MS
/**
 * ...or once this many of its requests were answered by another peer after waiting
 * DEFAULT_REASK_AFTER_MS (a super-seeding hub re-asked on an idle link beats a
 * hoarder's request before it waits DEFAULT_SUSPECT_AFTER_MS). @default 2
 */
export const DEFAULT_SUSPECT_AFTER_TIMEOUTS = 2
/**
 * A LAN peer that never delivered a chunk while our requests waited at it this long in
 * all is a hoarder: disconnected and scored `hoarding` (violations.ts; a second time
 * within the score's memory bans it). Twice DEFAULT_SUSPECT_AFTER_MS: a suspect had
 * its chance, and an honest device sends its first 256 KiB chunk in about a second
 * even at a 256 KiB/s cap. Never applied to the store's hub (it serves leases: the
 * caller spares it) nor to WAN links, where a chunk may take longer. @default 8 s
 */
export const DEFAULT_HOARDER_AFTER_MS = 2 * DEFAULT_SUSPECT_AFTER_MS
/**
 * A claimant that shows it is downloading (a have after its bitfield that leaves it
 * still lacking chunks) is judged after this many times hoarderAfterMs: an honest device
 * whose first wire to us comes up mid-download is asked by every new neighbour at once
 * (bench:lan N = 16 at load 70: 22 dropped at 8 s). A hoarder claiming all but one chunk
 * cannot show it, so it is out at 8 s.
 */
export const PARTIAL_CLAIM_HOARDER_FACTOR = 2

// --- choking -----------------------------------------------------------------------

/**
 * Regular upload slots. BitTorrent's 4 shares a TCP link fairly between strangers; a
 * store's devices are not strangers, and a node's upload goes out one whole chunk at
 * a time anyway (upload-turns.ts), so slots only bound how many peers may queue a
 * request here. More of them let a chunk that only this node holds reach the store
 * sooner: at 16 devices, 4 slots left devices idle for their first 10-17 s because
 * nobody holding data had unchoked them (bench:lan).
 * @default 8
 */
export const DEFAULT_UPLOAD_SLOTS = 8
/** Optimistic unchoke slots on top of the regular ones. @default 1 */
export const DEFAULT_OPTIMISTIC_SLOTS = 1
/** Regular slots are re-ranked and the optimistic one rotated this often. @default 10 s */
export const DEFAULT_CHOKE_INTERVAL_MS = 10 * SECOND_MS

// --- super-seeding (BEP 16 style) --------------------------------------------------

/** Chunks offered to one peer and not yet seen re-shared. @default 2 */
export const DEFAULT_SUPERSEED_OFFERS_PER_PEER = 2
/** Offers not yet downloaded, over all peers (superseed.ts says why so few). @default 3 */
export const DEFAULT_SUPERSEED_MAX_IN_TRANSIT = 3
/**
 * A peer with no request at us and no new `have` for this long is stalled: it is
 * shown every chunk that was already handed out once (normal seeding for those).
 * Longer than a store's tail at a low cap: at 256 KiB/s a chunk takes a second per
 * hop, and near the end a device may wait several seconds while its peers pass the
 * last chunks around; revealing them then makes the hub send copies the devices were
 * about to swap (bench:lan, N = 8: 1.14 copies at 5 s).
 * @default 15 s
 */
export const DEFAULT_SUPERSEED_STALL_MS = 15 * SECOND_MS
/** An offer the peer has not fetched by then goes back to the pool. @default 30 s */
export const DEFAULT_SUPERSEED_OFFER_TIMEOUT_MS = 30 * SECOND_MS
/** How often stalls and offer timeouts are checked. @default 1 s */
export const DEFAULT_SUPERSEED_TICK_MS = 1 * SECOND_MS

// --- per-peer budgets (wire-budget.ts; SPEC.md "Budgets and violations") ----------

/**
 * One message class's budget on one wire: `burst` at once (plus `burstPerPiece` for
 * every chunk of the bundle, for classes an honest peer sends once per chunk), then
 * `ratePerSec` on average. A GCRA (rate-budget.ts).
 */
export interface MessageBudget {
  ratePerSec: number
  burst: number
  burstPerPiece: number
}

/**
 * Keep-alives: an honest wire sends one every KEEPALIVE_INTERVAL_MS (55 s). A budget
 * of one per 10 s with a burst of 5 is 5.5 times that, and stops a flood at its 6th frame.
 * @default 0.1/s, burst 5
 */
export const DEFAULT_KEEPALIVE_BUDGET: Readonly<MessageBudget> = Object.freeze({ ratePerSec: 0.1, burst: 5, burstPerPiece: 0 })
/**
 * `have`: an honest peer announces each chunk it stores once per wire, and a
 * super-seeder may offer a chunk again (offer timeout, stall reveal): at most about
 * two per chunk of the bundle over a wire's life, whatever the link speed. Twice the
 * bundle's chunk count plus 16 at once, then 10/s for long-lived seeding wires.
 * @default 10/s, burst 16 + 2 per chunk
 */
export const DEFAULT_HAVE_BUDGET: Readonly<MessageBudget> = Object.freeze({ ratePerSec: 10, burst: 16, burstPerPiece: 2 })
/**
 * BEP 10 extended messages: the library sends one extended handshake per wire and we
 * use no extension. @default 0.1/s, burst 4
 */
export const DEFAULT_EXTENDED_BUDGET: Readonly<MessageBudget> = Object.freeze({ ratePerSec: 0.1, burst: 4, burstPerPiece: 0 })
/**
 * Requests that arrive while we choke the peer: an honest pipeline has at most
 * DEFAULT_PIPELINE_MAX_REQUESTS (64) in flight when our choke crosses them, and a
 * choke comes at most once per DEFAULT_CHOKE_INTERVAL_MS. Twice a full pipeline at
 * once, then 16/s. @default 16/s, burst 128
 */
export const DEFAULT_CHOKED_REQUEST_BUDGET: Readonly<MessageBudget> = Object.freeze({ ratePerSec: 16, burst: 2 * DEFAULT_PIPELINE_MAX_REQUESTS, burstPerPiece: 0 })
/**
 * Bytes of every frame but pieces (have, request, cancel, state, bitfield, extended,
 * keep-alive): an honest peer downloading 100 MB/s in 256 KiB chunks sends ~400
 * requests and ~400 haves a second, about 10 KiB/s. 64 KiB/s sustained; at once
 * 256 KiB plus the bitfield and two have frames (9 bytes) per chunk, so a large
 * bundle's stall reveal fits. @default 64 KiB/s, burst 256 KiB + 19 B per chunk
 */
export const DEFAULT_NON_PIECE_BYTES_BUDGET: Readonly<MessageBudget> = Object.freeze({ ratePerSec: 64 * KiB, burst: 256 * KiB, burstPerPiece: 2 * 9 + 1 })

/** Every budget of one wire; `bitfield` needs none (a second one is malformed) nor unsolicited pieces (none is allowed). */
export interface WireBudgets {
  keepAlive: MessageBudget
  have: MessageBudget
  extended: MessageBudget
  chokedRequest: MessageBudget
  nonPieceBytes: MessageBudget
}

export const defaultWireBudgets: Readonly<WireBudgets> = Object.freeze({
  keepAlive: DEFAULT_KEEPALIVE_BUDGET,
  have: DEFAULT_HAVE_BUDGET,
  extended: DEFAULT_EXTENDED_BUDGET,
  chokedRequest: DEFAULT_CHOKED_REQUEST_BUDGET,
  nonPieceBytes: DEFAULT_NON_PIECE_BYTES_BUDGET
})

// --- scoring -----------------------------------------------------------------------

/** Bad chunks (BLAKE3 mismatch) from one peer before it is banned. @default 2 */
export const DEFAULT_BAD_CHUNK_THRESHOLD = 2
/**
 * A ban earned with bad chunks lasts at least this whatever the offence (a chunk that
 * fails BLAKE3 is an outright lie and costs a whole chunk of bandwidth); the ladder
 * below still lengthens it from the fourth offence. @default 1 hour
 */
export const DEFAULT_BAD_CHUNK_BAN_MS = 60 * 60 * SECOND_MS
/**
 * Misbehaviour points (violations.ts weights) at which a peer is banned: one clear
 * abuse (10) or two ambiguous faults (5 each). @default 10
 */
export const DEFAULT_VIOLATION_BAN_SCORE = 10
/**
 * A peer's score is forgotten after this long without a violation, and a violating
 * peer's stream re-open back-off (reopen.ts) is reset only after it. @default 10 min
 */
export const DEFAULT_VIOLATION_QUIET_MS = 10 * 60 * SECOND_MS
/**
 * Ban durations by offence: the first ban lasts 1 min, the second 10 min, then 1 h,
 * then 24 h for every further one. Short first: a one-off fault costs little; a peer
 * that keeps coming back loses a day per offence.
 */
export const DEFAULT_BAN_LADDER_MS: readonly number[] = Object.freeze([60 * SECOND_MS, 10 * 60 * SECOND_MS, 60 * 60 * SECOND_MS, 24 * 60 * 60 * SECOND_MS])
/** A peer's offences are forgotten this long after its last ban ends. @default 7 days */
export const DEFAULT_OFFENCE_MEMORY_MS = 7 * 24 * 60 * 60 * SECOND_MS
/** Ban records kept (and persisted); past it the oldest inactive ones go first. @default 4096 */
export const DEFAULT_MAX_BAN_RECORDS = 4096
/** The persisted ban list, in the peer's data dir (ban-file.ts). */
export const BAN_FILE_NAME = 'bans.json'
/** A ban file over this is refused (4096 records of ~200 bytes, with room). @default 4 MiB */
export const MAX_BAN_FILE_BYTES = 4 * MiB

// --- libp2p --------------------------------------------------------------------------

/**
 * Chunk streams per connection and direction (the handler's maxInboundStreams): one
 * per bundle both peers swarm on, twice over since a re-opened stream may overlap
 * the one it replaces. @default 2 * STORE_ACTIVE_BUNDLES (64)
 */
export const DEFAULT_MAX_STREAMS_PER_CONNECTION = 2 * STORE_ACTIVE_BUNDLES
/**
 * Inbound chunk streams of one peer still in their handshake or being resolved: an
 * honest peer opens one per bundle when it connects; a peer naming random info-hashes
 * waits its turn instead of holding hundreds open (issue #20). @default 8
 */
export const DEFAULT_MAX_PENDING_STREAMS_PER_PEER = 8
/** The same over all peers: every device of a store connecting at once. @default STORE_DEVICES */
export const DEFAULT_MAX_PENDING_STREAMS = STORE_DEVICES
/**
 * Inbound handshakes naming an info-hash we have not joined, per peer, at once
 * (issue #20: 1,500 random info-hashes cost a device 6.6 CPU-s, each one
 * a manifest fetch). An honest hub opens one stream per bundle it seeds and re-opens a
 * refused one at 1, 2, 4... s (reopen.ts), so even STORE_ACTIVE_BUNDLES bundles this
 * device does not know stay within 4 x that burst. @default 4 * STORE_ACTIVE_BUNDLES (128)
 */
export const DEFAULT_UNKNOWN_HANDSHAKE_BURST = 4 * STORE_ACTIVE_BUNDLES
/**
 * ...and this many per second after it; past both the peer commits
 * `unknown-bundle-flood`. Re-opens settle at one per bundle per DEFAULT_REOPEN_MAX_MS
 * (about 1/s for STORE_ACTIVE_BUNDLES bundles). @default 4 per second
 */
export const DEFAULT_UNKNOWN_HANDSHAKES_PER_SEC = 4
/**
 * Distinct info-hashes we have not joined that one peer may name at once
 * (unknown-bundles.ts): a hub seeding every active bundle of the store names
 * STORE_ACTIVE_BUNDLES, with room for a few more (another class's, an older one).
 * A peer naming random info-hashes is refused at the next one. @default STORE_ACTIVE_BUNDLES + 8 (40)
 */
export const DEFAULT_UNKNOWN_BUNDLES_BURST = STORE_ACTIVE_BUNDLES + 8
/** ...and one more distinct one per this long after that burst (new bundles arrive seldom). @default 30 s */
export const DEFAULT_UNKNOWN_BUNDLE_EVERY_MS = 30 * SECOND_MS
/**
 * A connected peer without a live wire for a joined bundle is checked this often and
 * its stream re-opened (src/swarm/reopen.ts explains why). @default 1 s
 */
export const DEFAULT_REOPEN_TICK_MS = 1 * SECOND_MS
/**
 * A sweep that found every connected peer wired sleeps this long (issue #19: an idle
 * agent swept 60 times a minute for nothing). A connection, a lost wire, a join or an
 * open that failed wakes it at DEFAULT_REOPEN_TICK_MS; this is the backstop for a wire
 * lost before its handshake, which emits no event. @default 30 s
 */
export const DEFAULT_REOPEN_IDLE_MS = 30 * SECOND_MS
/** First re-open of a lost wire after this long, doubling per attempt. @default 1 s */
export const DEFAULT_REOPEN_MIN_MS = 1 * SECOND_MS
/** ... up to this (a peer that does not serve the bundle costs one stream per period). @default 30 s */
export const DEFAULT_REOPEN_MAX_MS = 30 * SECOND_MS
/** A store write failed (disk full...): wait this long before requesting again. */
export const DEFAULT_STORE_ERROR_BACKOFF_MS = 1 * SECOND_MS

/** Tunables of one bundle swarm; every field documented at its constant above. */
export interface SwarmOptions {
  maxChunkBytes: number
  maxExtendedBytes: number
  maxQueuedPeerRequests: number
  handshakeTimeoutMs: number
  requestTimeoutMs: number
  maxWriteBytes: number
  pipelineBytes: number
  pipelineMinRequests: number
  pipelineMaxRequests: number
  endgameMaxPeersPerPiece: number
  reaskAfterMs: number
  unprovenPipelineRequests: number
  probeRequests: number
  suspectAfterMs: number
  suspectAfterTimeouts: number
  hoarderAfterMs: number
  uploadSlots: number
  optimisticSlots: number
  chokeIntervalMs: number
  superseedOffersPerPeer: number
  superseedMaxInTransit: number
  superseedStallMs: number
  superseedOfferTimeoutMs: number
  superseedTickMs: number
  storeErrorBackoffMs: number
  wireBudgets: WireBudgets
}

export const defaultSwarmOptions: Readonly<SwarmOptions> = Object.freeze({
  maxChunkBytes: DEFAULT_MAX_CHUNK_BYTES,
  maxExtendedBytes: DEFAULT_MAX_EXTENDED_BYTES,
  maxQueuedPeerRequests: DEFAULT_MAX_QUEUED_PEER_REQUESTS,
  handshakeTimeoutMs: DEFAULT_HANDSHAKE_TIMEOUT_MS,
  requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS,
  maxWriteBytes: DEFAULT_MAX_WRITE_BYTES,
  pipelineBytes: DEFAULT_PIPELINE_BYTES,
  pipelineMinRequests: DEFAULT_PIPELINE_MIN_REQUESTS,
  pipelineMaxRequests: DEFAULT_PIPELINE_MAX_REQUESTS,
  endgameMaxPeersPerPiece: DEFAULT_ENDGAME_MAX_PEERS_PER_PIECE,
  reaskAfterMs: DEFAULT_REASK_AFTER_MS,
  unprovenPipelineRequests: DEFAULT_UNPROVEN_PIPELINE_REQUESTS,
  probeRequests: DEFAULT_PROBE_REQUESTS,
  suspectAfterMs: DEFAULT_SUSPECT_AFTER_MS,
  suspectAfterTimeouts: DEFAULT_SUSPECT_AFTER_TIMEOUTS,
  hoarderAfterMs: DEFAULT_HOARDER_AFTER_MS,
  uploadSlots: DEFAULT_UPLOAD_SLOTS,
  optimisticSlots: DEFAULT_OPTIMISTIC_SLOTS,
  chokeIntervalMs: DEFAULT_CHOKE_INTERVAL_MS,
  superseedOffersPerPeer: DEFAULT_SUPERSEED_OFFERS_PER_PEER,
  superseedMaxInTransit: DEFAULT_SUPERSEED_MAX_IN_TRANSIT,
  superseedStallMs: DEFAULT_SUPERSEED_STALL_MS,
  superseedOfferTimeoutMs: DEFAULT_SUPERSEED_OFFER_TIMEOUT_MS,
  superseedTickMs: DEFAULT_SUPERSEED_TICK_MS,
  storeErrorBackoffMs: DEFAULT_STORE_ERROR_BACKOFF_MS,
  wireBudgets: defaultWireBudgets
})
