/**
 * `node --import tsx --import ./src/polyfill.ts bench/fuzz/profile.ts [--batches N] [--only a,b] [--seed S]`
 *
 * Where a fuzz target's time goes, in CPU time (process.cpuUsage: it survives a loaded
 * machine, a wall clock does not): making the inputs (fast-check sampling and the
 * mutations, mutate.ts) against running them through the decoder, per input, in this
 * thread (no worker), with the worker's settings (`--stacks`: with stack traces, as
 * before). Prints µs of CPU per input for each part and the decoder's share.
 */
import { parseArgs } from 'node:util'
import fc from 'fast-check'
import { fuzzInput } from './mutate.js'
import { BATCH, runInput } from './runner.js'
import { TARGETS, targetNamed } from './targets.js'

const { values } = parseArgs({ options: { batches: { type: 'string', default: '2' }, only: { type: 'string' }, seed: { type: 'string', default: '5' }, stacks: { type: 'boolean', default: false } } })
// as the fuzz worker runs (worker.ts): no stack traces captured for the refusals; --stacks to compare
if (values.stacks !== true) Error.stackTraceLimit = 0
const batches = Number(values.batches)
const targets = values.only === undefined ? TARGETS : values.only.split(',').map(targetNamed)
const cpuUs = (): number => { const u = process.cpuUsage(); return u.user + u.system }

process.stdout.write(`${'target'.padEnd(20)} ${'inputs'.padStart(7)} ${'gen µs'.padStart(8)} ${'run µs'.padStart(8)} ${'run %'.padStart(6)} ${'mean bytes'.padStart(10)}\n`)
for (const target of targets) {
  const arb = fuzzInput(await target.seeds())
  let genUs = 0
  let runUs = 0
  let n = 0
  let bytes = 0
  for (let b = 0; b < batches; b++) {
    const g0 = cpuUs()
    const inputs = fc.sample(arb, { seed: Number(values.seed) + b * 7919, numRuns: BATCH })
    genUs += cpuUs() - g0
    const r0 = cpuUs()
    for (const input of inputs) await runInput(target, input)
    runUs += cpuUs() - r0
    n += inputs.length
    bytes += inputs.reduce((s, i) => s + i.byteLength, 0)
  }
  process.stdout.write(`${target.name.padEnd(20)} ${String(n).padStart(7)} ${(genUs / n).toFixed(0).padStart(8)} ${(runUs / n).toFixed(0).padStart(8)} ${(100 * runUs / (genUs + runUs)).toFixed(0).padStart(6)} ${(bytes / n).toFixed(0).padStart(10)}\n`)
}
