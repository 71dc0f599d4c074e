/**
 * The freeze bound on the device (protocols/root/SPEC.md section 6): a device installs
 * only while its newest timestamp statement is younger than its expiry plus the grace
 * the signed policy states (`guardrails.freshnessGraceHours`). Past it the gate asks
 * for `defer`, never `refuse` or `rollback`: the bundle may be fine, only nobody has
 * vouched lately that it is still the newest. What the device runs is never touched.
 */
import { DEFAULT_FACTS_RECHECK_MS, HOUR_MS } from './constants.js'
import { fail, humanMs, iso, pass, type GateContext, type GateOutcome } from './gate.js'

const GATE = 'trust.freshness'

export function trustFreshness ({ policy, facts, nowMs, runsThis }: GateContext): GateOutcome {
  // A trial or a running version is judged by its health, not by news from the WAN.
  if (runsThis) return pass(GATE, 'this version runs here: freshness not needed', 'defer')
  const f = facts.freshness
  // Fleets without a timestamp role hold no statement: nothing bounds their freeze, nothing defers them.
  if (f === undefined) return pass(GATE, 'no timestamp statement held: not checked', 'defer')
  if (f.expiresAtMs === undefined) {
    // e.g. its key was rotated out: the newer statement travels with the new root
    return fail(GATE, `timestamp statement held does not verify: ${f.error ?? 'unknown reason'}`, 'defer', nowMs + DEFAULT_FACTS_RECHECK_MS)
  }
  const graceHours = policy.spec.guardrails.freshnessGraceHours
  const untilMs = f.expiresAtMs + graceHours * HOUR_MS
  const grace = `grace ${graceHours} h`
  if (nowMs > untilMs) {
    return fail(GATE, `newest timestamp statement expired ${iso(f.expiresAtMs)}, ${grace} ended ${iso(untilMs)} (${humanMs(nowMs - untilMs)} ago): ` +
      'a freeze cannot be ruled out; waiting for a newer statement', 'defer', nowMs + DEFAULT_FACTS_RECHECK_MS)
  }
  const state = nowMs > f.expiresAtMs ? `stale since ${iso(f.expiresAtMs)}` : `fresh until ${iso(f.expiresAtMs)}`
  // Exactly at the end of the grace still passes; a millisecond later does not.
  return pass(GATE, `${state}; installs until ${iso(untilMs)} (${grace})`, 'defer', untilMs + 1)
}
