/**
 * Ids, limits and defaults of the WAN pull protocol (pull-protocol.ts) and of the
 * store hub's puller (src/wan/puller.ts), in one place. Spec: protocols/wan-pull/SPEC.md
 * (each limit names the section that fixes it).
 */
import { formatProtocolId } from '../../net/protocol-id.js'

export const WAN_PULL_PROTOCOL_NAME = 'wan-pull'
export const WAN_PULL_PROTOCOL_VERSION = '1.0.0'
/** `/storemesh/wan-pull/1.0.0` */
export const WAN_PULL_PROTOCOL = formatProtocolId(WAN_PULL_PROTOCOL_NAME, WAN_PULL_PROTOCOL_VERSION)

/** Hashes in one request: bounds the request (64 * 67 bytes of JSON) and the work one request starts (SPEC "Request"). */
export const MAX_PULL_BATCH_CHUNKS = 64
/** The largest request frame a super hub reads (SPEC "Request"). */
export const MAX_PULL_REQUEST_BYTES = 8 * 1024
/** A chunk larger than this is not ours (the manifest's per-chunk limit, 16 MiB; SPEC "Answer"). */
export const MAX_PULL_CHUNK_BYTES = 16 * 1024 * 1024
/** The largest answer frame: the status byte and the largest chunk (SPEC "Answer"). */
export const MAX_PULL_ANSWER_BYTES = 1 + MAX_PULL_CHUNK_BYTES
/** A length prefix holds at most this many bytes, minimally encoded (SPEC "Framing"). */
export const MAX_PULL_PREFIX_BYTES = 8
/** Streams one store hub may hold open to one super hub (SPEC "Transport"). */
export const MAX_PULL_STREAMS = 4
/**
 * The super hub writes at most this much per write, each slice after the limiter
 * granted it (SPEC "Pacing"); far below pnet's ~640 KiB single-write failure
 * (STACK-NOTES) whatever the limiter's slice.
 */
export const MAX_PULL_WRITE_BYTES = 64 * 1024
/**
 * A chunk whose size the super hub's source cannot tell before reading it takes a
 * grant of this size from the server-wide budget (byte-budget.ts), re-sized to the
 * real size once read: the chunker's default largest chunk (FastCDC max, DESIGN.md 3),
 * so bundles built with the default chunking never pass the bound (a unit test holds
 * it equal to bundle/fastcdc.ts DEFAULT_MAX_CHUNK_BYTES; not imported here: that
 * module loads the chunker's WebAssembly).
 */
export const DEFAULT_GUESSED_CHUNK_BYTES = 1024 * 1024

/**
 * The slowest store-hub link the super hub serves without cutting it off: 64 kbit/s
 * (8 KiB/s), a thin backup link. A store hub reading slower than this, or not at all,
 * is treated as stalled (DEFAULT_SERVE_STALL_MS).
 */
export const MIN_SERVE_RATE_BYTES_PER_SEC = 8 * 1024
/**
 * How long an answer may wait for its stream to drain before the super hub gives the
 * stream up (E_SERVE_STALLED) and the grants it holds go back to the server-wide
 * budget: a store hub that stops reading mid-answer would otherwise keep up to
 * readAhead chunks per stream, 4 streams each, and a few of them starve everyone.
 * One drain needs the store hub to take at most the writable buffer (256 KiB), one
 * write slice (64 KiB), one batch (64 KiB) and the yamux window (256 KiB): under
 * 1 MiB, the default largest chunk. A whole largest chunk at the slowest supported
 * rate: 1 MiB / 8 KiB/s = 128 s, so an honest reader at 64 kbit/s drains ~2.5 times
 * within it. The clock runs only while waiting on the drain, never on our own
 * limiters (a store hub paced by the super hub's rate limits is not stalled).
 * @default 128000
 */
export const DEFAULT_SERVE_STALL_MS = Math.ceil(DEFAULT_GUESSED_CHUNK_BYTES / MIN_SERVE_RATE_BYTES_PER_SEC * 1000)

/**
 * Chunks of one request the super hub reads (or pulls through) ahead of the one it is
 * sending, per stream; each holds its grant of the server-wide budget. @default 4
 */
export const DEFAULT_PULL_READ_AHEAD = 4

/**
 * What a store hub asks one super hub for at once, in bytes: enough to keep a fast
 * link busy across a round trip, small enough that a window closing or a hub failing
 * strands little. @default 4 MiB
 */
export const DEFAULT_PULL_BATCH_BYTES = 4 * 1024 * 1024
/** Requests outstanding per stream (the next is sent while one is answered). @default 2 */
export const DEFAULT_PULL_PIPELINE = 2
/** Retry after a failed super hub: jittered exponential back-off. */
export const DEFAULT_PULL_RETRY_BASE_MS = 500
export const DEFAULT_PULL_RETRY_MAX_MS = 30_000
export const DEFAULT_PULL_RETRY_JITTER = 0.2
/** How often a running puller re-reads `<data>/prefetch.json` for entries added by `hub prefetch`. */
export const DEFAULT_PREFETCH_POLL_MS = 2_000
/**
 * A super hub that keeps the stream open but sends nothing is given up after this
 * long: the client resets the stream (E_TIMEOUT) and the chunks it had asked for go
 * to another super hub or back to the queue. The clock runs only while answers are
 * outstanding and every byte that arrived has been consumed, so time spent behind
 * the store hub's own limiter (a closed window) or its store never counts. Long
 * enough that a loaded super hub pacing at a few KiB/s still sends within it.
 * @default 30000
 */
export const DEFAULT_PULL_IDLE_TIMEOUT_MS = 30_000
/** Dial and manifest fetch deadline per attempt. */
export const DEFAULT_PULL_CONNECT_TIMEOUT_MS = 15_000
/** File of the pre-staging queue inside a data dir. */
export const PREFETCH_FILE = 'prefetch.json'
