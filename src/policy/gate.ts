/**
 * What a gate sees and what it returns. A gate is a pure function of the context; it
 * always returns an outcome (never throws for bad facts: missing facts fail closed),
 * so every gate is reported on every evaluation.
 */
import type { DeviceFacts, ManifestBody, Verdict } from '../interface/types.js'
import type { RolloutPolicy } from './schema.js'

export type Effect = Exclude<Verdict, 'install'>

export interface GateOutcome {
  gate: string
  ok: boolean
  detail: string
  /** failing: the verdict this failure asks for; passing: the verdict if the clock makes it fail */
  effect: Effect
  /** failing gates: earliest time it may pass; absent: only new input (policy, order) clears it */
  passAtMs?: number
  /** passing gates: the time it fails by the clock alone (a window closes, a manifest expires) */
  failAtMs?: number
}

/** Inputs shared by all gates, with what is derived once (trial, bundle id). */
export interface GateContext {
  policy: RolloutPolicy
  manifest: ManifestBody
  bundleId: string
  facts: DeviceFacts
  nowMs: number
  /** the device trial-boots this manifest's version and has not committed yet */
  inTrial: boolean
  /** the device runs this manifest's version (trial or committed) */
  runsThis: boolean
}

export type Gate = (ctx: GateContext) => GateOutcome | GateOutcome[]

export function pass (gate: string, detail: string, effect: Effect, failAtMs?: number): GateOutcome {
  return failAtMs === undefined ? { gate, ok: true, detail, effect } : { gate, ok: true, detail, effect, failAtMs }
}

export function fail (gate: string, detail: string, effect: Effect, passAtMs?: number): GateOutcome {
  return passAtMs === undefined ? { gate, ok: false, detail, effect } : { gate, ok: false, detail, effect, passAtMs }
}

/** ISO 8601 UTC without milliseconds, for details that operators read. */
export function iso (ms: number): string {
  return new Date(ms).toISOString().replace(/\.000Z$/, 'Z')
}

/** A duration for details: `90 s`, `12 min`, `3.5 h`, `2.0 d`. */
export function humanMs (ms: number): string {
  const s = Math.abs(ms) / 1000
  if (s < 120) return `${Math.round(s)} s`
  if (s < 7200) return `${Math.round(s / 60)} min`
  if (s < 172_800) return `${(s / 3600).toFixed(1)} h`
  return `${(s / 86_400).toFixed(1)} d`
}
