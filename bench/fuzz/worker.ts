/**
 * One fuzz target in a worker thread (supervise.ts starts it): runs the target from
 * `start` until the deadline or input count. Before each input it writes where it is,
 * and after it the counts so far, into the shared `progress` array; each finding is
 * posted at once. So when the supervisor kills it on an input that never returns,
 * nothing it found before is lost. Posts `{done: true}` at the end.
 */
import '../../src/polyfill.js'
import { parentPort, workerData } from 'node:worker_threads'
import { SLOT, type WorkerInput, type WorkerMessage } from './progress.js'
import { fuzzTarget } from './runner.js'
import type { FuzzTarget } from './targets.js'

// A refused input throws a StoremeshError: capturing its stack trace was a large part of
// a small decoder's time per input, and no finding needs it (crashes keep name and
// message; the input itself reproduces the crash).
Error.stackTraceLimit = 0

const input = workerData as WorkerInput
const { TARGETS } = await import(input.targetsModule) as { TARGETS: readonly FuzzTarget[] }
const target = TARGETS.find(t => t.name === input.targetName)
if (target === undefined) throw new Error(`no fuzz target ${input.targetName} in ${input.targetsModule}`)
const progress = new Int32Array(input.progress)
const stats = await fuzzTarget(target, {
  seed: input.seed,
  hangMs: input.hangMs,
  ...(input.maxInputs !== undefined ? { maxInputs: input.maxInputs } : {}),
  ...(input.budgetMs !== undefined ? { deadlineMs: performance.now() + input.budgetMs } : {}),
  ...(input.start !== undefined ? { start: input.start } : {}),
  onInput: at => {
    Atomics.store(progress, SLOT.batch, at.batch)
    Atomics.store(progress, SLOT.index, at.index)
  },
  onCounted: (s, finding) => {
    Atomics.store(progress, SLOT.tried, s.tried)
    Atomics.store(progress, SLOT.accepted, s.accepted)
    Atomics.store(progress, SLOT.refused, s.refused)
    Atomics.store(progress, SLOT.crashes, s.crashes)
    Atomics.store(progress, SLOT.hangs, s.hangs)
    Atomics.store(progress, SLOT.maxMicros, Math.min(2 ** 31 - 1, Math.round(s.maxMs * 1000)))
    Atomics.store(progress, SLOT.maxCpuMicros, Math.min(2 ** 31 - 1, Math.round(s.maxCpuMs * 1000)))
    if (finding !== undefined) parentPort?.postMessage({ finding } satisfies WorkerMessage)
  }
})
parentPort?.postMessage({ codes: stats.codes, elapsedMs: stats.elapsedMs, cpuMs: stats.cpuMs, done: true } satisfies WorkerMessage)
