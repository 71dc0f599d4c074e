/**
 * Which figure of a fleet wave applies: the signed policy's, or an operator's flag.
 * The policy is what the release owner signed, so a flag may make a wave safer and
 * never riskier: a flag that is tighter than the policy applies (source `flag`), one
 * that equals it changes nothing (source `policy`), and one that would loosen it is
 *   - `refuse` (where the operator typed both: a hub or super hub start): refused with
 *     E_POLICY_CONFLICT, so an operator who believes a flag is in force finds out at once;
 *   - `tighten` (a signed policy that reaches a running role later): the policy's figure
 *     applies (source `policy`, `overriddenFlag` set), because a stale flag must not
 *     block a release owner's tighter policy.
 * With no signed policy at hand the flag applies, else the policy schema's default.
 * Pure: no I/O, no clock. The table is in docs/fleet-waves.md.
 */
import { StoremeshError } from '../../interface/errors.js'
import {
  DEFAULT_BATCH_DELAY_MINUTES, DEFAULT_HALT_ON_ROLLBACK_RATIO, DEFAULT_MAX_CONCURRENT_PER_HUB,
  DEFAULT_MIN_OUTCOMES_FOR_HALT, DEFAULT_PERCENTAGE, DEFAULT_PRESTAGE_HOURS
} from '../../policy/constants.js'
import type { RolloutPolicy } from '../../policy/schema.js'

/** `default`: no signed policy and no flag; the policy schema's default applies. */
export type RolloutSource = 'policy' | 'flag' | 'default'

export interface Effective<T> {
  value: T
  source: RolloutSource
  /** `tighten` mode: a flag looser than the policy, set aside */
  overriddenFlag?: number
}

/** What a flag looser than the policy meets; see the header. */
export type ConflictMode = 'refuse' | 'tighten'

/** Which way a figure tightens: `lower` (fewer devices, a lower ratio) or `higher` (a longer wait). */
type Tightens = 'lower' | 'higher'

interface FieldRule {
  /** where it sits in the policy, for messages */
  path: string
  tightens: Tightens
  /** the figure in the policy; undefined: the policy sets no limit (any flag tightens) */
  of: (p: RolloutPolicy) => number | undefined
  /** without a signed policy; undefined: no limit */
  fallback: number | undefined
}

export const ROLLOUT_FIELDS = {
  percentage: { path: 'spec.targets.percentage', tightens: 'lower', of: p => p.spec.targets.percentage, fallback: DEFAULT_PERCENTAGE },
  hubBudget: { path: 'spec.targets.hubBudget', tightens: 'lower', of: p => p.spec.targets.hubBudget, fallback: undefined },
  maxConcurrentPerHub: { path: 'spec.rollout.maxConcurrentPerHub', tightens: 'lower', of: p => p.spec.rollout.maxConcurrentPerHub, fallback: DEFAULT_MAX_CONCURRENT_PER_HUB },
  batchDelayMinutes: { path: 'spec.rollout.batchDelayMinutes', tightens: 'higher', of: p => p.spec.rollout.batchDelayMinutes, fallback: DEFAULT_BATCH_DELAY_MINUTES },
  prestageHours: { path: 'spec.schedule.prestageHours', tightens: 'higher', of: p => p.spec.schedule.prestageHours, fallback: DEFAULT_PRESTAGE_HOURS },
  haltOnRollbackRatio: { path: 'spec.rollout.haltOnRollbackRatio', tightens: 'lower', of: p => p.spec.rollout.haltOnRollbackRatio, fallback: DEFAULT_HALT_ON_ROLLBACK_RATIO },
  minOutcomesForHalt: { path: 'spec.rollout.minOutcomesForHalt', tightens: 'lower', of: p => p.spec.rollout.minOutcomesForHalt, fallback: DEFAULT_MIN_OUTCOMES_FOR_HALT }
} as const satisfies Record<string, FieldRule>

export type RolloutField = keyof typeof ROLLOUT_FIELDS

/** Operator flags, each optional; `flagNames` names them in the refusal (e.g. `--max-concurrent-installs`). */
export type RolloutFlags = Partial<Record<RolloutField, number>>

/** Every field; hubBudget's value is undefined when nothing limits it. */
export type EffectiveRollout = { [F in RolloutField]: Effective<F extends 'hubBudget' ? number | undefined : number> }

function tighter (rule: FieldRule, a: number, b: number): boolean {
  return rule.tightens === 'lower' ? a < b : a > b
}

/**
 * One field: the flag when it is tighter than the policy, the policy's figure otherwise;
 * a looser flag throws E_POLICY_CONFLICT naming both figures.
 */
export function effectiveField (field: RolloutField, policy: RolloutPolicy | undefined, flag: number | undefined, flagName: string = field, mode: ConflictMode = 'refuse'): Effective<number | undefined> {
  const rule: FieldRule = ROLLOUT_FIELDS[field]
  if (flag !== undefined && !Number.isFinite(flag)) {
    throw new StoremeshError('E_INVALID_ARGUMENT', `${flagName} must be a number, got ${String(flag)}`)
  }
  if (policy === undefined) {
    if (flag !== undefined) return { value: flag, source: 'flag' }
    return { value: rule.fallback, source: 'default' }
  }
  const signed = rule.of(policy)
  if (flag === undefined) return { value: signed, source: 'policy' }
  if (signed === undefined || tighter(rule, flag, signed)) return { value: flag, source: 'flag' }
  if (flag === signed) return { value: signed, source: 'policy' }
  if (mode === 'tighten') return { value: signed, source: 'policy', overriddenFlag: flag }
  throw new StoremeshError('E_POLICY_CONFLICT',
    `${flagName} ${flag} would loosen the signed policy's ${rule.path} ${signed} (policy ${policy.metadata.name} wave ${policy.metadata.wave}); ` +
    `a flag may only tighten it (${rule.tightens === 'lower' ? 'lower' : 'higher'})`,
    { field, flag, policy: signed })
}

/** Every field at once; `flagNames` maps a field to the flag the operator typed, for the refusal. */
export function effectiveRollout (policy: RolloutPolicy | undefined, flags: RolloutFlags = {}, flagNames: Partial<Record<RolloutField, string>> = {}, mode: ConflictMode = 'refuse'): EffectiveRollout {
  const out: Partial<Record<RolloutField, Effective<number | undefined>>> = {}
  for (const field of Object.keys(ROLLOUT_FIELDS) as RolloutField[]) {
    out[field] = effectiveField(field, policy, flags[field], flagNames[field], mode)
  }
  return out as EffectiveRollout
}

/**
 * The tightest of several signed policies for one field (a hub given policies of several
 * waves has one lease table): each policy's own figure, then the flag against the tightest.
 */
export function tightestPolicy (field: RolloutField, policies: readonly RolloutPolicy[]): RolloutPolicy | undefined {
  const rule: FieldRule = ROLLOUT_FIELDS[field]
  let best: RolloutPolicy | undefined
  for (const p of policies) {
    const v = rule.of(p)
    if (v === undefined) continue
    const b = best !== undefined ? rule.of(best) : undefined
    if (b === undefined || tighter(rule, v, b)) best = p
  }
  return best ?? policies[0]
}
