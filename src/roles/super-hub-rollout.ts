/**
 * The super hub's share of the signed rollout policy (docs/fleet-waves.md): per wave,
 * the policy's `haltOnRollbackRatio` and `minOutcomesForHalt` decide when the wave
 * ledger halts it fleet-wide; `--halt-on-rollback-ratio` and `--min-outcomes-for-halt`
 * may only tighten them (a looser flag is refused at start with E_POLICY_CONFLICT). A
 * wave with no signed policy at the super hub takes the flag, else the default, as
 * before policies reached the super hub. Composition: verification is policy/, the rule
 * is control/waves/effective-rollout.ts, the halting is ledger/super-ledger.ts.
 */
import { effectiveField, type Effective } from '../control/waves/index.js'
import { StoremeshError } from '../interface/errors.js'
import type { TrustOptions } from '../interface/types.js'
import { verifyPolicy, type VerifiedPolicy } from '../policy/index.js'

export interface HaltFlags {
  haltOnRollbackRatio?: number | undefined
  minOutcomesForHalt?: number | undefined
}

export interface WaveHaltRule {
  haltOnRollbackRatio: Effective<number>
  minOutcomesForHalt: Effective<number>
  policyId?: string
  policyName?: string
}

export interface SuperHubRollout {
  /** the rule in force for a wave (its policy's, else the flags' or the defaults) */
  ruleOf: (waveId: string) => WaveHaltRule
  /** waves with a signed policy here */
  policies: () => Array<{ waveId: string, policyId: string, name: string }>
  /** the verified signed policies, one per wave (the wave runner plans from them: super-hub-waves.ts) */
  verified: () => VerifiedPolicy[]
}

function rule (v: VerifiedPolicy | undefined, flags: HaltFlags): WaveHaltRule {
  const p = v?.policy
  return {
    haltOnRollbackRatio: effectiveField('haltOnRollbackRatio', p, flags.haltOnRollbackRatio, '--halt-on-rollback-ratio') as Effective<number>,
    minOutcomesForHalt: effectiveField('minOutcomesForHalt', p, flags.minOutcomesForHalt, '--min-outcomes-for-halt') as Effective<number>,
    ...(v !== undefined ? { policyId: v.policyId, policyName: v.policy.metadata.name } : {})
  }
}

/**
 * Verifies the signed policies (`--policy`) and checks the flags against each; throws
 * E_POLICY_CONFLICT for a looser flag, E_INVALID_ARGUMENT for two policies of one wave.
 */
export function superHubRollout (envelopes: readonly unknown[], trust: TrustOptions, flags: HaltFlags): SuperHubRollout {
  const r = flags.haltOnRollbackRatio
  if (r !== undefined && !(r >= 0 && r <= 1)) throw new StoremeshError('E_INVALID_ARGUMENT', `haltOnRollbackRatio must be in [0, 1], got ${r}`)
  const m = flags.minOutcomesForHalt
  if (m !== undefined && !(Number.isSafeInteger(m) && m >= 1)) throw new StoremeshError('E_INVALID_ARGUMENT', `minOutcomesForHalt must be a positive integer, got ${m}`)
  const byWave = new Map<string, VerifiedPolicy>()
  for (const env of envelopes) {
    const v = verifyPolicy(env, trust)
    const waveId = String(v.policy.metadata.wave)
    const other = byWave.get(waveId)
    if (other !== undefined && other.policyId !== v.policyId) {
      throw new StoremeshError('E_INVALID_ARGUMENT', `two signed policies for wave ${waveId}: ${other.policy.metadata.name} and ${v.policy.metadata.name}`, { wave: waveId })
    }
    byWave.set(waveId, v)
  }
  const rules = new Map([...byWave].map(([w, v]) => [w, rule(v, flags)]))
  const fallback = rule(undefined, flags)
  return {
    ruleOf: waveId => rules.get(waveId) ?? fallback,
    policies: () => [...byWave].map(([waveId, v]) => ({ waveId, policyId: v.policyId, name: v.policy.metadata.name })),
    verified: () => [...byWave.values()]
  }
}
