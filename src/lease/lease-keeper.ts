/**
 * The device side of `/storemesh/lease/1.0.0`: ask the store hub for an install slot,
 * keep it alive while installing (renew at TTL/3), give it back at the end, and say
 * at every moment what the policy's `hub.lease` gate should read (`facts()`, the shape
 * of DeviceFacts.lease).
 *
 * The keeper never stops an install. A hub that goes away mid-install only changes
 * what the keeper reports: `held` while the lease it was granted has time left on
 * the device's own clock, then `unreachable`. The installer finishes or rolls back
 * on its own (issue 5); the hub frees the slot when the TTL ends. `withLease()` makes
 * this explicit: the work it runs gets the caller's signal, never one tied to the lease.
 *
 * The device counts a lease from the moment it SENT the request, plus the granted
 * `ttlMs`, so its idea of the expiry is never later than the hub's (clocks differ).
 */
import type { DeviceFacts } from '../interface/types.js'
import { abortError, sleep } from '../interface/abort.js'
import { StoremeshError, isStoremeshError } from '../interface/errors.js'
import type { Log } from '../interface/log.js'
import { defaultLeaseKeeperOptions, DEFAULT_MIN_RETRY_AFTER_MS, MIN_RENEW_DELAY_MS, type LeaseKeeperOptions } from './constants.js'
import type { LeaseClient, LeaseOp, LeaseResponse, LeaseTarget } from './protocol/index.js'

/** What the `hub.lease` gate reads (DeviceFacts.lease). */
export type LeaseFacts = DeviceFacts['lease']

/** What a lease is for; sent with every request so the hub's ledger can name it. */
export interface LeaseRef {
  bundleId: string
  waveId: string
}

export interface LeaseKeeperInit extends Partial<LeaseKeeperOptions> {
  deviceId: string
  client: LeaseClient
  /** the store hub; a function when it may change (found again over mDNS) */
  hub: LeaseTarget | (() => LeaseTarget | undefined)
  /** @default Date.now */
  now?: () => number
  /** in [0, 1), for jitter. @default Math.random */
  random?: () => number
  /** every change of facts(); must not throw */
  onChange?: (facts: LeaseFacts) => void
  /** one line per notable event (renewal failed, lease lost); @default silent */
  log?: Log
}

export interface WaitForLeaseOptions {
  signal?: AbortSignal
  /** give up with E_LEASE_DENIED after this many denied or failed attempts. @default unbounded (use the signal) */
  maxAttempts?: number
}

interface Held {
  leaseId: string
  ttlMs: number
  /** device clock */
  expiresAtMs: number
}

export class LeaseKeeper {
  readonly #opts: LeaseKeeperOptions
  readonly #init: LeaseKeeperInit
  readonly #now: () => number
  readonly #random: () => number
  #facts: LeaseFacts = { state: 'none' }
  #reachable: boolean | undefined
  #held: Held | undefined
  #ref: LeaseRef | undefined
  #timer: ReturnType<typeof setTimeout> | undefined
  /** aborts the renewal in flight when release() or stop() takes over */
  #renewing: AbortController | undefined
  #renewal: Promise<void> | undefined
  /** a lease was granted and not yet released: an install may be running, keep one */
  #keep = false
  /** the TTL last granted, for retry timing once the lease is gone */
  #lastTtlMs = 0
  /** bumped by release() and stop(): an answer to an older exchange changes nothing */
  #epoch = 0
  #stopped = false

  constructor (init: LeaseKeeperInit) {
    this.#init = init
    const defined = Object.fromEntries(Object.entries(init).filter(([, v]) => v !== undefined))
    this.#opts = { ...defaultLeaseKeeperOptions, ...defined }
    this.#now = init.now ?? Date.now
    this.#random = init.random ?? Math.random
  }

  /** For DeviceFacts.lease; `expiresAtMs` is the device's own conservative count. */
  facts (): LeaseFacts {
    if (this.#facts.state === 'held' && this.#held !== undefined && this.#held.expiresAtMs <= this.#now()) {
      this.#set({ state: 'unreachable', detail: `lease ${this.#held.leaseId.slice(0, 8)} lapsed without a renewal; the hub frees the slot` })
    }
    return { ...this.#facts }
  }

  /** For DeviceFacts.hubReachable: the last exchange reached the hub (undefined: none yet). */
  hubReachable (): boolean | undefined {
    return this.#reachable
  }

  /** The lease id while one is held. */
  get leaseId (): string | undefined {
    return this.facts().state === 'held' ? this.#held?.leaseId : undefined
  }

  /**
   * One attempt. Never throws for the hub's answers or its absence: they become
   * facts (`held`, `denied` with retryAtMs, `unreachable`). Throws only E_ABORTED /
   * E_TIMEOUT when the caller's signal fired. A granted lease is renewed by itself
   * until release() or stop().
   */
  async acquire (ref: LeaseRef, options: { signal?: AbortSignal } = {}): Promise<LeaseFacts> {
    this.#live()
    this.#ref = ref
    await this.#exchange('acquire', options.signal)
    return this.facts()
  }

  /**
   * Asks until granted: after a denial it waits the hub's retryAfterMs plus jitter,
   * after a failure a growing back-off; both capped at maxRetryDelayMs. Throws
   * E_LEASE_DENIED after maxAttempts, E_ABORTED / E_TIMEOUT when the signal fires.
   */
  async waitForLease (ref: LeaseRef, options: WaitForLeaseOptions = {}): Promise<LeaseFacts> {
    const { signal, maxAttempts = Infinity } = options
    for (let attempt = 1; ; attempt++) {
      const f = await this.acquire(ref, { signal })
      if (f.state === 'held') return f
      if (attempt >= maxAttempts) {
        throw new StoremeshError('E_LEASE_DENIED', `no install lease after ${attempt} attempts: ${f.detail ?? f.state}`,
          { device: this.#init.deviceId, state: f.state, attempts: attempt })
      }
      const base = f.state === 'denied' && f.retryAtMs !== undefined
        ? Math.max(0, f.retryAtMs - this.#now())
        : DEFAULT_MIN_RETRY_AFTER_MS * 2 ** Math.min(attempt - 1, 16)
      try {
        await sleep(Math.min(this.#opts.maxRetryDelayMs, base), signal !== undefined ? { signal } : {})
      } catch {
        throw abortError(signal!, 'waiting for an install lease')
      }
    }
  }

  /**
   * Stops renewing and gives the slot back: one attempt within releaseTimeoutMs. Never
   * throws: a hub that does not answer frees the slot at expiry anyway.
   */
  async release (): Promise<void> {
    this.#epoch++
    this.#keep = false
    this.#cancelRenewal()
    await this.#renewal?.catch(() => {})
    const ref = this.#ref
    if (ref === undefined) return
    const had = this.#held
    this.#held = undefined
    try {
      const res = await this.#init.client.request(this.#target(), this.#request('release', ref), { timeoutMs: this.#opts.releaseTimeoutMs })
      this.#reachable = true
      this.#set({ state: 'none', ...(res.reason === 'wrong-peer' ? { detail: 'the hub says another peer holds this device id' } : {}) })
    } catch (err) {
      this.#reachable = !this.#unreachableError(err)
      this.#set({ state: 'none', detail: `release not confirmed (${this.#why(err)}); the hub frees the slot when the lease expires` })
      if (had !== undefined) this.#init.log?.warn(`lease ${had.leaseId.slice(0, 8)}: release failed: ${this.#why(err)}`)
    }
  }

  /**
   * Runs `work` under a lease: waits for one, keeps it renewed, releases it at the end
   * whatever happens. Losing the hub never aborts `work`: it gets only the caller's signal.
   */
  async withLease<T> (ref: LeaseRef, work: (signal?: AbortSignal) => Promise<T>, options: WaitForLeaseOptions = {}): Promise<T> {
    await this.waitForLease(ref, options)
    try {
      return await work(options.signal)
    } finally {
      await this.release()
    }
  }

  /** Stops timers and anything in flight, without a release (process shutdown). */
  async stop (): Promise<void> {
    this.#stopped = true
    this.#epoch++
    this.#keep = false
    this.#cancelRenewal()
    await this.#renewal?.catch(() => {})
  }

  #live (): void {
    if (this.#stopped) throw new StoremeshError('E_ABORTED', 'lease keeper is stopped')
  }

  #target (): LeaseTarget {
    const hub = typeof this.#init.hub === 'function' ? this.#init.hub() : this.#init.hub
    if (hub === undefined) throw new StoremeshError('E_NOT_CONNECTED', 'no store hub known yet')
    return hub
  }

  #request (op: LeaseOp, ref: LeaseRef): { op: LeaseOp, deviceId: string, bundleId: string, waveId: string, ttlMs: number } {
    return { op, deviceId: this.#init.deviceId, bundleId: ref.bundleId, waveId: ref.waveId, ttlMs: this.#opts.ttlMs }
  }

  #unreachableError (err: unknown): boolean {
    return !isStoremeshError(err, 'E_PEER_ERROR')
  }

  #why (err: unknown): string {
    return isStoremeshError(err) ? `${err.code} ${err.message}` : String(err)
  }

  /** One acquire or renew; the answer or the failure becomes facts and the next timer. */
  async #exchange (op: 'acquire' | 'renew', signal?: AbortSignal): Promise<void> {
    const ref = this.#ref!
    const epoch = this.#epoch
    const sentAtMs = this.#now()
    let res: LeaseResponse
    try {
      res = await this.#init.client.request(this.#target(), this.#request(op, ref), { timeoutMs: this.#opts.timeoutMs, signal })
    } catch (err) {
      if (signal?.aborted === true) throw abortError(signal, `lease ${op}`)
      if (epoch === this.#epoch) this.#failed(op, err)
      return
    }
    // released or stopped meanwhile: a late grant must not start renewing again
    if (epoch !== this.#epoch) return
    this.#reachable = true
    if (res.granted) {
      const ttlMs = res.ttlMs ?? 0
      if (this.#held !== undefined && this.#held.leaseId !== res.leaseId) {
        this.#init.log?.warn(`lease ${this.#held.leaseId.slice(0, 8)} was lost; the hub granted ${res.leaseId!.slice(0, 8)}`)
      }
      this.#held = { leaseId: res.leaseId!, ttlMs, expiresAtMs: sentAtMs + ttlMs }
      this.#keep = true
      this.#lastTtlMs = ttlMs
      this.#set({ state: 'held', expiresAtMs: this.#held.expiresAtMs, detail: `${res.active}/${res.limit} slots in use` })
      this.#schedule(ttlMs * this.#opts.renewFraction)
      return
    }
    // not-held: the hub no longer has it (expired, or restarted without it): ask again at once
    const retry = res.retryAfterMs ?? (res.reason === 'not-held' ? 0 : DEFAULT_MIN_RETRY_AFTER_MS)
    const jittered = Math.min(this.#opts.maxRetryDelayMs, Math.round(retry * (1 + this.#random() * this.#opts.retryJitterFraction)))
    const lost = this.#held !== undefined ? `lease lost during install (${res.reason}); ` : ''
    if (this.#held !== undefined) this.#init.log?.warn(`lease ${this.#held.leaseId.slice(0, 8)}: ${op} denied: ${res.reason}`)
    this.#held = undefined
    // the hub's detail says why (a hold's order, a wave gate): the device's `hub.lease` gate shows it
    const why = res.detail !== undefined && res.detail !== '' ? res.detail : `${res.active}/${res.limit} slots in use`
    const hold = res.reason === 'wave-held' ? waveHoldCode(res.detail) : undefined
    this.#set({ state: 'denied', retryAtMs: this.#now() + jittered, detail: `${lost}${res.reason}: ${why}`, ...(hold !== undefined ? { hold } : {}) })
    // while installing, keep asking: a slot that frees up lets the device hold one again
    if (this.#keep) this.#schedule(jittered)
  }

  #failed (op: string, err: unknown): void {
    const reachable = !this.#unreachableError(err)
    this.#reachable = reachable
    const held = this.#held
    const why = this.#why(err)
    if (held !== undefined && held.expiresAtMs > this.#now()) {
      // the slot is still ours on the hub's books: keep reporting it, try again sooner
      this.#init.log?.warn(`lease ${held.leaseId.slice(0, 8)}: ${op} failed: ${why}`)
      this.#set({ state: 'held', expiresAtMs: held.expiresAtMs, detail: `renewal failed (${why}); held until it expires` })
      this.#schedule(held.ttlMs * this.#opts.renewRetryFraction)
      return
    }
    if (held !== undefined) {
      this.#set({ state: 'unreachable', detail: `lease lapsed while the hub did not answer (${why}); the install goes on alone` })
      this.#schedule(held.ttlMs * this.#opts.renewRetryFraction)
      return
    }
    if (reachable) this.#set({ state: 'denied', retryAtMs: this.#now() + DEFAULT_MIN_RETRY_AFTER_MS, detail: why })
    else this.#set({ state: 'unreachable', detail: why })
    if (this.#keep) this.#schedule(this.#lastTtlMs * this.#opts.renewRetryFraction)
  }

  #schedule (delayMs: number): void {
    if (this.#stopped) return
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      const ctl = new AbortController()
      this.#renewing = ctl
      // renew never creates a lease on the hub: after losing it, ask anew
      this.#renewal = this.#exchange(this.#held !== undefined ? 'renew' : 'acquire', ctl.signal)
        .catch(() => { /* aborted by release() or stop() */ })
        .finally(() => { if (this.#renewing === ctl) this.#renewing = undefined })
    }, Math.max(MIN_RENEW_DELAY_MS, Math.round(delayMs)))
    // a keeper alone must not keep a process alive
    this.#timer.unref?.()
  }

  #cancelRenewal (): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#renewing?.abort(new DOMException('lease renewal cancelled', 'AbortError'))
  }

  #set (facts: LeaseFacts): void {
    this.#facts = facts
    this.#init.onChange?.({ ...facts })
  }
}

/** A hold's code is the first word of a `wave-held` answer's detail (lease/wave-gated.ts: `<code>: <detail>`). */
const HOLD_CODE_RE = /^([a-z][a-z0-9-]*\.[a-z0-9.-]{1,48}):/

export function waveHoldCode (detail: string | undefined): string | undefined {
  return detail === undefined ? undefined : HOLD_CODE_RE.exec(detail)?.[1]
}
