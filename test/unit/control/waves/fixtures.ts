/** A signed-policy body and a small fleet for the wave tests. */
import { parsePolicy, type RolloutPolicy } from '../../../../src/policy/schema.js'

export const MIN = 60_000
export const HOUR = 60 * MIN
/** Mon 2026-03-09 12:00 UTC: a day before the base window `Tue 02:00-04:00` America/Chicago (Tue 07:00 UTC, CDT). */
export const T0 = Date.parse('2026-03-09T12:00:00Z')
export const CHICAGO_OPENS = Date.parse('2026-03-10T07:00:00Z')

export function policy (rollout: Record<string, unknown> = {}, targets: Record<string, unknown> = {}, schedule: Record<string, unknown> = {}): RolloutPolicy {
  return parsePolicy({
    apiVersion: 'storemesh/v1',
    kind: 'RolloutPolicy',
    metadata: { name: 'pos-q4', wave: 142 },
    spec: {
      bundle: { id: 'b3:' + 'ab'.repeat(32), version: '3.8.2' },
      targets: { deviceClass: 'pos', percentage: 100, hubBudget: 2, ...targets },
      schedule: { maintenanceWindow: 'Tue 02:00-04:00', timezone: 'America/Chicago', prestageHours: 12, ...schedule },
      rollout: { maxConcurrentPerHub: 5, batchDelayMinutes: 15, haltOnRollbackRatio: 0.2, minOutcomesForHalt: 4, ...rollout }
    }
  })
}

export function fleet (stores: number, devicesPerStore: number): Array<{ storeId: string, deviceIds: string[] }> {
  return Array.from({ length: stores }, (_, s) => ({
    storeId: `store-${s}`,
    deviceIds: Array.from({ length: devicesPerStore }, (_, d) => `store-${s}-pos-${d}`)
  }))
}
