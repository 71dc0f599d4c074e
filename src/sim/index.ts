/**
 * The fleet simulator (issue #18): a discrete-event model of a whole fleet rollout
 * that drives the product's own engines on simulated time. Nothing in the product
 * imports this folder.
 */
import { makeFleet } from './fleet-setup.js'
import { fidelityStoresOf, runCentreBaseline, runFleet, SIM_START_MS, type FleetHooks, type FleetPre } from './fleet.js'
import { lanJobOf, runLanJobs, type PoolOptions } from './lan-pool.js'
import { checkMemory, resolveParams, type ParamName, type SimParams } from './params.js'
import { buildReport } from './report.js'
import { renderHtml } from './report-html.js'

export { PARAM_SPECS, resolveParams, parseDevicesRange, memoryEstimateBytes, checkMemory, kebab, type SimParams, type ParamName } from './params.js'
export { simulateLanSwarm, type LanSwarmInit, type LanSwarmResult } from './lan-swarm.js'
export { renderHtml } from './report-html.js'

export interface Simulation { report: Record<string, unknown>, json: string, html: string, events: number }

/** Runs the model; the report is a pure function of the parameters. */
export function simulate (given: Partial<Record<ParamName, number | string>> | SimParams, hooks: FleetHooks = {}): Simulation {
  return finish(resolveParams(given), hooks)
}

/**
 * The same model with the full-fidelity stores on a pool of worker threads
 * (lan-pool.ts); the report is byte for byte the one simulate() gives.
 */
export async function simulateParallel (given: Partial<Record<ParamName, number | string>> | SimParams, hooks: FleetHooks = {}, pool: PoolOptions = {}): Promise<Simulation> {
  const p = resolveParams(given)
  checkMemory(p)
  const stores = makeFleet(p, SIM_START_MS)
  const jobs = fidelityStoresOf(p, stores).map(lanJobOf)
  hooks.onPhase?.(`full-fidelity LAN: ${jobs.length} stores on ${pool.workers ?? 'every'} worker thread(s)`)
  const step = Math.max(1, Math.round(jobs.length / 10))
  const lanOutcomes = await runLanJobs(jobs, p, {
    ...pool,
    onDone: (done, total) => { pool.onDone?.(done, total); if (done % step === 0 && done < total) hooks.onPhase?.(`  full fidelity: ${done} of ${total} stores done`) }
  })
  return finish(p, hooks, { stores, lanOutcomes })
}

function finish (p: SimParams, hooks: FleetHooks, pre?: FleetPre): Simulation {
  const raw = runFleet(p, hooks, pre)
  hooks.onPhase?.('baseline: every device from the centre')
  const centre = runCentreBaseline(p, raw.stores)
  const report = buildReport(raw, centre)
  const json = JSON.stringify(report, null, 1) + '\n'
  return { report, json, html: renderHtml(report), events: raw.events }
}
