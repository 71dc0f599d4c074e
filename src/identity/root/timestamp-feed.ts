/**
 * The super hub's timestamp feed (protocols/root/SPEC.md section 6 "Feed"). The
 * timestamp role's key lives with a signer away from the super hub (offline, or a
 * signing host), so its statements arrive as bytes from somewhere else: a folder the
 * signer writes into (`--timestamp-dir`, timestamp-dir-source.ts) and the origin's
 * `timestamp.json` (`--origin`, src/origin/timestamp-source.ts). The feed reads its
 * sources when one wakes it (fs.watch) and on a periodic rescan, verifies each
 * candidate against the root's timestamp role in force, and stores the newest one in
 * `<data>/timestamp.json`, from where the report handler hands it down (trust-exchange).
 *
 * A candidate issued after the statement held replaces it; one issued at the same time
 * is the same statement and is ignored; an older one (`E_TIMESTAMP_ROLLBACK`) or one
 * that does not decode or verify (`E_TIMESTAMP_INVALID`, `E_SIGNATURE_*`,
 * `E_KEY_REVOKED`, …) is refused, logged and counted by code. Sources remember what
 * they gave (a file's stamp, the origin object's bytes), so one bad file is refused
 * once, not at every rescan.
 */
import { toStoremeshError, type StoremeshError } from '../../interface/errors.js'
import { silentLog, type Log } from '../../interface/log.js'
import type { TrustOptions } from '../../interface/types.js'
import { timeMs } from '../signed.js'
import { decodeTimestamp, installTimestamp, readTimestampFile, verifyTimestamp, type Timestamp } from './timestamp.js'
import { FeedLoop } from './feed-loop.js'

/** How often the feed reads its sources without being woken: fs.watch misses events on some file systems. @default 30 s */
export const DEFAULT_TIMESTAMP_RESCAN_MS = 30_000
/** A wake-up waits this long for more events (a signer's copy writes in several steps). @default 200 ms */
export const TIMESTAMP_WAKE_DEBOUNCE_MS = 200
/** Refusal codes kept as their own label; any further code folds into `other` (a bounded metric label). */
const MAX_REFUSAL_CODES = 16

/** What a source gave: bytes to decode, or why an object of it could not be read (refused like a bad statement). */
export type TimestampCandidate = {
  /** where it came from, for the log: a file path or an origin URL */
  from: string
  bytes: Uint8Array
} | { from: string, error: StoremeshError }

/** Somewhere statements come from. */
export interface TimestampSource {
  /** `dir`, `origin`: the log's and the counters' name */
  readonly name: string
  /** what is new since the last poll; throws when the source cannot be read (logged and counted, the feed goes on) */
  poll(options?: { signal?: AbortSignal }): Promise<TimestampCandidate[]>
  /** calls `wake` when the source may hold something new; returns the unwatch */
  watch?(wake: () => void): () => void
  /** the next poll gives everything again, also what it gave before (the trust changed: see TimestampFeed.retry) */
  forget?(): void
}

export interface TimestampFeedInit {
  dataDir: string
  /** the root's timestamp role in force (a rotation changes it): RootTrust.trust('timestamp') */
  trust: () => TrustOptions
  sources: readonly TimestampSource[]
  /** @default DEFAULT_TIMESTAMP_RESCAN_MS */
  rescanMs?: number
  /** a newer statement was stored (wake the held report polls) */
  onAdopted?: (ts: Timestamp) => void
  log?: Log
  /** @default Date.now */
  nowMs?: () => number
}

export interface TimestampFeedCounters {
  /** statements stored, each newer than the one before */
  adopted: number
  /** candidates refused, by stable code */
  refusedByCode: Record<string, number>
  /** source reads that failed, by source name */
  sourceErrors: Record<string, number>
  /** the statement held, when there is one */
  current?: { issuedAt: string, expiresAt: string }
}

export type OfferOutcome = { kind: 'adopted' | 'same', ts: Timestamp } | { kind: 'refused', err: StoremeshError }

export class TimestampFeed {
  readonly #init: TimestampFeedInit
  readonly #log: Log
  readonly #counters: TimestampFeedCounters = { adopted: 0, refusedByCode: {}, sourceErrors: {} }
  readonly #loop: FeedLoop

  constructor (init: TimestampFeedInit) {
    this.#init = init
    this.#log = (init.log ?? silentLog)
    this.#loop = new FeedLoop({ sources: init.sources, rescanMs: init.rescanMs ?? DEFAULT_TIMESTAMP_RESCAN_MS, wakeDebounceMs: TIMESTAMP_WAKE_DEBOUNCE_MS, scanOnce: async () => { await this.#scanOnce() } })
  }

  /** Reads every source once, then watches them and rescans every `rescanMs`. */
  async start (): Promise<void> {
    const held = await readTimestampFile(this.#init.dataDir, this.#init.trust()).catch(() => undefined)
    if (held !== undefined) this.#counters.current = { issuedAt: held.signed.issuedAt, expiresAt: held.signed.expiresAt }
    await this.#loop.start()
  }

  stop (): void {
    this.#loop.stop()
  }

  counters (): TimestampFeedCounters {
    const c = this.#counters
    return { adopted: c.adopted, refusedByCode: { ...c.refusedByCode }, sourceErrors: { ...c.sourceErrors }, ...(c.current !== undefined ? { current: { ...c.current } } : {}) }
  }

  /**
   * The trust changed (a new root was adopted): what was refused may verify now, e.g. a
   * statement signed by a timestamp key only the new root names, which reached the
   * feed before its root. Sources give everything again and one pass runs; a statement
   * already held is `same`, a bad one is refused (and logged) once more.
   */
  retry (): void {
    for (const source of this.#init.sources) source.forget?.()
    void this.scan()
  }

  /** One pass over the sources; a pass asked for while one runs runs after it (events are not lost). */
  async scan (): Promise<void> {
    await this.#loop.scan()
  }

  async #scanOnce (): Promise<void> {
    const candidates: TimestampCandidate[] = []
    for (const source of this.#init.sources) {
      if (this.#loop.signal.aborted) return
      try {
        candidates.push(...await source.poll({ signal: this.#loop.signal }))
      } catch (err) {
        if (this.#loop.signal.aborted) return
        const e = toStoremeshError(err)
        this.#counters.sourceErrors[source.name] = (this.#counters.sourceErrors[source.name] ?? 0) + 1
        this.#log.warn({ source: source.name, code: e.code }, `timestamp source ${source.name} unreadable: ${e.toLine()}`)
      }
    }
    // newest first: the newest valid one is stored, older ones in the same pass are only superseded
    const valid: Array<{ c: { from: string }, ts: Timestamp }> = []
    for (const c of candidates) {
      if ('error' in c) {
        this.#refuse(c.from, c.error)
        continue
      }
      try {
        valid.push({ c, ts: verifyTimestamp(decodeTimestamp(c.bytes), this.#init.trust()) })
      } catch (err) {
        this.#refuse(c.from, toStoremeshError(err))
      }
    }
    valid.sort((a, b) => timeMs(b.ts.signed.issuedAt) - timeMs(a.ts.signed.issuedAt))
    const heldMs = this.#counters.current !== undefined ? timeMs(this.#counters.current.issuedAt) : -Infinity
    for (const [i, { c, ts }] of valid.entries()) {
      const issuedMs = timeMs(ts.signed.issuedAt)
      if (i > 0 && issuedMs >= heldMs) continue
      const o = await this.offer(c.from, ts)
      if (o.kind === 'refused') this.#refuse(c.from, o.err)
    }
  }

  #refuse (from: string, err: StoremeshError): void {
    const codes = this.#counters.refusedByCode
    const code = codes[err.code] !== undefined || Object.keys(codes).length < MAX_REFUSAL_CODES ? err.code : 'other'
    codes[code] = (codes[code] ?? 0) + 1
    const level = err.code === 'E_TIMESTAMP_ROLLBACK' ? 'info' : 'warn'
    this.#log[level]({ code: err.code, from }, `refused timestamp statement ${from}: ${err.toLine()}`)
  }

  /** Verifies `ts` (decoded) against the role in force and stores it when issued after the one held. */
  async offer (from: string, ts: Timestamp): Promise<OfferOutcome> {
    const before = this.#counters.current?.issuedAt
    let kept: Timestamp
    try {
      kept = await installTimestamp(this.#init.dataDir, ts, this.#init.trust())
    } catch (err) {
      return { kind: 'refused', err: toStoremeshError(err) }
    }
    if (kept.signed.issuedAt === before || kept !== ts) return { kind: 'same', ts: kept }
    this.#counters.current = { issuedAt: kept.signed.issuedAt, expiresAt: kept.signed.expiresAt }
    this.#counters.adopted++
    const expired = (this.#init.nowMs ?? Date.now)() > timeMs(kept.signed.expiresAt)
    this.#log.info({ from, issuedAt: kept.signed.issuedAt, expiresAt: kept.signed.expiresAt },
      `timestamp statement from ${from} issued ${kept.signed.issuedAt}, expires ${kept.signed.expiresAt}${expired ? ' (already expired: the store stays stale)' : ''}`)
    this.#init.onAdopted?.(kept)
    return { kind: 'adopted', ts: kept }
  }
}

