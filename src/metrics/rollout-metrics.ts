/**
 * Rollout figures: gate failures by gate, wave devices by condensed state, install
 * leases. Labels: `gate`, `wave`, `state` — each bounded (constants.ts).
 */
import type { Registry } from 'prom-client'
import { count, perScrape, scrapedCounter, scrapedGauge, type SourceErrors } from './collect.js'
import { MAX_GATE_SERIES, MAX_WAVE_SERIES, METRIC_NAMES as N, OTHER_LABEL } from './constants.js'
import type { GateSource, LeaseSource, WaveDevices, WaveSource } from './sources.js'

/** The busiest gates keep their own series; the rest are summed into `other`. */
export function boundGates (byGate: Record<string, number>, max = MAX_GATE_SERIES): Record<string, number> {
  const entries = Object.entries(byGate).filter(([, n]) => count(n) > 0).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
  if (entries.length <= max) return Object.fromEntries(entries)
  const out = Object.fromEntries(entries.slice(0, max - 1))
  out[OTHER_LABEL] = entries.slice(max - 1).reduce((s, [, n]) => s + n, 0)
  return out
}

/** The newest waves (numeric-aware order of their ids) keep their series. */
export function boundWaves (waves: WaveDevices[], max = MAX_WAVE_SERIES): WaveDevices[] {
  return [...waves].sort((a, b) => a.waveId.localeCompare(b.waveId, 'en', { numeric: true })).slice(-max)
}

export function createGateMetrics (registry: Registry, source: GateSource, errors: SourceErrors): void {
  scrapedCounter(registry, N.gateFailuresTotal, 'Policy gate failures, by stable gate name.', ['gate'], async c => {
    await errors.guard('gates', async () => {
      for (const [gate, n] of Object.entries(boundGates(await source.gateFailuresTotal()))) c.inc({ gate }, n)
    })
  })
}

export function createWaveMetrics (registry: Registry, source: WaveSource, errors: SourceErrors): void {
  const read = perScrape(async () => {
    let waves: WaveDevices[] = []
    await errors.guard('waves', async () => { waves = boundWaves(await source.waves()) })
    return waves
  })
  scrapedGauge(registry, N.waveDevices, 'Devices of a wave by condensed state (updated, rolled-back, failed, pending, blocked).', ['wave', 'state'], async g => {
    for (const w of await read()) for (const [state, n] of Object.entries(w.states)) g.set({ wave: w.waveId, state }, count(n))
  })
  scrapedGauge(registry, N.waveHalted, '1 when a halt order is in force for the wave.', ['wave'], async g => {
    for (const w of await read()) g.set({ wave: w.waveId }, w.halted === true ? 1 : 0)
  })
  scrapedGauge(registry, N.wavePaused, '1 when a pause order is in force for the wave.', ['wave'], async g => {
    for (const w of await read()) g.set({ wave: w.waveId }, w.paused === true ? 1 : 0)
  })
}

export function createLeaseMetrics (registry: Registry, source: LeaseSource, errors: SourceErrors): void {
  scrapedGauge(registry, N.leasesInUse, 'Install leases held by devices now.', [], async g => {
    await errors.guard('leases', async () => { g.set(count(await source.inUse())) })
  })
  scrapedGauge(registry, N.leaseLimit, 'Concurrent install leases the hub grants at most.', [], async g => {
    await errors.guard('leases', async () => { g.set(count(await source.limit())) })
  })
}
