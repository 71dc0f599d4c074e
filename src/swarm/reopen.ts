/**
 * When to open the chunk stream of a bundle to a connected peer again.
 *
 * A stream is opened when a bundle is joined and when a peer connects (the registrar
 * topology). Both fire once. A wire that dies while its connection stays up — a
 * handshake slower than the timeout on a starved machine, a reset stream, the remote
 * had not joined the bundle yet — was never opened again, so two peers that stay
 * connected could stop exchanging a bundle for good (the N=16 bench stall: devices cut
 * off from the few peers that held their last chunks). The protocol now sweeps its
 * connections and re-opens what is missing, with an exponential back-off per
 * (bundle, peer) so that a peer that does not serve the bundle costs one stream open
 * per `maxMs`, and a wire that came up resets the back-off.
 *
 * Except after a violation: a peer that sent wrong-length pieces had its stream
 * re-opened 30-85 times a minute, because each wire came up (reset) before it
 * misbehaved again. A violation counts as an attempt, and until `quietMs` passed
 * since the last one a wire that comes up does not reset the back-off; `held()` tells
 * the other open paths (a reconnect's onConnect) to wait for it too.
 *
 * No timers and no I/O: the caller passes the clock.
 */
import { DEFAULT_VIOLATION_QUIET_MS } from './constants.js'

export interface ReopenBackoffInit {
  /** first retry after this long @default DEFAULT_REOPEN_MIN_MS */
  minMs: number
  /** retries never further apart than this @default DEFAULT_REOPEN_MAX_MS */
  maxMs: number
  /** a violation holds the back-off this long @default DEFAULT_VIOLATION_QUIET_MS */
  quietMs?: number
}

interface Entry { attempts: number, nextMs: number, violationMs?: number }

export class ReopenBackoff {
  readonly #init: ReopenBackoffInit
  readonly #quietMs: number
  readonly #entries = new Map<string, Entry>()

  constructor (init: ReopenBackoffInit) {
    this.#init = init
    this.#quietMs = init.quietMs ?? DEFAULT_VIOLATION_QUIET_MS
  }

  /** May we try `key` now? */
  due (key: string, nowMs: number): boolean {
    const e = this.#entries.get(key)
    return e === undefined || nowMs >= e.nextMs
  }

  /** An open was attempted: the next one waits minMs, then twice as long each time, up to maxMs. */
  attempted (key: string, nowMs: number): void {
    const e = this.#entries.get(key)
    const attempts = (e?.attempts ?? 0) + 1
    const waitMs = Math.min(this.#init.maxMs, this.#init.minMs * 2 ** (attempts - 1))
    this.#entries.set(key, { attempts, nextMs: nowMs + waitMs, ...(e?.violationMs !== undefined ? { violationMs: e.violationMs } : {}) })
  }

  /** The wire closed for a protocol violation: one more step up the back-off, held for quietMs. */
  violated (key: string, nowMs: number): void {
    this.attempted(key, nowMs)
    const e = this.#entries.get(key) as Entry
    e.violationMs = nowMs
  }

  /** A violation within quietMs and the back-off not yet due: no path should open a stream now. */
  held (key: string, nowMs: number): boolean {
    const e = this.#entries.get(key)
    return e?.violationMs !== undefined && nowMs - e.violationMs < this.#quietMs && nowMs < e.nextMs
  }

  /**
   * The wire came up: the next loss is retried soon again, unless the peer violated
   * the protocol within quietMs (without `nowMs`, such a peer is never reset).
   */
  succeeded (key: string, nowMs?: number): void {
    const v = this.#entries.get(key)?.violationMs
    if (v !== undefined && (nowMs === undefined || nowMs - v < this.#quietMs)) return
    this.#entries.delete(key)
  }

  /** When `key` may be tried next (now when it has no entry). */
  nextMs (key: string, nowMs: number): number {
    return this.#entries.get(key)?.nextMs ?? nowMs
  }

  /** Forgets every key with this prefix (a bundle left, a peer gone). */
  forget (prefix: string): void {
    for (const k of [...this.#entries.keys()]) if (k.startsWith(prefix)) this.#entries.delete(k)
  }

  get size (): number {
    return this.#entries.size
  }
}
