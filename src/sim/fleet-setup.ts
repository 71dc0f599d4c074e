/**
 * Draws the fleet from the parameters: stores with a time zone, a WAN rate, outages,
 * a crash or not, and devices with a class and a battery. Each store draws
 * from its own forked stream, so store 17 is the same store whatever the fleet size.
 */
import { derived, parseZones, type SimParams } from './params.js'
import { Rng } from './rng.js'

const MiB = 1024 * 1024
const HOUR_MS = 3600_000

export interface DeviceClassSpec {
  name: string
  upBps: number
  downBps: number
  battery: boolean
}

/**
 * Device classes: LAN upload and download per class (assumed: a POS terminal and a
 * kiosk on 100 Mbit/s Ethernet, a handheld scanner on Wi-Fi, on battery).
 */
export const DEVICE_CLASSES: readonly DeviceClassSpec[] = [
  { name: 'kiosk', upBps: 8 * MiB, downBps: 11 * MiB, battery: false },
  { name: 'scanner', upBps: 1 * MiB, downBps: 3 * MiB, battery: true },
  { name: 'pos', upBps: 4 * MiB, downBps: 11 * MiB, battery: false }
]

export interface SimDevice {
  store: number
  index: number
  id: string
  cls: DeviceClassSpec
  batteryPct: number | undefined
  /** this install loses power once, at this share of its way through (undefined: never) */
  powerLossAt: number | undefined
}

export interface SimStore {
  index: number
  id: string
  timezone: string
  wanBps: number
  /** [start, end) ms of each WAN outage */
  outages: Array<[number, number]>
  /** the store hub crashes at this ms (undefined: never) */
  hubCrashMs: number | undefined
  hasCorruptPeer: boolean
  devices: SimDevice[]
  rng: Rng
}

/** The classes whose bundle fails its health check: the first round(share x classes). */
export function badClasses (p: SimParams): Set<string> {
  const k = Math.round(p.badBundleClassShare * DEVICE_CLASSES.length)
  return new Set(DEVICE_CLASSES.slice(0, k).map(c => c.name))
}

export function classShares (p: SimParams): Array<{ weight: number, value: DeviceClassSpec }> {
  const [kiosk, scanner, pos] = DEVICE_CLASSES as [DeviceClassSpec, DeviceClassSpec, DeviceClassSpec]
  const rest = 1 - p.batteryShare
  return [
    { weight: rest * 0.3, value: kiosk },
    { weight: p.batteryShare, value: scanner },
    { weight: rest * 0.7, value: pos }
  ].filter(c => c.weight > 0)
}

export function makeFleet (p: SimParams, startMs: number): SimStore[] {
  const root = new Rng(p.seed)
  const zones = parseZones(p.timezones)
  const shares = classShares(p)
  const horizonMs = p.horizonDays * 24 * HOUR_MS
  const stores: SimStore[] = []
  for (let s = 0; s < p.stores; s++) {
    const rng = root.fork(s)
    const timezone = rng.weighted(zones)
    const wanBps = Math.max(derived.wanMedianBps(p) / 20, rng.logNormal(derived.wanMedianBps(p), p.wanSigma))
    const outages: Array<[number, number]> = []
    if (p.outageMeanMinutes > 0) {
      let t = startMs + rng.exp(p.outageMtbfHours * HOUR_MS)
      while (t < startMs + horizonMs) {
        const len = rng.exp(p.outageMeanMinutes * 60_000)
        outages.push([t, t + len])
        t += len + rng.exp(p.outageMtbfHours * HOUR_MS)
      }
    }
    const hubCrashMs = rng.chance(p.hubCrashStoreShare) ? startMs + rng.next() * 3 * 24 * HOUR_MS : undefined
    const hasCorruptPeer = rng.chance(p.corruptPeerStoreShare)
    const n = rng.int(p.devicesMin, p.devicesMax)
    const devices: SimDevice[] = []
    for (let d = 0; d < n; d++) {
      const cls = rng.weighted(shares)
      const batteryPct = cls.battery ? rng.int(5, 100) : undefined
      const powerLossAt = rng.chance(p.powerLossPerInstall) ? rng.next() : undefined
      devices.push({ store: s, index: d, id: `s${s}-d${d}`, cls, batteryPct, powerLossAt })
    }
    stores.push({ index: s, id: `s${s}`, timezone, wanBps, outages, hubCrashMs, hasCorruptPeer, devices, rng })
  }
  return stores
}
