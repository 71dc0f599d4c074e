/**
 * The fleet-wide halt rule: a wave halts when its rollback ratio, rolledBack / (updated +
 * rolledBack) over every store (src/ledger/condense.ts defines the same ratio), passes
 * `haltOnRollbackRatio`, and only once at least `minOutcomesForHalt` devices have an
 * outcome, so one early rollback in a large wave does not stop it. After an operator
 * resumes a halted wave, the rule fires again only on a further rollback (`rearmAt`),
 * as the super ledger does: the resume is the operator accepting the ratio seen so far.
 * Pure.
 */

export interface OutcomeTotals {
  updated: number
  rolledBack: number
}

export interface HaltRule {
  haltOnRollbackRatio: number
  minOutcomesForHalt: number
}

export interface HaltVerdict {
  halt: boolean
  /** undefined before any outcome */
  ratio: number | undefined
  outcomes: number
  /** why it halts or does not, for the status and the halt order */
  detail: string
}

export function haltVerdict (totals: OutcomeTotals, rule: HaltRule, rearmAtRolledBack = 0): HaltVerdict {
  const outcomes = totals.updated + totals.rolledBack
  const ratio = outcomes === 0 ? undefined : totals.rolledBack / outcomes
  const r = ratio === undefined ? 'no outcome yet' : `rollback ratio ${round(ratio)} (${totals.rolledBack}/${outcomes})`
  if (ratio === undefined || ratio <= rule.haltOnRollbackRatio) {
    return { halt: false, ratio, outcomes, detail: `${r} <= ${rule.haltOnRollbackRatio}` }
  }
  if (outcomes < rule.minOutcomesForHalt) {
    return { halt: false, ratio, outcomes, detail: `${r} > ${rule.haltOnRollbackRatio}, but ${outcomes} of the ${rule.minOutcomesForHalt} outcomes needed before a halt` }
  }
  if (totals.rolledBack <= rearmAtRolledBack) {
    return { halt: false, ratio, outcomes, detail: `${r} > ${rule.haltOnRollbackRatio}, accepted by the operator's resume; the next rollback halts` }
  }
  return { halt: true, ratio, outcomes, detail: `${r} > ${rule.haltOnRollbackRatio} after ${outcomes} outcomes` }
}

function round (x: number): number {
  return Math.round(x * 10_000) / 10_000
}
