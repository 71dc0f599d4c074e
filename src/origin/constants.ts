/**
 * Names, limits and defaults of the origin layout (protocols/origin/SPEC.md) and of the
 * super hub's pull-through client, in one place; the CLI flags read these.
 */
import { MAX_MANIFEST_BYTES, MAX_CHUNK_BYTES_LIMIT } from '../bundle/manifest.js'

/** `chunks/<2 hex>/<hash>`: the same fan-out as a bundle folder and the chunk store (SPEC "Layout"). */
export const ORIGIN_CHUNKS_DIR = 'chunks'
/** `manifests/<64 hex of the bundle id>.json`: the bundle's signed envelope, byte for byte its bundle.json. */
export const ORIGIN_MANIFESTS_DIR = 'manifests'
/** `index/<device class>.json`: the signed list of the class's bundles. */
export const ORIGIN_INDEX_DIR = 'index'
/** `timestamp.json`: the newest freshness statement of the timestamp role (protocols/root/SPEC.md section 6), read by super hubs' timestamp feeds. */
export const ORIGIN_TIMESTAMP_KEY = 'timestamp.json'
/** `roots/<version>.json`: each root of the fleet's chain (protocols/root/SPEC.md), read by super hubs' root feeds from the version after theirs. */
export const ORIGIN_ROOTS_DIR = 'roots'

export const ORIGIN_INDEX_TYPE = 'storemesh/origin-index'
export const ORIGIN_INDEX_SPEC_VERSION = 1
/** An index lists at most this many bundles (SPEC "Index"); older ones drop off the end. */
export const MAX_INDEX_BUNDLES = 256
/** The largest index file a reader accepts (SPEC "Limits"). */
export const MAX_INDEX_BYTES = 256 * 1024
/** The largest manifest a reader accepts: the bundle format's own limit. */
export const MAX_ORIGIN_MANIFEST_BYTES = MAX_MANIFEST_BYTES
/** The largest chunk a reader accepts: the bundle format's own limit. */
export const MAX_ORIGIN_CHUNK_BYTES = MAX_CHUNK_BYTES_LIMIT

/** Whole-request deadline until the status line and headers arrived. @default 10 s */
export const DEFAULT_ORIGIN_REQUEST_TIMEOUT_MS = 10_000
/**
 * A body that sends nothing for this long is given up (E_ORIGIN_STALLED): long enough
 * for a loaded CDN edge, short enough that a store hub is not left waiting behind it.
 * @default 5 s
 */
export const DEFAULT_ORIGIN_STALL_TIMEOUT_MS = 5_000
/** Attempts per object (the first plus retries) before the fetch fails. @default 4 */
export const DEFAULT_ORIGIN_ATTEMPTS = 4
/** Jittered exponential back-off between attempts (interface/backoff.ts). */
export const DEFAULT_ORIGIN_RETRY_BASE_MS = 200
export const DEFAULT_ORIGIN_RETRY_MAX_MS = 5_000
export const DEFAULT_ORIGIN_RETRY_JITTER = 0.2
/** A class query re-reads the origin's index at most this often (new releases appear within it). @default 30 s */
export const DEFAULT_INDEX_TTL_MS = 30_000
/** A chunk the origin answered 404 for is not asked again for this long. @default 10 s */
export const DEFAULT_NOT_FOUND_TTL_MS = 10_000
/** Hashes remembered as missing at most (oldest forgotten first): bounds the memory a store hub can make us spend. */
export const MAX_NOT_FOUND_ENTRIES = 10_000
/** Chunks fetched from the origin at once by one super hub (further misses queue). @default 16 */
export const DEFAULT_ORIGIN_CONCURRENCY = 16
/**
 * The pull-through cache's byte quota (least-recently-used eviction) unless
 * `--cache-quota` says otherwise. @default 8 GiB
 */
export const DEFAULT_ORIGIN_CACHE_QUOTA_BYTES = 8 * 1024 ** 3
/** A cache must hold at least one chunk of the largest size the format allows. */
export const MIN_ORIGIN_CACHE_QUOTA_BYTES = MAX_ORIGIN_CHUNK_BYTES
