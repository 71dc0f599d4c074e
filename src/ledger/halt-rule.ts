/**
 * A super ledger's halt figures per wave, from options that give either one number or
 * a figure per wave (each wave's signed policy, tightened by flags). Both super ledgers
 * (the level one in ledger/, the fleet ledger in control/) read them the same way.
 */
import { StoremeshError } from '../interface/errors.js'
import { DEFAULT_HALT_ON_ROLLBACK_RATIO, DEFAULT_MIN_OUTCOMES_FOR_HALT } from './constants.js'

export type PerWave<T> = T | ((waveId: string) => T | undefined)

export interface HaltRule {
  /** the rollback ratio above which the wave halts, in [0, 1] */
  threshold: (waveId: string) => number
  /** outcomes before that ratio may halt it, at least 1 */
  minOutcomes: (waveId: string) => number
}

export function checkRatio (r: number, what: string): number {
  if (!Number.isFinite(r) || r < 0 || r > 1) throw new StoremeshError('E_INVALID_ARGUMENT', `${what} must be in [0, 1], got ${r}`)
  return r
}

/** A fixed ratio is checked now (E_INVALID_ARGUMENT); a per-wave one when it is read. */
export function haltRuleOf (options: { haltOnRollbackRatio?: PerWave<number>, minOutcomesForHalt?: PerWave<number> }): HaltRule {
  const t = options.haltOnRollbackRatio ?? DEFAULT_HALT_ON_ROLLBACK_RATIO
  let threshold: HaltRule['threshold']
  if (typeof t === 'number') {
    const fixed = checkRatio(t, 'haltOnRollbackRatio')
    threshold = () => fixed
  } else {
    threshold = (waveId) => checkRatio(t(waveId) ?? DEFAULT_HALT_ON_ROLLBACK_RATIO, `haltOnRollbackRatio of wave ${waveId}`)
  }
  const m = options.minOutcomesForHalt
  const minOutcomes = typeof m === 'function'
    ? (waveId: string) => Math.max(1, m(waveId) ?? DEFAULT_MIN_OUTCOMES_FOR_HALT)
    : () => Math.max(1, m ?? DEFAULT_MIN_OUTCOMES_FOR_HALT)
  return { threshold, minOutcomes }
}
