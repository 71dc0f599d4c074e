/**
 * Fleet waves run by the signed policy (issue 16 item 2; docs/fleet-waves.md): pure,
 * I/O-free logic that the control plane's ledger calls and stores the results of.
 *
 * const rollout = effectiveRollout(verified.policy, { haltOnRollbackRatio: flag })   // flags only tighten
 * let state = planWave({ waveId: '142', policyName: p.metadata.name, schedule: p.spec.schedule, rollout, stores })
 * const step = transition(state, { type: 'start' }, nowMs, waveRulesOf(rollout))
 * state = step.state; send(step.actions)                                               // prestage, start-store, halt…
 */
export * from './constants.js'
export { effectiveField, effectiveRollout, ROLLOUT_FIELDS, tightestPolicy } from './effective-rollout.js'
export type { ConflictMode, Effective, EffectiveRollout, RolloutField, RolloutFlags, RolloutSource } from './effective-rollout.js'
export { haltVerdict } from './halt.js'
export type { HaltRule, HaltVerdict, OutcomeTotals } from './halt.js'
export { planWave, storeSettled, waveTotals } from './plan.js'
export type { ResumablePhase, StoreProgress, WaveHalt, WavePhase, WavePlanInput, WaveState, WaveStoreInput } from './plan.js'
export { installOpensAtMs, nextBatchAtMs, policyPrestageAtMs, prestageAtMs, storeWindow } from './schedule.js'
export type { StoreWindow } from './schedule.js'
export { batchesOf, orderStores, selectDevices, selectStores } from './selection.js'
export type { StoreDevices } from './selection.js'
export { nextWakeMs, transition, waveRulesOf } from './state-machine.js'
export type { StoreOutcomes, WaveAction, WaveEvent, WaveRules, WaveTransition } from './state-machine.js'
export { storeWaveState, summarizeWave } from './summary.js'
export type { StoreWaveState, WaveSummary } from './summary.js'
