/**
 * The fleet ledger seen through the super hub's status file (`<data>/super-ledger.json`,
 * src/ledger/super-ledger-status.ts), which `storemesh demo` and the lab read: the same
 * per-wave and per-hub shapes the level SuperLedger wrote, plus the database's health.
 * While the database is down the last totals read are kept and `fleetDb.up` says so.
 */
import type { HubRecord, SuperWaveSummary } from '../ledger/super-ledger.js'
import type { FleetLedger } from './fleet-ledger.js'
import type { FleetDbHealth } from './fleet-ledger-types.js'
import { toWaveOrder } from './fleet-orders.js'

export interface FleetStatusSource {
  hubs(): Promise<Array<HubRecord & { hubId: string }>>
  waves(): Promise<SuperWaveSummary[]>
  health(): FleetDbHealth
}

/** `describeRule`: where each wave's halt figures came from (its signed policy, a flag), for super-ledger.json */
export function statusSourceOf (ledger: FleetLedger, describeRule?: (waveId: string) => Record<string, unknown>): FleetStatusSource {
  let hubs: Array<HubRecord & { hubId: string }> = []
  let waves: SuperWaveSummary[] = []
  return {
    async hubs () {
      try {
        hubs = (await ledger.hubs()).map(h => ({ hubId: h.hubId, epoch: h.epoch, ackedSeq: h.ackedSeq, lastReportMs: h.lastReportMs ?? 0, ...(h.peer !== undefined ? { peer: h.peer } : {}) }))
      } catch {
        // the database is away: the last totals stand, health() says why
      }
      return hubs
    },
    async waves () {
      try {
        waves = (await ledger.waves()).map(w => ({
          waveId: w.waveId, counts: w.counts, rollbackRatio: w.rollbackRatio, haltOnRollbackRatio: w.haltOnRollbackRatio,
          minOutcomesForHalt: w.minOutcomesForHalt, ...(describeRule !== undefined ? { rule: describeRule(w.waveId) } : {}),
          halted: w.halted, paused: w.paused, ...(w.order !== undefined ? { order: toWaveOrder(w.order) } : {}),
          // the wave as the control plane runs it: state, batches, stores by state, halts (docs/fleet-waves.md)
          fleet: { state: w.state, stateReason: w.stateReason, batches: w.batches, storesByState: w.storesByState, halts: w.halts }
        }))
      } catch {
        // as above
      }
      return waves
    },
    health: () => ledger.health()
  }
}
