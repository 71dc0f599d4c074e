/**
 * The fleet simulator (issue #18): a discrete-event model of a whole fleet rollout
 * that drives the product's own engines on simulated time. Nothing in the product
 * imports this folder.
 */
import { runCentreBaseline, runFleet, type FleetHooks } from './fleet.js'
import { resolveParams, type ParamName, type SimParams } from './params.js'
import { buildReport } from './report.js'
import { renderHtml } from './report-html.js'

export { PARAM_SPECS, resolveParams, parseDevicesRange, memoryEstimateBytes, checkMemory, kebab, type SimParams, type ParamName } from './params.js'
export { simulateLanSwarm, type LanSwarmInit, type LanSwarmResult } from './lan-swarm.js'
export { renderHtml } from './report-html.js'

export interface Simulation { report: Record<string, unknown>, json: string, html: string, events: number }

/** Runs the model; the report is a pure function of the parameters. */
export function simulate (given: Partial<Record<ParamName, number | string>> | SimParams, hooks: FleetHooks = {}): Simulation {
  const p = resolveParams(given)
  const raw = runFleet(p, hooks)
  hooks.onPhase?.('baseline: every device from the centre')
  const centre = runCentreBaseline(p, raw.stores)
  const report = buildReport(raw, centre)
  const json = JSON.stringify(report, null, 1) + '\n'
  return { report, json, html: renderHtml(report), events: raw.events }
}
