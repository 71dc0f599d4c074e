/**
 * The fleet ledger's Prometheus metrics (docs/fleet.md "Database down"): whether the
 * database answers, reports taken by outcome, and fleet aggregates read once per
 * scrape. Labels stay bounded: wave and state, never a store or a device (that detail
 * is `storemesh fleet status`). While the database is down only the first two carry
 * values.
 */
import type { Registry } from 'prom-client'
import { count, perScrape, scrapedCounter, scrapedGauge, SourceErrors } from '../metrics/collect.js'
import type { FleetLedger } from './fleet-ledger.js'
import type { FleetStatus } from './fleet-ledger-types.js'
import type { WanServedTally } from './wan-served.js'

const STATE_FIELDS = [['updated', 'updated'], ['rolled-back', 'rolledBack'], ['failed', 'failed'], ['pending', 'pending'], ['blocked', 'blocked']] as const

export function createFleetMetrics (registry: Registry, ledger: FleetLedger): void {
  const errors = new SourceErrors(registry)
  const status = perScrape(async (): Promise<FleetStatus | undefined> => {
    let s: FleetStatus | undefined
    if (ledger.health().up) await errors.guard('fleet', async () => { s = await ledger.status() })
    return s
  })
  scrapedGauge(registry, 'storemesh_fleet_db_up', 'Whether the fleet database answers (0: hub reports stay unacknowledged until it is back).', [], g => {
    g.set(ledger.health().up ? 1 : 0)
  })
  scrapedCounter(registry, 'storemesh_fleet_reports_total', 'Hub reports taken by this super hub, by result (applied, replayed, refused).', ['result'], c => {
    c.inc({ result: 'applied' }, count(ledger.counters.reportsApplied))
    c.inc({ result: 'replayed' }, count(ledger.counters.reportsReplayed))
    c.inc({ result: 'refused' }, count(ledger.counters.reportsRefused))
  })
  scrapedCounter(registry, 'storemesh_fleet_outcomes_ingested_total', 'Device outcomes (hub outbox entries) applied by this super hub.', [], c => {
    c.inc(count(ledger.counters.outcomesIngested))
  })
  scrapedGauge(registry, 'storemesh_fleet_waves', 'Waves by state.', ['state'], async g => {
    for (const w of (await status())?.waves ?? []) g.inc({ state: w.state })
  })
  scrapedGauge(registry, 'storemesh_fleet_stores', 'Stores per wave by their state in it.', ['wave', 'state'], async g => {
    for (const w of (await status())?.waves ?? []) for (const [state, n] of Object.entries(w.storesByState)) g.set({ wave: w.waveId, state }, n)
  })
  scrapedGauge(registry, 'storemesh_fleet_devices', 'Devices per wave by outcome, each counted once across stores.', ['wave', 'state'], async g => {
    for (const w of (await status())?.waves ?? []) for (const [state, field] of STATE_FIELDS) g.set({ wave: w.waveId, state }, w.counts[field])
  })
  scrapedGauge(registry, 'storemesh_fleet_hubs', 'Store hubs the fleet ledger knows.', [], async g => {
    const s = await status()
    if (s !== undefined) g.set(s.hubs.length)
  })
  scrapedGauge(registry, 'storemesh_fleet_orders_pending', 'Orders not yet handed to every store they concern.', [], async g => {
    const s = await status()
    if (s !== undefined) g.set(s.pendingOrders.length)
  })
}

/** What this super hub served the stores over the WAN (wan-served.ts): WAN bytes, stores holding each bundle. */
export function registerWanServedMetrics (registry: Registry, served: WanServedTally): void {
  scrapedCounter(registry, 'storemesh_fleet_wan_served_bytes_total', 'Bytes this super hub served store hubs over the WAN since it started.', [], c => {
    c.inc(count(served.bytesServed))
  })
}

/**
 * Stores holding each bundle complete, from the holdings their hubs report (report
 * 1.2.0, fleet-holdings.ts); the stores whose hubs never reported holdings (from before
 * them) count by what this super hub served them since it started (wan-served.ts).
 */
export function registerStoresHoldingMetric (registry: Registry, ledger: FleetLedger, served: WanServedTally | undefined): void {
  scrapedGauge(registry, 'storemesh_fleet_stores_holding', 'Stores holding every chunk of a bundle, by bundle: from the holdings their hubs report (hubs that report none: what this super hub served them).', ['bundle'], async g => {
    if (!ledger.health().up) return
    // a database error here is the fleet source's, counted once by createFleetMetrics' status read
    const out = await ledger.storesHolding().catch(() => undefined)
    const reporting = await ledger.peersReportingHoldings().catch(() => undefined)
    if (out === undefined || reporting === undefined) return
    if (served !== undefined) {
      // a store counts once: by its holdings when its hub reports them
      for (const [bundle, n] of served.peersHolding(reporting)) out.set(bundle, (out.get(bundle) ?? 0) + n)
    }
    for (const [bundle, n] of out) g.set({ bundle }, n)
  })
}
