/**
 * The short seeded fuzz run of the test suite: every decoder of bench/fuzz/targets.ts
 * gets a few hundred inputs from its fixed seed (the same inputs every run); any
 * crash (an exception without a stable code, or E_INTERNAL) or hang fails the test
 * and fast-check shrinks the input it found. Longer runs: `npm run fuzz -- --minutes N`.
 */
import fc from 'fast-check'
import t from 'tap'
import { fuzzInput } from '../../bench/fuzz/mutate.js'
import { DEFAULT_HANG_MS, isHang, runInput } from '../../bench/fuzz/runner.js'
import { TARGETS } from '../../bench/fuzz/targets.js'

/** Per decoder; about two seconds for all of them on a shared machine. */
const RUNS_PER_DECODER = 150
const SEED = 21

for (const target of TARGETS) {
  t.test(`fuzz ${target.name}: no crash, no hang`, async t => {
    const seeds = await target.seeds()
    // the seeds themselves are valid: a target that refuses its seeds tests nothing
    for (const s of seeds) {
      const o = await runInput(target, s)
      t.equal(o.kind, 'accepted', `seed accepted (${o.kind === 'crash' ? o.detail : o.code ?? ''})`)
    }
    let tried = 0
    await fc.assert(fc.asyncProperty(fuzzInput(seeds), async input => {
      tried++
      const o = await runInput(target, input)
      if (o.kind === 'crash') throw new Error(`crash: ${o.detail}`)
      if (isHang(o)) throw new Error(`hang: ${o.cpuMs.toFixed(0)} ms CPU over ${DEFAULT_HANG_MS} (${o.ms.toFixed(0)} ms wall)`)
    }), { seed: SEED, numRuns: RUNS_PER_DECODER })
    t.equal(tried, RUNS_PER_DECODER)
  })
}
