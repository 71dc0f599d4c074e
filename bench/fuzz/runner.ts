/**
 * Runs fuzz inputs through a target and sorts each outcome: accepted, refused (a
 * StoremeshError with a stable code), crash (any other exception, or E_INTERNAL) or
 * hang (an input that took longer than `hangMs`). Decoders are synchronous (the
 * wan-pull framer awaits only its in-memory source), so each input's time is measured
 * around the call; a decoder stuck forever would stall the run, and its last input is
 * the one printed by `npm run fuzz` before it stalls (`--verbose`).
 */
import fc from 'fast-check'
import { StoremeshError } from '../../src/interface/errors.js'
import { fuzzInput } from './mutate.js'
import type { FuzzTarget } from './targets.js'

/** An input slower than this is a hang (issue 21: "no hang over 1 s"). */
export const DEFAULT_HANG_MS = 1000
/** Inputs made per fast-check sample call. */
const BATCH = 500
/** Findings kept per target; the count goes on. */
const MAX_FINDINGS_KEPT = 20

export interface Finding {
  kind: 'crash' | 'hang'
  input: Uint8Array
  /** the exception, or the time taken */
  detail: string
  ms: number
}

export interface TargetStats {
  name: string
  tried: number
  accepted: number
  refused: number
  crashes: number
  hangs: number
  /** slowest single input */
  maxMs: number
  elapsedMs: number
  findings: Finding[]
  /** refusals by code: shows which checks the inputs reach */
  codes: Record<string, number>
}

export interface FuzzOptions {
  seed: number
  /** stop after this many inputs */
  maxInputs?: number
  /** or at this time (performance.now() ms) */
  deadlineMs?: number
  hangMs?: number
}

/** undefined when `err` is a proper refusal; else what makes it a crash. */
export function crashOf (err: unknown): string | undefined {
  if (err instanceof StoremeshError) return err.code === 'E_INTERNAL' ? `E_INTERNAL ${err.message}` : undefined
  const e = err as Error | undefined
  return `${e?.name ?? typeof err}: ${String(e?.message ?? err).slice(0, 300)}`
}

export type Outcome = { kind: 'accepted' | 'refused', code?: string, ms: number } | { kind: 'crash', detail: string, ms: number }

/** One input through one target. */
export async function runInput (target: FuzzTarget, input: Uint8Array): Promise<Outcome> {
  const t0 = performance.now()
  try {
    const r = target.run(input)
    if (r instanceof Promise) await r
    return { kind: 'accepted', ms: performance.now() - t0 }
  } catch (err) {
    const ms = performance.now() - t0
    const crash = crashOf(err)
    if (crash !== undefined) return { kind: 'crash', detail: crash, ms }
    return { kind: 'refused', code: (err as StoremeshError).code, ms }
  }
}

export async function fuzzTarget (target: FuzzTarget, options: FuzzOptions): Promise<TargetStats> {
  const hangMs = options.hangMs ?? DEFAULT_HANG_MS
  const arb = fuzzInput(await target.seeds())
  const stats: TargetStats = { name: target.name, tried: 0, accepted: 0, refused: 0, crashes: 0, hangs: 0, maxMs: 0, elapsedMs: 0, findings: [], codes: {} }
  const start = performance.now()
  const more = (): boolean => (options.maxInputs === undefined || stats.tried < options.maxInputs) &&
    (options.deadlineMs === undefined || performance.now() < options.deadlineMs)
  for (let batch = 0; more(); batch++) {
    const want = options.maxInputs === undefined ? BATCH : Math.min(BATCH, options.maxInputs - stats.tried)
    const inputs = fc.sample(arb, { seed: (options.seed + batch * 7919) | 0, numRuns: want })
    for (const input of inputs) {
      if (!more()) break
      const o = await runInput(target, input)
      stats.tried++
      stats.maxMs = Math.max(stats.maxMs, o.ms)
      if (o.kind === 'crash') {
        stats.crashes++
        if (stats.findings.length < MAX_FINDINGS_KEPT) stats.findings.push({ kind: 'crash', input, detail: o.detail, ms: o.ms })
      } else {
        stats[o.kind]++
        if (o.code !== undefined) stats.codes[o.code] = (stats.codes[o.code] ?? 0) + 1
      }
      if (o.ms > hangMs) {
        stats.hangs++
        if (stats.findings.length < MAX_FINDINGS_KEPT) stats.findings.push({ kind: 'hang', input, detail: `${o.ms.toFixed(0)} ms`, ms: o.ms })
      }
    }
  }
  stats.elapsedMs = performance.now() - start
  return stats
}
