/**
 * Runs fuzz inputs through a target and sorts each outcome: accepted, refused (a
 * StoremeshError with a stable code), crash (any other exception, or E_INTERNAL) or
 * hang (an input that took longer than `hangMs`). Decoders are synchronous (the
 * wan-pull framer awaits only its in-memory source), so each input's time is measured
 * around the call. A decoder stuck forever cannot be timed from its own thread:
 * `npm run fuzz` runs each target in a worker (supervise.ts) that reports through
 * `onInput` which input it is on, and the inputs are a pure function of (seed, batch,
 * index) (inputAt), so the supervisor can kill a stuck worker and name its input.
 */
import fc from 'fast-check'
import { StoremeshError } from '../../src/interface/errors.js'
import { fuzzInput } from './mutate.js'
import type { FuzzTarget } from './targets.js'

/**
 * An input that takes more CPU than this is a hang (issue 21: "no hang over 1 s").
 * CPU time, not the wall clock: on a loaded machine a thread waits for a core for
 * seconds while doing nothing, and that is the machine, not the decoder. Decoders are
 * synchronous over memory, so an input that spins spends CPU; one that waits forever
 * (no CPU) is killed by the supervisor after `--stuck-ms` of wall time (supervise.ts).
 */
export const DEFAULT_HANG_MS = 1000
/** Inputs made per fast-check sample call. */
export const BATCH = 500
/** Findings kept per target; the count goes on. */
export const MAX_FINDINGS_KEPT = 20

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
  /** slowest single input, wall clock */
  maxMs: number
  /** most CPU one input took (process CPU while it ran: the worker's thread plus the GC's helpers) */
  maxCpuMs: number
  elapsedMs: number
  /** CPU spent fuzzing (inputs made and run), process-wide while the worker ran */
  cpuMs: number
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
  /** resume at this input (after a stuck one was killed); default the first */
  start?: InputPosition
  /** called before each input: where it is in the sequence */
  onInput?: (at: InputPosition) => void
  /** called after each input with the counts so far, and with each finding as it is made */
  onCounted?: (stats: TargetStats, finding?: Finding) => void
}

/** An input's place in a run's deterministic sequence. */
export interface InputPosition {
  batch: number
  index: number
}

function batchSeed (seed: number, batch: number): number {
  return (seed + batch * 7919) | 0
}

/** The input at `at` of a run with `seed` over `seeds`: what a killed worker was on. */
export function inputAt (seeds: Uint8Array[], seed: number, at: InputPosition): Uint8Array {
  const inputs = fc.sample(fuzzInput(seeds), { seed: batchSeed(seed, at.batch), numRuns: at.index + 1 })
  return inputs[at.index] as Uint8Array
}

/** undefined when `err` is a proper refusal; else what makes it a crash. */
export function crashOf (err: unknown): string | undefined {
  if (err instanceof StoremeshError) return err.code === 'E_INTERNAL' ? `E_INTERNAL ${err.message}` : undefined
  const e = err as Error | undefined
  return `${e?.name ?? typeof err}: ${String(e?.message ?? err).slice(0, 300)}`
}

/** `ms`: wall clock; `cpuMs`: process CPU while the input ran */
export type Outcome = ({ kind: 'accepted' | 'refused', code?: string } | { kind: 'crash', detail: string }) & { ms: number, cpuMs: number }

function cpuMsNow (): number {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

/** One input through one target. */
export async function runInput (target: FuzzTarget, input: Uint8Array): Promise<Outcome> {
  const t0 = performance.now()
  const c0 = cpuMsNow()
  try {
    const r = target.run(input)
    if (r instanceof Promise) await r
    return { kind: 'accepted', ms: performance.now() - t0, cpuMs: cpuMsNow() - c0 }
  } catch (err) {
    const ms = performance.now() - t0
    const cpuMs = cpuMsNow() - c0
    const crash = crashOf(err)
    if (crash !== undefined) return { kind: 'crash', detail: crash, ms, cpuMs }
    return { kind: 'refused', code: (err as StoremeshError).code, ms, cpuMs }
  }
}

/** A hang by DEFAULT_HANG_MS's rule: the input's CPU time over the limit. */
export function isHang (o: Outcome, hangMs = DEFAULT_HANG_MS): boolean {
  return o.cpuMs > hangMs
}

export async function fuzzTarget (target: FuzzTarget, options: FuzzOptions): Promise<TargetStats> {
  const hangMs = options.hangMs ?? DEFAULT_HANG_MS
  const arb = fuzzInput(await target.seeds())
  const stats: TargetStats = { name: target.name, tried: 0, accepted: 0, refused: 0, crashes: 0, hangs: 0, maxMs: 0, maxCpuMs: 0, elapsedMs: 0, cpuMs: 0, findings: [], codes: {} }
  const start = performance.now()
  const cpuStart = cpuMsNow()
  const more = (): boolean => (options.maxInputs === undefined || stats.tried < options.maxInputs) &&
    (options.deadlineMs === undefined || performance.now() < options.deadlineMs)
  let skip = options.start?.index ?? 0
  for (let batch = options.start?.batch ?? 0; more(); batch++) {
    // a batch is always sampled whole, so its inputs do not depend on where a run stops or resumes
    const inputs = fc.sample(arb, { seed: batchSeed(options.seed, batch), numRuns: BATCH })
    for (const [index, input] of inputs.entries()) {
      if (index < skip) continue
      if (!more()) break
      options.onInput?.({ batch, index })
      const o = await runInput(target, input)
      stats.tried++
      stats.maxMs = Math.max(stats.maxMs, o.ms)
      stats.maxCpuMs = Math.max(stats.maxCpuMs, o.cpuMs)
      let finding: Finding | undefined
      if (o.kind === 'crash') {
        stats.crashes++
        finding = { kind: 'crash', input, detail: o.detail, ms: o.ms }
      } else {
        stats[o.kind]++
        if (o.code !== undefined) stats.codes[o.code] = (stats.codes[o.code] ?? 0) + 1
      }
      if (isHang(o, hangMs)) {
        stats.hangs++
        finding ??= { kind: 'hang', input, detail: `${o.cpuMs.toFixed(0)} ms CPU (${o.ms.toFixed(0)} ms wall)`, ms: o.ms }
      }
      if (finding !== undefined && stats.findings.length < MAX_FINDINGS_KEPT) stats.findings.push(finding)
      options.onCounted?.(stats, finding)
    }
    skip = 0
  }
  stats.elapsedMs = performance.now() - start
  stats.cpuMs = cpuMsNow() - cpuStart
  return stats
}
