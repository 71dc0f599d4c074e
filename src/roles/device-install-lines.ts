/**
 * The one-line wording of a decision and an install outcome, as `device install --once`
 * prints it and the journal keeps it: the deciding gate first, in the operator's words.
 */
import type { Decision, Verdict } from '../interface/types.js'
import type { InstallOutcome, InstallRecord } from '../install/index.js'
import { decidingGates } from '../policy/evaluate.js'

const VERDICT_WORD: Readonly<Record<Exclude<Verdict, 'install'>, string>> = {
  defer: 'deferred', refuse: 'refused', idle: 'nothing to do', rollback: 'rollback'
}

/** The deciding gates: `device.battery battery 20 % < 40 %`; one detail when they all say the same. */
export function decidingText (d: Decision): string {
  const deciding = decidingGates(d)
  const details = [...new Set(deciding.map(g => g.detail))]
  if (deciding.length > 1 && details.length === 1) return details[0] ?? ''
  return deciding.map(g => `${g.gate} ${g.detail}`).join('; ')
}

/** `deferred: device.battery battery 20 % < 40 %` */
export function decisionLine (d: Decision): string {
  if (d.verdict === 'install') return `install: all ${d.gates.length} gates pass`
  return `${VERDICT_WORD[d.verdict]}: ${decidingText(d)}`
}

export function outcomeLine (o: InstallOutcome, rec: InstallRecord | undefined, name: string): string {
  const what = `${name} ${o.version ?? rec?.version ?? ''}`.trim()
  switch (o.outcome) {
    case 'installed': return `installed ${what} into slot ${rec?.targetSlot ?? '?'}`
    case 'nothing': return `nothing to do: ${o.detail}`
    case 'rolled-back': return `rolled back ${what} to slot ${rec?.previousSlot ?? '?'}: ${o.reason} ${rec?.reason?.detail ?? o.detail}`
    case 'failed': return `failed ${what}: ${o.reason} ${o.detail}`
    case 'rebooting': return `rebooting: ${o.detail}; run again after the boot`
  }
}
