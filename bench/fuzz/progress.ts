/**
 * What the fuzz supervisor (supervise.ts) and its worker threads (worker.ts) share: the
 * worker's input, its messages, and the slots of the shared progress array. A module of
 * its own: importing worker.ts would run a worker in the importing thread.
 */
import type { Finding, InputPosition } from './runner.js'

export interface WorkerInput {
  /** module exporting TARGETS (targets.ts; a test passes its own) */
  targetsModule: string
  targetName: string
  seed: number
  maxInputs?: number | undefined
  /** fuzzing time for this worker, counted from when its target is loaded (a worker's start is not the target's time) */
  budgetMs?: number | undefined
  hangMs: number
  start?: InputPosition | undefined
  /** Int32Array over it, slots below */
  progress: SharedArrayBuffer
}

/** `elapsedMs`: the worker's fuzzing time, without its start */
export type WorkerMessage = { finding: Finding } | { codes: Record<string, number>, elapsedMs: number, cpuMs: number, done: true }

export const SLOT = { batch: 0, index: 1, tried: 2, accepted: 3, refused: 4, crashes: 5, hangs: 6, maxMicros: 7, maxCpuMicros: 8 } as const
export const PROGRESS_SLOTS = 9

