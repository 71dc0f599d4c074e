/**
 * One device on simulated time: it asks the product's policy engine (evaluate()) when
 * its facts change or its decision's nextCheckAt comes, asks its store's LeaseTable for
 * an install slot when the lease is all that is missing, and installs through the
 * installer's transition table (src/install/state-machine.ts nextState: an illegal
 * move throws, as in the product). Power loss mid-install fires the table's `resume`
 * row; a bad bundle fails the trial health check and rolls back.
 *
 * Durations (write, verify, reboot, health) are the model's; what follows what is the
 * product's. The active slot is never a write target (the table has no such row), so
 * a device that loses power anywhere still boots one good slot: `bricked` counts
 * devices left in neither slot, which this model can only reach through a table bug.
 */
import type { Decision, DeviceFacts } from '../interface/types.js'
import { decidingGates, waitsOnlyForLease } from '../policy/index.js'
import { nextState, type InstallEvent, type InstallState, TERMINAL_STATES } from '../install/state-machine.js'
import type { SimDevice } from './fleet-setup.js'
import { evaluate, FROM_VERSION, TO_VERSION, type ClassRollout } from './sim-policy.js'

const MINUTE_MS = 60_000
const HOUR_MS = 3_600_000
const MAX_BOOT_ATTEMPTS = 3

export type Outcome = 'committed' | 'rolled-back' | 'refused' | 'failed'

/** What a device needs of its store and the fleet. */
export interface DeviceHost {
  nowMs: () => number
  at: (ms: number, fn: () => void) => () => void
  rollout: ClassRollout
  /** the store's last orders: wave admitted, class halted */
  orders: () => { admitted: boolean, halted: boolean }
  hubUp: () => boolean
  /** true: granted now; false: queued, woken by a release */
  acquireLease: (dev: DeviceRun) => boolean
  releaseLease: (dev: DeviceRun) => void
  /** the bundle for this class fails its health check */
  badBundle: boolean
  bundleBytes: number
  diskWriteBps: number
  bootMs: number
  healthMs: number
  minBattery: number
  chargePctPerHour: number
  startMs: number
  onEvaluated: (dev: DeviceRun, d: Decision) => void
  onOutcome: (dev: DeviceRun) => void
}

export class DeviceRun {
  state: InstallState = 'idle'
  outcome: Outcome | undefined
  /** the deciding gate of the last decision that was not install (or 'install') */
  decidingGate = 'bundle.complete'
  bundleAtMs = Infinity
  doneMs = Infinity
  leaseHeld = false
  bootAttempts = 0
  powerLosses = 0
  evaluations = 0
  #timer: (() => void) | undefined
  #installStartMs = 0
  #powerLossMs = Infinity

  constructor (readonly dev: SimDevice, readonly host: DeviceHost) {}

  get terminal (): boolean {
    return this.outcome !== undefined
  }

  get bricked (): boolean {
    return this.outcome !== undefined && !TERMINAL_STATES.includes(this.state)
  }

  batteryAt (nowMs: number): number | undefined {
    const b = this.dev.batteryPct
    if (b === undefined) return undefined
    return Math.min(100, Math.floor(b + this.host.chargePctPerHour * (nowMs - this.host.startMs) / HOUR_MS))
  }

  bundleArrived (atMs: number): void {
    this.bundleAtMs = atMs
    this.wake()
  }

  /** Facts changed (orders, a lease slot freed): decide again now. */
  wake (): void {
    if (this.terminal || this.state !== 'idle') return
    this.#schedule(this.host.nowMs())
  }

  facts (nowMs: number): DeviceFacts {
    const b = this.batteryAt(nowMs)
    const orders = this.host.orders()
    const complete = nowMs >= this.bundleAtMs
    return {
      deviceId: this.dev.id,
      deviceClass: this.dev.cls.name,
      labels: {},
      installedVersion: FROM_VERSION,
      ...(b !== undefined ? { batteryPercent: b } : { onMains: true }),
      slotCount: 2,
      bundle: { complete, verified: complete },
      manifestSignature: { ok: true, detail: 'simulated: signature checked' },
      probes: {},
      lease: this.leaseHeld ? { state: 'held' } : { state: 'none' },
      hubReachable: this.host.hubUp(),
      fleet: orders.halted ? { halted: true, reason: 'rollback ratio over the threshold' } : orders.admitted ? {} : { paused: true, reason: 'wave not open' },
      install: { phase: this.state === 'failed' ? 'idle' : this.state },
      health: { state: 'unknown' },
      holds: [],
      factErrors: {}
    }
  }

  #schedule (atMs: number): void {
    this.#timer?.()
    this.#timer = this.host.at(atMs, () => { this.#timer = undefined; this.decide() })
  }

  decide (): void {
    if (this.terminal || this.state !== 'idle') return
    const now = this.host.nowMs()
    const d = evaluate(this.host.rollout.policy, this.host.rollout.manifest, this.facts(now), now)
    this.evaluations++
    this.host.onEvaluated(this, d)
    if (d.verdict === 'install') {
      this.decidingGate = 'install'
      this.#install()
      return
    }
    const deciding = decidingGates(d)
    // a halt or a closed wave outranks the clock: it is why the device waits at all
    this.decidingGate = (deciding.find(g => g.gate === 'fleet.halt') ?? deciding.find(g => g.gate === 'wave.paused') ?? deciding[0])?.gate ?? d.verdict
    if (d.verdict === 'refuse' || d.verdict === 'idle' || d.verdict === 'rollback') {
      this.#finish('refused')
      return
    }
    if (waitsOnlyForLease(d)) {
      if (!this.host.hubUp()) { this.#schedule(now + MINUTE_MS); return }
      if (this.host.acquireLease(this)) { this.leaseHeld = true; this.decide() }
      return
    }
    // wait for the clock (window, battery) or for new orders (the hub wakes us)
    let next = d.nextCheckAt ?? Infinity
    if (this.decidingGate === 'device.battery') next = Math.max(next, this.#batteryReadyMs(now))
    if (this.decidingGate === 'wave.paused' || this.decidingGate === 'fleet.halt' || this.decidingGate === 'bundle.complete') next = Infinity
    if (Number.isFinite(next)) this.#schedule(Math.max(next, now + MINUTE_MS))
  }

  #batteryReadyMs (now: number): number {
    const b = this.batteryAt(now) ?? 100
    if (this.host.chargePctPerHour <= 0) return Infinity
    return now + Math.max(1, this.host.minBattery - b) / this.host.chargePctPerHour * HOUR_MS
  }

  // ---- the install, through the transition table ---------------------------------

  #step (event: InstallEvent): void {
    this.state = nextState(this.state, event)
  }

  #install (): void {
    const now = this.host.nowMs()
    this.#installStartMs = now
    const total = this.#writeMs() + this.#verifyMs() + this.host.bootMs + this.host.healthMs
    this.#powerLossMs = this.dev.powerLossAt !== undefined && this.powerLosses === 0 ? now + this.dev.powerLossAt * total : Infinity
    this.#step('stage')
    this.#phase('write-start', 0)
  }

  #writeMs (): number { return 1000 * this.host.bundleBytes / this.host.diskWriteBps }
  #verifyMs (): number { return 500 * this.host.bundleBytes / this.host.diskWriteBps }

  /** Takes `event` now, then runs the new state's step for `ms` (unless power is lost during it). */
  #phase (event: InstallEvent, delayMs: number): void {
    const at = this.host.nowMs() + delayMs
    if (at > this.#powerLossMs) {
      const lossAt = this.#powerLossMs
      this.#powerLossMs = Infinity
      this.host.at(lossAt, () => { this.#powerLost() })
      return
    }
    this.host.at(at, () => { this.#step(event); this.#run() })
  }

  /** The work of the state just entered. */
  #run (): void {
    switch (this.state) {
      case 'writing': this.#phase('write-done', this.#writeMs()); return
      case 'written': this.#phase('verify-ok', this.#verifyMs()); return
      case 'verified': this.#phase('arm', 0); return
      case 'try-boot':
        this.bootAttempts++
        if (this.bootAttempts > MAX_BOOT_ATTEMPTS) { this.#step('attempts-exceeded'); this.#rolledBack(); return }
        this.#phase('boot-new', this.host.bootMs)
        return
      case 'booted-trial':
        this.#phase(this.host.badBundle ? 'health-failed' : 'health-ok', this.host.healthMs)
        return
      case 'committed': this.#finish('committed'); return
      case 'rolled-back': this.#rolledBack(); return
      default:
    }
  }

  /** Power comes back after a reboot: the table's `resume` row says where the install stands. */
  #powerLost (): void {
    this.powerLosses++
    this.host.at(this.host.nowMs() + this.host.bootMs, () => {
      this.#step('resume')
      if (this.state === 'staged') this.#phase('write-start', 0)
      else this.#run()
    })
  }

  #rolledBack (): void {
    // back on the old slot: one more reboot before the device is in service
    this.host.at(this.host.nowMs() + this.host.bootMs, () => { this.#finish('rolled-back') })
  }

  #finish (o: Outcome): void {
    this.outcome = o
    this.doneMs = this.host.nowMs()
    if (this.leaseHeld) { this.leaseHeld = false; this.host.releaseLease(this) }
    this.host.onOutcome(this)
  }

  /** install duration so far (for reports) */
  get installMs (): number {
    return this.doneMs - this.#installStartMs
  }
}

export { TO_VERSION }
