/**
 * A fleet wave from its signed policy (`storemesh super-hub --policy p --start-wave`):
 * the plan's figures come from the policy, tightened by flags (effectiveRollout), and
 * go into the wave row with an empty plan; the stores join as their hubs report
 * (waves/join.ts) and the runner (wave-runner.ts) moves it. With the row comes a
 * `start` order, so the runner starts the wave once a store is in it. Idempotent: a
 * wave the runner already drives is left as it is, and a start already in force is not
 * issued again.
 */
import type { RolloutPolicy } from '../policy/schema.js'
import type { SqlDb } from './db/sql.js'
import { issueFleetOrder, ordersInForce, type FleetOrder } from './fleet-orders.js'
import type { RunnerDoc } from './wave-runner.js'
import type { EffectiveRollout } from './waves/effective-rollout.js'
import { planWave } from './waves/plan.js'
import { waveRulesOf } from './waves/state-machine.js'

export interface StartWaveResult {
  waveId: string
  /** false: a runner already drove this wave (its plan was kept) */
  planned: boolean
  /** the start order issued now, or undefined when one was in force */
  order?: FleetOrder
}

/** The runner's first state for a policy, with no store yet. */
export function plannedDoc (policy: RolloutPolicy, rollout: EffectiveRollout): RunnerDoc {
  const schedule = { timezone: policy.spec.schedule.timezone, ...(policy.spec.schedule.maintenanceWindow !== undefined ? { maintenanceWindow: policy.spec.schedule.maintenanceWindow } : {}) }
  const selection = {
    policyName: policy.metadata.name,
    percentage: rollout.percentage.value,
    ...(rollout.hubBudget.value !== undefined ? { hubBudget: rollout.hubBudget.value } : {}),
    schedule
  }
  const state = planWave({ waveId: String(policy.metadata.wave), policyName: selection.policyName, schedule, rollout, stores: [] })
  return { v: 1, state, selection, rules: waveRulesOf(rollout), batchStartedAtMs: [] }
}

export async function startWaveFromPolicy (db: SqlDb, policy: RolloutPolicy, rollout: EffectiveRollout, by: string, nowMs: number): Promise<StartWaveResult> {
  const waveId = String(policy.metadata.wave)
  const doc = plannedDoc(policy, rollout)
  const plan = Object.fromEntries(Object.entries(rollout).map(([k, v]) => [k, { value: v.value ?? null, source: v.source }]))
  return await db.transaction(async tx => {
    const ins = await tx.query(`INSERT INTO waves (wave_id, policy_name, bundle_id, state, halt_on_rollback_ratio, min_outcomes_for_halt, plan, machine, created_ms, updated_ms)
      VALUES ($1, $2, $3, 'planned', $4, $5, $6::jsonb, $7::jsonb, $8, $8) ON CONFLICT (wave_id) DO NOTHING RETURNING wave_id`,
    [waveId, policy.metadata.name, policy.spec.bundle.id, rollout.haltOnRollbackRatio.value, rollout.minOutcomesForHalt.value, JSON.stringify(plan), JSON.stringify(doc), nowMs])
    // a wave first seen in reports (no runner yet) gets its plan now
    const set = await tx.query(`UPDATE waves SET machine = $2::jsonb, policy_name = $3, bundle_id = $4, halt_on_rollback_ratio = $5, min_outcomes_for_halt = $6, plan = $7::jsonb
      WHERE wave_id = $1 AND machine IS NULL RETURNING wave_id`,
    [waveId, JSON.stringify(doc), policy.metadata.name, policy.spec.bundle.id, rollout.haltOnRollbackRatio.value, rollout.minOutcomesForHalt.value, JSON.stringify(plan)])
    const planned = ins.length === 1 || set.length === 1
    // any order in force (a start, or an operator's pause or halt) is the operator's word: keep it
    if ((await ordersInForce(tx, [waveId])).length > 0) return { waveId, planned }
    const issued = await issueFleetOrder(tx, { kind: 'wave', action: 'start', waveId, by, reason: `policy ${policy.metadata.name}` }, nowMs)
    // the runner moves it on once a store is in it (the order wrote `installing`)
    await tx.query(`UPDATE waves SET state = 'planned', state_reason = 'started; waiting for a store hub to report devices of the wave' WHERE wave_id = $1 AND state = 'installing'`, [waveId])
    return { waveId, planned, order: issued.order }
  })
}
