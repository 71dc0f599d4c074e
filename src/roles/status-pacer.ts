/**
 * When a peer looks at its status snapshot (issue #19). Building the snapshot costs
 * about a millisecond of CPU (store stats, swarm progress, a stat of timestamp.json,
 * one JSON text to compare), so a steady tick every few seconds was a visible part of
 * an idle agent's 0.2%-of-a-core budget even when nothing was written. The pacer
 * ticks at `baseMs` while the snapshot changes; after IDLE_TICKS_BEFORE_BACKOFF
 * unchanged ticks each wait doubles, up to `maxMs`. `poke()` (a connection, a peer
 * joining a swarm, a chunk, a ban) brings the next look back within `baseMs`, so a
 * change after a long idle spell is seen as soon as when busy.
 *
 * The clock is injected so the back-off is tested without waiting.
 */

export interface PacerClock {
  now: () => number
  setTimeout: (fn: () => void, ms: number) => { unref?: () => void }
  clearTimeout: (t: unknown) => void
}

export const SYSTEM_CLOCK: PacerClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: t => { clearTimeout(t as NodeJS.Timeout) }
}

/** unchanged looks at the base pace before the waits start to double */
export const IDLE_TICKS_BEFORE_BACKOFF = 2
/**
 * The longest wait between looks at an unchanged snapshot: a change nobody poked (a
 * pin, the hub's rollout figures, a trust file) is seen this late at worst. At most
 * STATUS_IDLE_FACTOR base intervals, so a peer run with a short interval (tests: 300 ms)
 * stays as fresh as its caller expects.
 */
export const DEFAULT_STATUS_IDLE_MAX_MS = 60_000
export const STATUS_IDLE_FACTOR = 20

export interface StatusPacerInit {
  baseMs: number
  /** @default min(DEFAULT_STATUS_IDLE_MAX_MS, STATUS_IDLE_FACTOR x baseMs), never below baseMs */
  maxMs?: number
  /** looks at the snapshot; resolves true when it changed (and was written) */
  tick: () => Promise<boolean>
  clock?: PacerClock
}

export class StatusPacer {
  readonly #init: StatusPacerInit
  readonly #clock: PacerClock
  readonly #maxMs: number
  #delayMs: number
  #unchanged = 0
  #timer: unknown
  /** when the armed timer fires (clock ms) */
  #dueAt = 0
  #running = false
  #stopped = true

  constructor (init: StatusPacerInit) {
    this.#init = init
    this.#clock = init.clock ?? SYSTEM_CLOCK
    this.#maxMs = Math.max(init.baseMs, init.maxMs ?? Math.min(DEFAULT_STATUS_IDLE_MAX_MS, STATUS_IDLE_FACTOR * init.baseMs))
    this.#delayMs = init.baseMs
  }

  /** the wait before the next look, as things stand (ms) */
  get delayMs (): number { return this.#delayMs }

  start (): void {
    if (!this.#stopped) return
    this.#stopped = false
    this.#arm(this.#delayMs)
  }

  stop (): void {
    this.#stopped = true
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer)
    this.#timer = undefined
  }

  /** Something changed or is about to: look again within the base interval. */
  poke (): void {
    this.#unchanged = 0
    this.#delayMs = this.#init.baseMs
    if (this.#stopped || this.#running) return
    if (this.#dueAt - this.#clock.now() > this.#init.baseMs) this.#arm(this.#init.baseMs)
  }

  #arm (ms: number): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer)
    this.#dueAt = this.#clock.now() + ms
    const t = this.#clock.setTimeout(() => { void this.#fire() }, ms)
    t.unref?.()
    this.#timer = t
  }

  async #fire (): Promise<void> {
    this.#timer = undefined
    if (this.#stopped) return
    this.#running = true
    let changed = true
    try {
      changed = await this.#init.tick()
    } catch {
      // the tick logs its own failures; look again at the base pace
    } finally {
      this.#running = false
    }
    if (changed) {
      this.#unchanged = 0
      this.#delayMs = this.#init.baseMs
    } else if (++this.#unchanged >= IDLE_TICKS_BEFORE_BACKOFF) {
      this.#delayMs = Math.min(this.#maxMs, this.#delayMs * 2)
    }
    if (!this.#stopped) this.#arm(this.#delayMs)
  }
}

/** The node's connection events (a peer coming or going changes `connections`). */
export function pokeOnChanges (node: { addEventListener: (type: 'connection:open' | 'connection:close', fn: () => void) => void },
  bans: { on: (type: 'ban', fn: () => void) => unknown }, poke: () => void): void {
  node.addEventListener('connection:open', poke)
  node.addEventListener('connection:close', poke)
  bans.on('ban', poke)
}

/** A swarm's peers, chunks and end change its progress figures. */
export function watchSwarmChanges (swarm: { on: (type: 'peer:add' | 'peer:remove' | 'chunk' | 'done' | 'warning', fn: () => void) => unknown }, poke: () => void): void {
  // a warning is a store failure: a full disk shows as store.paused
  for (const type of ['peer:add', 'peer:remove', 'chunk', 'done', 'warning'] as const) swarm.on(type, poke)
}
