/**
 * The store hub's install leases (DESIGN.md section 4, protocols/lease/SPEC.md
 * "Semantics"): at most `maxConcurrentPerHub` leases at once, each alive for a TTL
 * unless renewed, one per device id (asking again returns the same lease), released
 * at the end of an install or freed by expiry when a device disappears.
 *
 * Pure bookkeeping with an injected clock; no network. Every decision is taken
 * synchronously, before any await, so two racing requests can never both take the
 * last slot. A change is written to the state file before its answer is returned, so a
 * restarted hub remembers every lease a device was told it holds until it expires.
 *
 * Expiry is lazy: every operation first drops leases whose time has passed. Nothing
 * needs a timer, and a hub whose clock jumped is corrected on its next request.
 */
import { randomBytes } from 'node:crypto'
import { StoremeshError } from '../interface/errors.js'
import { defaultLeaseTableOptions, MAX_LEASES, MAX_TRACKED_WAVES, MAX_WAVE_DEVICES, type LeaseTableOptions } from './constants.js'
import { loadLeaseState, saveLeaseState, LEASE_STATE_VERSION, type LeaseRecord, type LeaseState } from './lease-state-file.js'
import type { LeaseAuthority, LeaseContext, LeaseReason, LeaseRequest, LeaseResponse } from './protocol/index.js'

export type { LeaseRecord } from './lease-state-file.js'

export interface LeaseTableInit extends Partial<LeaseTableOptions> {
  /** persist to this file (e.g. `<dataDir>/leases.json`); absent: memory only */
  statePath?: string
  /** @default Date.now */
  now?: () => number
  /**
   * distinct devices granted a lease in a wave at most. Not the policy's `targets.hubBudget`
   * (stores installing at once, the control plane's batches: docs/fleet-waves.md); no
   * policy field feeds it today, so the store hub passes none.
   */
  waveBudget?: (waveId: string) => number | undefined
  /** for metrics, logs and tests; called synchronously, must not throw */
  onEvent?: (event: LeaseEvent) => void
  /** @default 16 random bytes, hex */
  newLeaseId?: () => string
}

export interface LeaseEvent {
  type: 'granted' | 'renewed' | 'released' | 'expired' | 'denied'
  deviceId: string
  leaseId?: string
  /** the answer's reason; `expired` for a lease the clock ended */
  reason: LeaseReason | 'expired'
  /** leases active after the event */
  active: number
  limit: number
  atMs: number
}

/** Who asks: the remote peer id when the request came over libp2p. */
/** How the table came up: `corrupt` means it is waiting out the longest lease. */
export interface LeaseTableRecovery {
  loaded: 'missing' | 'ok' | 'corrupt'
  /** leases restored that had not expired */
  restored: number
  /** leases in the file that had expired while the hub was down */
  expired: number
  detail?: string
}

interface WaveEntry { firstGrantMs: number, devices: Set<string> }

function clamp (x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x))
}

function checkLimit (n: number): number {
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_LEASES) {
    throw new StoremeshError('E_INVALID_ARGUMENT', `maxConcurrentPerHub must be an integer in [0, ${MAX_LEASES}], got ${n}`)
  }
  return n
}

export class LeaseTable implements LeaseAuthority {
  readonly #opts: LeaseTableOptions
  readonly #init: LeaseTableInit
  readonly #now: () => number
  readonly #leases = new Map<string, LeaseRecord>()
  readonly #waves = new Map<string, WaveEntry>()
  #blindUntilMs = 0
  #limit: number
  #gen = 0
  #savedGen = 0
  #saving: Promise<void> | undefined
  #closed = false
  recovery: LeaseTableRecovery = { loaded: 'missing', restored: 0, expired: 0 }

  /** Memory only, or call load() before use; `LeaseTable.open()` does both. */
  constructor (init: LeaseTableInit = {}) {
    this.#init = init
    const defined = Object.fromEntries(Object.entries(init).filter(([, v]) => v !== undefined))
    this.#opts = { ...defaultLeaseTableOptions, ...defined }
    if (!(this.#opts.minTtlMs > 0 && this.#opts.minTtlMs <= this.#opts.maxTtlMs)) {
      throw new StoremeshError('E_INVALID_ARGUMENT', `lease TTL bounds are inverted: min ${this.#opts.minTtlMs} ms, max ${this.#opts.maxTtlMs} ms`)
    }
    this.#limit = checkLimit(this.#opts.maxConcurrentPerHub)
    this.#now = init.now ?? Date.now
  }

  /** A table restored from `init.statePath` (when given). */
  static async open (init: LeaseTableInit = {}): Promise<LeaseTable> {
    const table = new LeaseTable(init)
    await table.load()
    return table
  }

  /** Restores the state file: expired leases are dropped, a corrupt file means wait out the longest lease. */
  async load (): Promise<LeaseTableRecovery> {
    const path = this.#init.statePath
    if (path === undefined) return this.recovery
    const now = this.#now()
    const r = await loadLeaseState(path, now)
    if (r.kind === 'missing') return this.recovery
    if (r.kind === 'corrupt') {
      // any lease granted before has expired by now + maxTtl: until then every slot may be taken
      this.#blindUntilMs = now + this.#opts.maxTtlMs
      this.recovery = { loaded: 'corrupt', restored: 0, expired: 0, detail: `${r.why}${r.movedTo !== undefined ? `; moved to ${r.movedTo}` : ''}` }
      await this.#save()
      return this.recovery
    }
    let expired = 0
    for (const l of r.state.leases) {
      if (l.expiresAtMs <= now) { expired++; continue }
      // a wall clock set back must not stretch a lease past what the hub ever grants
      this.#leases.set(l.deviceId, { ...l, expiresAtMs: Math.min(l.expiresAtMs, now + this.#opts.maxTtlMs) })
    }
    for (const w of r.state.waves) this.#waves.set(w.waveId, { firstGrantMs: w.firstGrantMs, devices: new Set(w.devices) })
    if (r.state.blindUntilMs !== undefined && r.state.blindUntilMs > now) {
      this.#blindUntilMs = Math.min(r.state.blindUntilMs, now + this.#opts.maxTtlMs)
    }
    this.recovery = { loaded: 'ok', restored: this.#leases.size, expired }
    if (expired > 0) await this.#save()
    return this.recovery
  }

  get limit (): number {
    return this.#limit
  }

  /** A new cap (a newer policy); leases above it stay until released or expired. */
  setLimit (maxConcurrentPerHub: number): void {
    this.#limit = checkLimit(maxConcurrentPerHub)
  }

  /** Active leases, after dropping the expired ones. */
  active (): LeaseRecord[] {
    this.sweep()
    return [...this.#leases.values()].map(l => ({ ...l }))
  }

  get activeCount (): number {
    this.sweep()
    return this.#leases.size
  }

  /** Devices granted a lease in a wave (what a wave budget counts). */
  waveDevices (waveId: string): number {
    return this.#waves.get(waveId)?.devices.size ?? 0
  }

  /** Drops expired leases; returns them. Persisted with the next change or flush(). */
  sweep (): LeaseRecord[] {
    const now = this.#now()
    const gone: LeaseRecord[] = []
    for (const [id, l] of this.#leases) {
      if (l.expiresAtMs > now) continue
      this.#leases.delete(id)
      gone.push(l)
      this.#emit('expired', l.deviceId, 'expired', l.leaseId)
    }
    if (gone.length > 0) this.#gen++
    return gone
  }

  async respond (req: LeaseRequest, ctx: LeaseContext = {}): Promise<LeaseResponse> {
    try {
      switch (req.op) {
        case 'acquire': return await this.acquire(req, ctx)
        case 'renew': return await this.renew(req, ctx)
        case 'release': return await this.release(req, ctx)
      }
    } catch (err) {
      // the grant may sit in memory unsaved: it counts against the cap until its TTL,
      // and the device's next acquire gets it back (idempotent)
      return this.#answer(false, 'hub-error', { detail: (err as Error).message })
    }
  }

  /** A lease for the device: its existing one (extended), a new one, or a denial. */
  async acquire (req: LeaseRequest, ctx: LeaseContext = {}): Promise<LeaseResponse> {
    this.#open()
    this.sweep()
    const held = this.#leases.get(req.deviceId)
    if (held !== undefined) {
      if (this.#otherPeer(held, ctx)) return this.#deny(req, 'wrong-peer', held.expiresAtMs - this.#now())
      return await this.#extend(held, req, 'existing')
    }
    const now = this.#now()
    if (this.#blindUntilMs > now) {
      return this.#deny(req, 'recovering', this.#blindUntilMs - now, 'lease table was lost; waiting out the longest lease')
    }
    if (!this.#waveAdmits(req)) return this.#deny(req, 'wave-budget', this.#opts.retryAfterMs)
    if (this.#leases.size >= this.#limit) {
      const soonest = Math.min(...[...this.#leases.values()].map(l => l.expiresAtMs), now + this.#opts.retryAfterMs)
      return this.#deny(req, 'cap-reached', soonest - now)
    }
    const ttlMs = this.#ttl(req)
    const lease: LeaseRecord = {
      leaseId: (this.#init.newLeaseId ?? (() => randomBytes(16).toString('hex')))(),
      deviceId: req.deviceId,
      bundleId: req.bundleId,
      waveId: req.waveId,
      grantedAtMs: now,
      expiresAtMs: now + ttlMs,
      renewals: 0
    }
    if (ctx.peer !== undefined) lease.peer = ctx.peer
    this.#leases.set(req.deviceId, lease)
    this.#recordWave(req, now)
    this.#gen++
    this.#emit('granted', req.deviceId, 'granted', lease.leaseId)
    await this.#saved(this.#gen)
    return this.#granted(lease, 'granted', ttlMs)
  }

  /**
   * Extends the device's lease. Never creates one: a renewal that arrives after its
   * lease expired or was released answers `not-held`, so a late or replayed renewal
   * cannot take a slot nobody will give back; the device asks with acquire.
   */
  async renew (req: LeaseRequest, ctx: LeaseContext = {}): Promise<LeaseResponse> {
    this.#open()
    this.sweep()
    const held = this.#leases.get(req.deviceId)
    if (held === undefined) return this.#answer(false, 'not-held')
    if (this.#otherPeer(held, ctx)) return this.#deny(req, 'wrong-peer', held.expiresAtMs - this.#now())
    return await this.#extend(held, req, 'renewed')
  }

  /** Frees the device's slot; releasing nothing is not an error (idempotent). */
  async release (req: LeaseRequest, ctx: LeaseContext = {}): Promise<LeaseResponse> {
    this.#open()
    this.sweep()
    const held = this.#leases.get(req.deviceId)
    if (held === undefined) return this.#answer(false, 'not-held')
    if (this.#otherPeer(held, ctx)) return this.#deny(req, 'wrong-peer', held.expiresAtMs - this.#now())
    this.#leases.delete(req.deviceId)
    this.#gen++
    this.#emit('released', req.deviceId, 'released', held.leaseId)
    await this.#saved(this.#gen)
    return this.#answer(false, 'released', { leaseId: held.leaseId })
  }

  /** Resolves when every change so far is on disk. */
  async flush (): Promise<void> {
    await this.#saved(this.#gen)
  }

  /** Flushes; later requests throw E_STORE_CLOSED. */
  async close (): Promise<void> {
    if (this.#closed) return
    await this.flush()
    this.#closed = true
  }

  #open (): void {
    if (this.#closed) throw new StoremeshError('E_STORE_CLOSED', 'lease table is closed')
  }

  #otherPeer (held: LeaseRecord, ctx: LeaseContext): boolean {
    return held.peer !== undefined && ctx.peer !== undefined && held.peer !== ctx.peer
  }

  #ttl (req: LeaseRequest): number {
    return clamp(req.ttlMs ?? this.#opts.defaultTtlMs, this.#opts.minTtlMs, this.#opts.maxTtlMs)
  }

  async #extend (held: LeaseRecord, req: LeaseRequest, reason: 'existing' | 'renewed'): Promise<LeaseResponse> {
    const now = this.#now()
    if (req.waveId !== held.waveId && !this.#waveAdmits(req)) return this.#deny(req, 'wave-budget', this.#opts.retryAfterMs)
    const ttlMs = this.#ttl(req)
    held.expiresAtMs = now + ttlMs
    held.bundleId = req.bundleId
    held.waveId = req.waveId
    held.renewals++
    this.#recordWave(req, now)
    this.#gen++
    this.#emit('renewed', req.deviceId, reason, held.leaseId)
    await this.#saved(this.#gen)
    return this.#granted(held, reason, ttlMs)
  }

  #waveAdmits (req: LeaseRequest): boolean {
    const budget = this.#init.waveBudget?.(req.waveId)
    const wave = this.#waves.get(req.waveId)
    if (wave?.devices.has(req.deviceId) === true) return true
    const count = wave?.devices.size ?? 0
    // a wave whose list is full admits no one new when it has a budget: it cannot count them
    if (budget !== undefined) return count < budget && count < MAX_WAVE_DEVICES
    return true
  }

  #recordWave (req: LeaseRequest, now: number): void {
    let wave = this.#waves.get(req.waveId)
    if (wave === undefined) {
      wave = { firstGrantMs: now, devices: new Set() }
      this.#waves.set(req.waveId, wave)
      while (this.#waves.size > MAX_TRACKED_WAVES) {
        const oldest = [...this.#waves.entries()].reduce((a, b) => (b[1].firstGrantMs < a[1].firstGrantMs ? b : a))
        this.#waves.delete(oldest[0])
      }
    }
    if (wave.devices.size < MAX_WAVE_DEVICES) wave.devices.add(req.deviceId)
  }

  /** `ttlMs` is the lifetime decided, counted from the decision (the device counts from its send). */
  #granted (l: LeaseRecord, reason: LeaseReason, ttlMs: number): LeaseResponse {
    return this.#answer(true, reason, { leaseId: l.leaseId, expiresAtMs: l.expiresAtMs, ttlMs })
  }

  #deny (req: LeaseRequest, reason: LeaseReason, retryAfterMs: number, detail?: string): LeaseResponse {
    this.#emit('denied', req.deviceId, reason)
    const retry = clamp(Math.ceil(retryAfterMs), this.#opts.minRetryAfterMs, Math.max(this.#opts.minRetryAfterMs, this.#opts.maxTtlMs))
    return this.#answer(false, reason, detail !== undefined ? { retryAfterMs: retry, detail } : { retryAfterMs: retry })
  }

  #answer (granted: boolean, reason: LeaseReason, extra: Partial<LeaseResponse> = {}): LeaseResponse {
    return { granted, ...extra, active: this.#leases.size, limit: this.#limit, reason }
  }

  #emit (type: LeaseEvent['type'], deviceId: string, reason: LeaseEvent['reason'], leaseId?: string): void {
    const e: LeaseEvent = { type, deviceId, reason, active: this.#leases.size, limit: this.#limit, atMs: this.#now() }
    if (leaseId !== undefined) e.leaseId = leaseId
    this.#init.onEvent?.(e)
  }

  #snapshot (): LeaseState {
    const state: LeaseState = {
      version: LEASE_STATE_VERSION,
      leases: [...this.#leases.values()].map(l => ({ ...l })),
      waves: [...this.#waves.entries()].map(([waveId, w]) => ({ waveId, firstGrantMs: w.firstGrantMs, devices: [...w.devices] }))
    }
    if (this.#blindUntilMs > this.#now()) state.blindUntilMs = this.#blindUntilMs
    return state
  }

  async #save (): Promise<void> {
    this.#gen++
    await this.#saved(this.#gen)
  }

  /**
   * Resolves once generation `gen` (or a later one) is on disk. Writes are serial and
   * coalesced: one write carries every change made while the previous one ran.
   */
  async #saved (gen: number): Promise<void> {
    const path = this.#init.statePath
    if (path === undefined) { this.#savedGen = this.#gen; return }
    while (this.#savedGen < gen) {
      if (this.#saving === undefined) {
        const writing = this.#gen
        this.#saving = saveLeaseState(path, this.#snapshot())
          .then(() => { this.#savedGen = Math.max(this.#savedGen, writing) })
          .finally(() => { this.#saving = undefined })
      }
      await this.#saving
    }
  }
}
