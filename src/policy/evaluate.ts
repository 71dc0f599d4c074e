/**
 * `evaluate(policy, manifest, facts, now) -> Decision` (DESIGN.md section 7): pure and
 * deterministic. Every gate runs and is reported, in a fixed order, so `policy explain`
 * can always answer "why not?".
 *
 * Verdict: each failing gate asks for an effect; the strongest wins, in this order:
 *   rollback  the version this device runs lost its health, or a trial broke a probe or
 *             met a fleet halt (health.check, probe.<name>, fleet.halt)
 *   idle      nothing to do: this version already runs (version.monotonic), or no policy
 *             or manifest for this device
 *   refuse    permanent for this bundle: bad signature, expired, older than installed,
 *             signed too long ago, wrong target, rolled back here before, no A/B layout
 *   defer     transient: bundle incomplete, window closed, battery, temperature, disk,
 *             config version, probe, lease, pause, halt, hold, not in this wave, no
 *             fresh timestamp statement (trust.freshness: a freeze is possible)
 *   install   every gate passed
 *
 * nextCheckAt, with the same facts: the earliest of
 *   (a) when a passing gate fails by the clock and so changes the verdict (window closes,
 *       manifest expires, health grace ends), and
 *   (b) when every gate that decided the verdict may have cleared (the latest of their
 *       earliest pass times: window opening, lease retry, fact poll);
 * null when neither exists (refuse, rollback, idle: only new input changes them).
 */
import semver from 'semver'
import type { BundleInfo, Decision, DeviceFacts, GateReport, Verdict } from '../interface/types.js'
import { fail, type Effect, type Gate, type GateContext, type GateOutcome } from './gate.js'
import {
  bundleComplete, bundleVerified, manifestExpiry, manifestHold, manifestSignature, manifestSignedWithin,
  targetMatch, versionMonotonic, waveAdmitted, wavePaused
} from './gates-bundle.js'
import {
  configRequires, deviceBattery, deviceDisk, deviceDualPartition, deviceTemperature, fleetHalt, healthCheck,
  hubLease, probes, scheduleWindow
} from './gates-device.js'
import { trustFreshness } from './gates-trust.js'
import type { RolloutPolicy } from './schema.js'

/** The manifest as evaluate needs it; a BundleInfo fits. */
export type ManifestInput = Pick<BundleInfo, 'id' | 'manifest'>

/** Gates in report order; `probes` expands to one `probe.<name>` per peripheral check. */
const GATES: Array<[string, Gate]> = [
  ['bundle.complete', bundleComplete],
  ['bundle.verified', bundleVerified],
  ['manifest.signature', manifestSignature],
  ['manifest.expiry', manifestExpiry],
  ['manifest.signed-within', manifestSignedWithin],
  ['manifest.hold', manifestHold],
  ['trust.freshness', trustFreshness],
  ['version.monotonic', versionMonotonic],
  ['target.match', targetMatch],
  ['wave.admitted', waveAdmitted],
  ['wave.paused', wavePaused],
  ['schedule.window', scheduleWindow],
  ['device.battery', deviceBattery],
  ['device.temperature', deviceTemperature],
  ['device.disk', deviceDisk],
  ['device.dual-partition', deviceDualPartition],
  ['config.requires', configRequires],
  ['probe.*', probes],
  ['hub.lease', hubLease],
  ['fleet.halt', fleetHalt],
  ['health.check', healthCheck]
]

/** The fixed gate names (stable API); `probe.<name>` gates come from the policy. */
export const GATE_NAMES: readonly string[] = GATES.map(([n]) => n).filter(n => n !== 'probe.*')

export const VERDICT_RANK: Readonly<Record<Verdict, number>> = { install: 0, defer: 1, refuse: 2, idle: 3, rollback: 4 }

const TRIAL_PHASES = new Set(['try-boot', 'booted-trial'])

function gateNames (policy: RolloutPolicy | undefined): string[] {
  return GATES.flatMap(([n]) => n === 'probe.*'
    ? (policy?.spec.verification.peripheralChecks ?? []).map(c => `probe.${c.name}`)
    : [n])
}

/** With no policy or no manifest there is nothing to decide: every gate says so. */
function nothingToDo (policy: RolloutPolicy | undefined, why: string): Decision {
  return { verdict: 'idle', gates: gateNames(policy).map(gate => ({ gate, ok: false, detail: why, effect: 'idle' })), nextCheckAt: null }
}

function runGates (ctx: GateContext): GateOutcome[] {
  return GATES.flatMap(([name, gate]) => {
    try {
      const r = gate(ctx)
      return Array.isArray(r) ? r : [r]
    } catch (err) {
      // A gate that cannot judge fails closed, and the others are still reported.
      return [fail(name, `cannot evaluate: ${(err as Error).message}`, 'refuse')]
    }
  })
}

function verdictOf (outcomes: GateOutcome[]): Verdict {
  let v: Verdict = 'install'
  for (const o of outcomes) if (!o.ok && VERDICT_RANK[o.effect] > VERDICT_RANK[v]) v = o.effect
  return v
}

function nextCheckOf (outcomes: GateOutcome[], verdict: Verdict): number | null {
  let best = Infinity
  // (a) a passing gate that the clock will fail, with an effect stronger than the verdict
  for (const o of outcomes) {
    if (o.ok && o.failAtMs !== undefined && VERDICT_RANK[o.effect] > VERDICT_RANK[verdict]) best = Math.min(best, o.failAtMs)
  }
  // (b) all the gates that decided the verdict may have passed
  if (verdict !== 'install') {
    const deciding = outcomes.filter(o => !o.ok && o.effect === verdict)
    const clearAt = deciding.reduce((m, o) => Math.max(m, o.passAtMs ?? Infinity), -Infinity)
    best = Math.min(best, clearAt)
  }
  return Number.isFinite(best) ? best : null
}

function toReport (o: GateOutcome): GateReport {
  return o.ok ? { gate: o.gate, ok: true, detail: o.detail } : { gate: o.gate, ok: false, detail: o.detail, effect: o.effect as Effect }
}

/** Pure: the same arguments always give the same Decision. */
export function evaluate (policy: RolloutPolicy | undefined, manifest: ManifestInput | undefined, facts: DeviceFacts, nowMs: number): Decision {
  if (policy === undefined) return nothingToDo(policy, 'no rollout policy for this device')
  if (manifest === undefined) return nothingToDo(policy, `no manifest for bundle ${policy.spec.bundle.id}`)
  const body = manifest.manifest.signed
  const inTrial = TRIAL_PHASES.has(facts.install.phase) && facts.install.version === body.version
  const installed = facts.installedVersion
  const runsThis = inTrial || (installed !== undefined && semver.valid(installed) !== null && semver.eq(installed, body.version))
  const ctx: GateContext = { policy, manifest: body, bundleId: manifest.id, facts, nowMs, inTrial, runsThis }
  const outcomes = runGates(ctx)
  const verdict = verdictOf(outcomes)
  return { verdict, gates: outcomes.map(toReport), nextCheckAt: nextCheckOf(outcomes, verdict) }
}

/** The failing gates that decided the verdict (empty for install). */
export function decidingGates (d: Decision): GateReport[] {
  return d.gates.filter(g => !g.ok && g.effect === d.verdict)
}

/** One line for logs and `device install --once`: `defer: schedule.window closed; opens ...`. */
export function summarize (d: Decision): string {
  const deciding = decidingGates(d)
  if (deciding.length === 0) return `${d.verdict}: all ${d.gates.length} gates pass`
  return `${d.verdict}: ${deciding.map(g => `${g.gate} ${g.detail}`).join('; ')}`
}

/** Every gate failed only on the lease: the device should ask its hub for one now. */
export function waitsOnlyForLease (d: Decision): boolean {
  const failing = d.gates.filter(g => !g.ok)
  return failing.length > 0 && failing.every(g => g.gate === 'hub.lease')
}
