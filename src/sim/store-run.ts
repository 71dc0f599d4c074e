/**
 * One store on simulated time: once a wave orders pre-staging, its hub pulls the bundle
 * over the WAN (a WanFluid flow switched by the product's schedule in the store's zone,
 * outages and crashes), seeds
 * the LAN once it holds the bundle (full fidelity or drawn, lan-sampler.ts), grants
 * install leases from the product's LeaseTable on simulated time, and reports its
 * devices' outcomes to the super hub whenever the WAN and both hubs are up, taking the
 * super hub's orders (pre-stage, classes whose wave started the store, classes halted)
 * back down (fleet-waves.ts).
 */
import { LeaseTable } from '../lease/lease-table.js'
import { rateAt, singleWindowSchedule, type Schedule } from '../wan/schedule.js'
import { DeviceRun, type DeviceHost } from './device-run.js'
import type { EventQueue } from './event-queue.js'
import type { SimStore } from './fleet-setup.js'
import type { LanOutcome } from './lan-sampler.js'
import type { SimParams } from './params.js'
import type { Rollouts } from './sim-policy.js'
import type { Flow, WanFluid } from './wan-fluid.js'
import type { Decision } from '../interface/types.js'
import type { StoreOrders } from './fleet-waves.js'

const MINUTE_MS = 60_000
const LEASE_TTL_MS = 30 * MINUTE_MS

export interface FleetHost {
  q: EventQueue
  p: SimParams
  rollouts: Rollouts
  wan: WanFluid
  badClasses: ReadonlySet<string>
  superHubUp: () => boolean
  /** delivers outcomes (and the bundle pre-staged, once), returns the orders in force */
  report: (store: StoreRun, outcomes: DeviceRun[], prestaged: boolean) => StoreOrders
  lan: (store: SimStore) => LanOutcome
  onEvaluated: (dev: DeviceRun, d: Decision) => void
  onOutcome: (dev: DeviceRun) => void
  startMs: number
  /** time zone -> WAN window edges over the horizon (shared by every store in the zone) */
  edges: (timezone: string) => number[]
}

export class StoreRun {
  readonly devices: DeviceRun[]
  readonly leases: LeaseTable
  readonly flow: Flow
  readonly schedule: Schedule
  hubDoneMs = Infinity
  lan: LanOutcome | undefined
  lanDoneMs = Infinity
  hubUp = true
  inOutage = false
  windowOpen = false
  orders: StoreOrders = { prestage: false, admitted: new Set(), halted: new Set() }
  #prestagedToReport = false
  readonly #unreported: DeviceRun[] = []
  readonly #leaseWaiters: DeviceRun[] = []
  #granted = false
  reportsSent = 0

  constructor (readonly store: SimStore, readonly fleet: FleetHost) {
    const { p } = fleet
    this.schedule = singleWindowSchedule({ window: p.wanWindow, rate: Math.round(store.wanBps), timezone: store.timezone })
    this.leases = new LeaseTable({
      maxConcurrentPerHub: p.maxConcurrentPerHub,
      now: fleet.q.now,
      newLeaseId: () => `lease-${store.index}-${fleet.q.processed}`,
      onEvent: e => { if (e.type === 'granted' || e.reason === 'existing') this.#granted = true }
    })
    const bundleBytes = Math.round(p.bundleMiB * 1024 * 1024)
    this.flow = fleet.wan.add(bundleBytes, store.wanBps, () => { this.#hubComplete() })
    // one host per class, shared by the store's devices of that class (it depends on
    // nothing else): a host per device was a fifth of the fleet's memory at 500,000 devices
    const hosts = new Map<string, DeviceHost>()
    this.devices = store.devices.map(d => {
      let h = hosts.get(d.cls.name)
      if (h === undefined) hosts.set(d.cls.name, h = this.#deviceHost(d.cls.name, bundleBytes))
      return new DeviceRun(d, h)
    })
  }

  start (): void {
    const { q } = this.fleet
    const now = q.nowMs()
    this.windowOpen = rateAt(this.schedule, now) > 0
    for (const e of this.fleet.edges(this.store.timezone)) {
      if (e > now) q.at(e, () => { this.windowOpen = rateAt(this.schedule, q.nowMs()) > 0; this.#updateFlow() })
    }
    for (const [a, b] of this.store.outages) {
      q.at(a, () => { this.inOutage = true; this.#updateFlow() })
      q.at(b, () => { this.inOutage = false; this.#updateFlow() })
    }
    if (this.store.hubCrashMs !== undefined) {
      q.at(this.store.hubCrashMs, () => { this.hubUp = false; this.#updateFlow() })
      q.at(this.store.hubCrashMs + this.fleet.p.hubDownMinutes * MINUTE_MS, () => {
        this.hubUp = true
        this.#updateFlow()
        for (const d of this.devices) d.wake()
      })
    }
    this.#updateFlow()
    this.#report()
  }

  get wanUp (): boolean {
    return this.hubUp && !this.inOutage && this.fleet.superHubUp()
  }

  /** The super hub came back: the flow may run again. */
  superHubChanged (): void {
    this.#updateFlow()
  }

  #updateFlow (): void {
    this.fleet.wan.set(this.flow, this.orders.prestage && this.windowOpen && this.hubUp && !this.inOutage)
  }

  #hubComplete (): void {
    const { q, p } = this.fleet
    this.hubDoneMs = q.nowMs()
    this.#prestagedToReport = true
    const lan = this.fleet.lan(this.store)
    this.lan = lan
    // a hub crash while the LAN is seeded stalls it for the restart
    const crash = this.store.hubCrashMs
    const stall = crash !== undefined && crash >= this.hubDoneMs && crash < this.hubDoneMs + lan.makespanMs ? p.hubDownMinutes * MINUTE_MS : 0
    this.lanDoneMs = this.hubDoneMs + lan.makespanMs + stall
    this.devices.forEach((d, i) => {
      const at = this.hubDoneMs + (lan.doneMs[i] ?? lan.makespanMs) + stall
      q.at(at, () => { d.bundleArrived(at) })
    })
  }

  #deviceHost (cls: string, bundleBytes: number): DeviceHost {
    const { q, p } = this.fleet
    return {
      nowMs: q.now,
      at: (ms, fn) => q.at(ms, fn),
      rollout: this.fleet.rollouts.get(cls, this.store.timezone),
      orders: () => ({ admitted: this.orders.admitted.has(cls), halted: this.orders.halted.has(cls) }),
      hubUp: () => this.hubUp,
      acquireLease: dev => this.#acquire(dev),
      releaseLease: dev => { this.#release(dev) },
      badBundle: this.fleet.badClasses.has(cls),
      bundleBytes,
      diskWriteBps: p.diskWriteMiBps * 1024 * 1024,
      bootMs: p.bootSeconds * 1000,
      healthMs: p.healthSeconds * 1000,
      minBattery: p.minBattery,
      chargePctPerHour: p.chargePctPerHour,
      startMs: this.fleet.startMs,
      onEvaluated: this.fleet.onEvaluated,
      onOutcome: dev => { this.#unreported.push(dev); this.fleet.onOutcome(dev); this.#wakeWaiter() }
    }
  }

  /**
   * The LeaseTable decides (synchronously, before its first await; its events say how).
   * A device denied waits for a release instead of polling: the product's device asks
   * again after retryAfterMs, the soonest lease expiry, which a release brings forward.
   */
  #acquire (dev: DeviceRun): boolean {
    this.#granted = false
    void this.leases.acquire({ op: 'acquire', deviceId: dev.dev.id, bundleId: dev.host.rollout.bundleId, waveId: dev.host.rollout.policy.metadata.name, ttlMs: LEASE_TTL_MS })
    if (this.#granted) return true
    if (!this.#leaseWaiters.includes(dev)) this.#leaseWaiters.push(dev)
    return false
  }

  #release (dev: DeviceRun): void {
    void this.leases.release({ op: 'release', deviceId: dev.dev.id, bundleId: dev.host.rollout.bundleId, waveId: dev.host.rollout.policy.metadata.name })
  }

  /** A slot may be free: the first waiter asks again (and, if it no longer wants one, the next). */
  #wakeWaiter (): void {
    const w = this.#leaseWaiters.shift()
    if (w === undefined) return
    this.fleet.q.at(this.fleet.q.nowMs(), () => {
      w.decide()
      if (!w.leaseHeld && w.state === 'idle' && !this.#leaseWaiters.includes(w)) this.#wakeWaiter()
    })
  }

  /** Reports go up and orders come down every reportIntervalMinutes while the WAN is up. */
  #report (): void {
    const { q, p } = this.fleet
    if (this.wanUp) {
      const batch = this.#unreported.splice(0)
      const before = this.orders
      this.orders = this.fleet.report(this, batch, this.#prestagedToReport)
      this.#prestagedToReport = false
      this.reportsSent++
      if (this.orders.prestage !== before.prestage) this.#updateFlow()
      // a device polls its orders; only one whose decision waits on them can decide otherwise
      // (evaluate() is pure and every other wait already has its timer)
      const { admitted, halted } = this.orders
      if (admitted !== before.admitted || halted !== before.halted) {
        for (const d of this.devices) {
          const c = d.dev.cls.name
          if ((admitted.has(c) && !before.admitted.has(c) && d.decidingGate === 'wave.paused') || (halted.has(c) && !before.halted.has(c))) d.wake()
        }
      }
    }
    if (this.devices.every(d => d.terminal) && this.#unreported.length === 0 && !this.#prestagedToReport) return
    q.at(q.nowMs() + p.reportIntervalMinutes * MINUTE_MS, () => { this.#report() })
  }
}
