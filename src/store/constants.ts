/**
 * Defaults and on-disk names of the chunk store (DESIGN.md section 6), in one place.
 * The CLI and the roles read `defaultStoreOptions` so a flag and its default agree.
 */

/** Chunk files live in `<dataDir>/chunks/<2 hex>/<hash>`. */
export const CHUNKS_SUBDIR = 'chunks'
/** The level index lives in `<dataDir>/index`. */
export const INDEX_SUBDIR = 'index'
/**
 * Temporary chunk files start with this prefix and sit in the chunk's own directory
 * so that rename() is atomic. A name with this prefix is never a hash, so a temp file
 * can never be mistaken for a chunk; startup deletes every one it finds.
 */
export const TEMP_PREFIX = '.tmp-'
/** The 256 fan-out directories `00`..`ff` under `chunks/`. */
export const FANOUT_PREFIXES: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/**
 * Reads refresh a chunk's last-used time at most this often, so that serving a chunk
 * to many peers does not turn every read into an index write.
 * @default 60_000
 */
export const DEFAULT_TOUCH_GRANULARITY_MS = 60_000
/** Pending last-used updates are written in one batch once this many are queued. */
export const TOUCH_FLUSH_COUNT = 512
/** ... or after this long, whichever comes first. */
export const TOUCH_FLUSH_DELAY_MS = 1_000
/**
 * When the quota forces eviction, free this fraction of the quota beyond what the
 * put needs (a low-water mark), so that filling a full cache with a new bundle does
 * not rescan the LRU order on every single chunk.
 * @default 1 / 64
 */
export const DEFAULT_EVICTION_SLACK_FRACTION = 1 / 64
/** Upper bound of the slack, whatever the quota. */
export const MAX_EVICTION_SLACK_BYTES = 64 * 1024 * 1024
/** Chunks read ahead while an artifact is reconstructed (bounded memory: this many chunks). */
export const DEFAULT_READ_AHEAD_CHUNKS = 4
/** A chunk file larger than this is not ours (the manifest limit is 16 MiB per chunk). */
export const MAX_CHUNK_FILE_BYTES = 16 * 1024 * 1024

export interface StoreOptions {
  /** Root of the store; created if missing. One process at a time. */
  dataDir: string
  /** Byte quota over chunk contents; undefined means unlimited. */
  quotaBytes?: number
  /**
   * Extra bytes to free when eviction runs (see DEFAULT_EVICTION_SLACK_FRACTION).
   * @default min(quotaBytes / 64, 64 MiB)
   */
  evictionSlackBytes?: number
  /**
   * Whether eviction may take chunks of bundles still being fetched (state `partial`).
   * @default false
   */
  evictIncomplete?: boolean
  /** @default DEFAULT_TOUCH_GRANULARITY_MS */
  touchGranularityMs?: number
  /** Re-hash every indexed chunk at open (slow on big stores; reads verify anyway). @default false */
  verifyOnOpen?: boolean
  /** The clock; tests inject one. @default Date.now */
  nowMs?: () => number
  /** Called when a chunk failed verification on read and was dropped. */
  onCorrupt?: (hash: string, reason: string) => void
}

export const defaultStoreOptions = {
  evictIncomplete: false,
  touchGranularityMs: DEFAULT_TOUCH_GRANULARITY_MS,
  verifyOnOpen: false,
  nowMs: (): number => Date.now()
} as const

export function defaultEvictionSlackBytes (quotaBytes: number | undefined): number {
  if (quotaBytes === undefined) return 0
  return Math.min(Math.floor(quotaBytes * DEFAULT_EVICTION_SLACK_FRACTION), MAX_EVICTION_SLACK_BYTES)
}
