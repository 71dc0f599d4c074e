/**
 * The super hub's root feed (protocols/root/SPEC.md section 5 "Root feed"): new roots
 * reach a super hub the way timestamp statements do, without an operator running
 * `root install` on it: from a folder the root keys' holders drop root files into
 * (`--root-dir`, timestamp-dir-source.ts) and from the origin's `roots/<version>.json`
 * (`--origin`, src/origin/root-source.ts). The feed reads its sources when one wakes it
 * and on a periodic rescan, and adopts only what chains from the root held (chain.ts:
 * version + 1, a threshold of the old root keys and of the new, walked version by
 * version; the newest unexpired). Adopting wakes the hubs' held report polls, so the
 * new root is in their next answer and from there in their devices'.
 *
 * A candidate at or below the version held is the same root (ignored) or a rollback or
 * fork (`E_ROOT_ROLLBACK`); one above it waits in a bounded pool until the versions
 * between arrive (a signer may drop 5 before 4); one that does not decode or whose
 * step does not verify is refused with its code (`E_ROOT_INVALID`, `E_ROOT_SIGNATURE`,
 * `E_ROOT_EXPIRED`, `E_FILE_*`). Sources give each file or object once per change, so
 * each bad one is refused, logged and counted once.
 */
import { createHash } from 'node:crypto'
import { StoremeshError, toStoremeshError } from '../../interface/errors.js'
import { silentLog, type Log } from '../../interface/log.js'
import { verifyNextRoot, type TrustState } from './chain.js'
import { MAX_ROOT_CHAIN } from './constants.js'
import { encodeRoot, type RootDocument } from './document.js'
import { decodeRootOrChain, type RootTrust } from './root-trust.js'
import { FeedLoop } from './feed-loop.js'
import type { TimestampCandidate } from './timestamp-feed.js'

/** How often the feed reads its sources without being woken. @default 30 s */
export const DEFAULT_ROOT_RESCAN_MS = 30_000
/** A wake-up waits this long for more events (a copy writes in several steps). @default 200 ms */
export const ROOT_WAKE_DEBOUNCE_MS = 200
/** Roots above the next version kept waiting for the ones between (the excess refused). @default MAX_ROOT_CHAIN */
export const MAX_PENDING_ROOTS = MAX_ROOT_CHAIN
/** Refusal codes kept as their own label; any further code folds into `other`. */
const MAX_REFUSAL_CODES = 16

/** Bytes from a source (a root file or a chain file), or why one of its objects could not be read. */
export type RootCandidate = TimestampCandidate

/** Somewhere roots come from. */
export interface RootSource {
  /** `dir`, `origin`: the log's and the counters' name */
  readonly name: string
  /** what is new since the last poll; `heldVersion` lets an origin ask for the next versions only */
  poll(options: { heldVersion: number, signal?: AbortSignal }): Promise<RootCandidate[]>
  /** calls `wake` when the source may hold something new; returns the unwatch */
  watch?(wake: () => void): () => void
}

export interface RootFeedInit {
  root: RootTrust
  sources: readonly RootSource[]
  /** @default DEFAULT_ROOT_RESCAN_MS */
  rescanMs?: number
  /** the root in force moved from `from` to `to` (wake the held report polls) */
  onAdopted?: (from: number, to: number) => void
  log?: Log
  /** @default Date.now */
  nowMs?: () => number
}

export interface RootFeedCounters {
  /** roots adopted, one per version walked */
  adopted: number
  refusedByCode: Record<string, number>
  sourceErrors: Record<string, number>
  /** the root version in force */
  version: number
  /** roots waiting for the versions between */
  pending: number
}

interface Pending { root: RootDocument, from: string }

const digestOf = (r: RootDocument): string => createHash('sha256').update(encodeRoot(r)).digest('hex')

export class RootFeed {
  readonly #init: RootFeedInit
  readonly #log: Log
  readonly #counters = { adopted: 0, refusedByCode: {} as Record<string, number>, sourceErrors: {} as Record<string, number> }
  readonly #loop: FeedLoop
  /** digest → a root above the next version */
  readonly #pending = new Map<string, Pending>()
  /** digests of expired roots already refused (they stay in the pool: a newer root chains through them) */
  readonly #toldExpired = new Set<string>()

  constructor (init: RootFeedInit) {
    this.#init = init
    this.#log = init.log ?? silentLog
    this.#loop = new FeedLoop({ sources: init.sources, rescanMs: init.rescanMs ?? DEFAULT_ROOT_RESCAN_MS, wakeDebounceMs: ROOT_WAKE_DEBOUNCE_MS, scanOnce: async () => { await this.#scanOnce() } })
  }

  /** Reads every source once, then watches them and rescans every `rescanMs`. */
  async start (): Promise<void> {
    await this.#loop.start()
  }

  stop (): void {
    this.#loop.stop()
  }

  counters (): RootFeedCounters {
    const c = this.#counters
    return { adopted: c.adopted, refusedByCode: { ...c.refusedByCode }, sourceErrors: { ...c.sourceErrors }, version: this.#init.root.version, pending: this.#pending.size }
  }

  /** One pass over the sources; a pass asked for while one runs runs after it. */
  async scan (): Promise<void> {
    await this.#loop.scan()
  }

  async #scanOnce (): Promise<void> {
    const root = this.#init.root
    // `root install` beside the running super hub moves the chain too
    await root.refresh().catch((err: unknown) => { this.#log.warn({ code: toStoremeshError(err).code }, `root chain unreadable: ${toStoremeshError(err).toLine()}`) })
    for (const source of this.#init.sources) {
      if (this.#loop.signal.aborted) return
      let candidates: RootCandidate[]
      try {
        candidates = await source.poll({ heldVersion: root.version, signal: this.#loop.signal })
      } catch (err) {
        if (this.#loop.signal.aborted) return
        const e = toStoremeshError(err)
        this.#counters.sourceErrors[source.name] = (this.#counters.sourceErrors[source.name] ?? 0) + 1
        this.#log.warn({ source: source.name, code: e.code }, `root source ${source.name} unreadable: ${e.toLine()}`)
        continue
      }
      for (const c of candidates) this.#take(c)
    }
    await this.#walk()
  }

  /** Sorts one candidate: the same root, a rollback, or one for the pool. */
  #take (c: RootCandidate): void {
    if ('error' in c) {
      this.#refuse(c.from, c.error)
      return
    }
    let roots: RootDocument[]
    try {
      roots = decodeRootOrChain(c.bytes)
    } catch (err) {
      this.#refuse(c.from, toStoremeshError(err))
      return
    }
    const root = this.#init.root
    for (const r of roots) {
      const v = r.signed.version
      if (v <= root.version) {
        const held = root.chain.find(h => h.signed.version === v)
        // a chain file repeats the roots already held; only a different one at a held version is refused
        if (held !== undefined && digestOf(held) === digestOf(r)) continue
        if (held === undefined && v < (root.chain[0]?.signed.version ?? 0)) continue // older than the chain kept: cannot tell, nothing to do
        this.#refuse(c.from, new StoremeshError('E_ROOT_ROLLBACK', `root ${v} is not newer than root ${root.version} in force${held !== undefined ? ' and differs from the root held at that version' : ''}`,
          { version: v, current: root.version }))
        continue
      }
      const d = digestOf(r)
      if (this.#pending.has(d)) continue
      if (this.#pending.size >= MAX_PENDING_ROOTS) {
        this.#refuse(c.from, new StoremeshError('E_ROOT_VERSION', `root ${v}: ${MAX_PENDING_ROOTS} roots already wait for the versions between (root ${root.version} in force)`,
          { version: v, current: root.version }))
        continue
      }
      this.#pending.set(d, { root: r, from: c.from })
    }
  }

  /** Walks the pool from the root in force, one version at a time, and adopts what chained. */
  async #walk (): Promise<void> {
    const root = this.#init.root
    // a `root install` beside the feed may have passed roots still waiting here
    for (const [d, p] of this.#pending) {
      if (p.root.signed.version > root.version) continue
      this.#pending.delete(d)
      this.#take({ from: p.from, bytes: encodeRoot(p.root) })
    }
    let state: TrustState = root.state
    const steps: Pending[] = []
    for (;;) {
      const next = [...this.#pending.entries()].filter(([, p]) => p.root.signed.version === state.version + 1)
      if (next.length === 0) break
      let moved: { state: TrustState, p: Pending } | undefined
      for (const [d, p] of next) {
        this.#pending.delete(d)
        if (moved !== undefined) {
          // a second, different root for a version already taken this pass
          this.#refuse(p.from, new StoremeshError('E_ROOT_ROLLBACK', `root ${p.root.signed.version}: another root of this version chained first`, { version: p.root.signed.version }))
          continue
        }
        try {
          moved = { state: verifyNextRoot(state, p.root), p }
        } catch (err) {
          this.#refuse(p.from, toStoremeshError(err))
        }
      }
      if (moved === undefined) break
      state = moved.state
      steps.push(moved.p)
    }
    if (steps.length === 0) return
    // the newest root must be unexpired (TUF): take the longest prefix ending in one that is
    const nowMs = (this.#init.nowMs ?? Date.now)()
    let keep = steps.length
    while (keep > 0 && Date.parse(steps[keep - 1]!.root.signed.expiresAt) < nowMs) keep--
    for (const p of steps.slice(keep)) {
      const d = digestOf(p.root)
      if (this.#toldExpired.has(d)) continue
      this.#toldExpired.add(d)
      this.#refuse(p.from, new StoremeshError('E_ROOT_EXPIRED', `root ${p.root.signed.version} expired at ${p.root.signed.expiresAt}`, { version: p.root.signed.version }))
    }
    // kept waiting: a newer root chains through them and ends the wait
    for (const p of steps.slice(keep)) this.#pending.set(digestOf(p.root), p)
    if (keep === 0) return
    const taken = steps.slice(0, keep)
    let r
    try {
      r = await root.accept(taken.map(p => p.root), nowMs)
    } catch (err) {
      // the chain moved under us (a `root install` meanwhile): these are refused with the reason
      for (const p of taken) this.#refuse(p.from, toStoremeshError(err))
      return
    }
    if (r.to === r.from) return
    this.#counters.adopted += r.to - r.from
    this.#log.info({ from: r.from, to: r.to, files: taken.map(p => p.from) }, `root version ${r.from} -> ${r.to} from ${taken.map(p => p.from).join(', ')}`)
    this.#init.onAdopted?.(r.from, r.to)
  }

  #refuse (from: string, err: StoremeshError): void {
    const codes = this.#counters.refusedByCode
    const code = codes[err.code] !== undefined || Object.keys(codes).length < MAX_REFUSAL_CODES ? err.code : 'other'
    codes[code] = (codes[code] ?? 0) + 1
    this.#log.warn({ code: err.code, from }, `refused root ${from}: ${err.toLine()}`)
  }
}
