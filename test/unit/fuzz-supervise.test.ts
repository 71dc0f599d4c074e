/**
 * Hang detection of `npm run fuzz` (bench/fuzz/supervise.ts): a decoder that never
 * returns is run in a real worker thread; the supervisor kills the thread, names the
 * exact input it was on, and goes on with the next input until the budget is spent.
 */
import t from 'tap'
import { DEFAULT_HANG_MS } from '../../bench/fuzz/runner.js'
import { fuzzTargetSupervised } from '../../bench/fuzz/supervise.js'
import { stuckOn, TARGETS } from '../support/fuzz-stuck-target.js'

const INPUTS = 40
const STUCK_MS = 1500

t.test('a stuck input is killed, reported with its input, and the run goes on', async t => {
  const here = import.meta.url
  const targetsModule = new URL(here.endsWith('.ts') ? '../support/fuzz-stuck-target.ts' : '../support/fuzz-stuck-target.js', here).href
  const target = TARGETS[0]!
  const s = await fuzzTargetSupervised(target, { seed: 3, maxInputs: INPUTS, hangMs: DEFAULT_HANG_MS, stuckMs: STUCK_MS, targetsModule })
  t.equal(s.tried, INPUTS, 'every input of the budget was tried, past the stuck ones')
  t.ok(s.hangs > 0, `hangs found: ${s.hangs}`)
  t.equal(s.crashes, 0)
  const killed = s.findings.filter(f => f.kind === 'hang' && /worker killed/.test(f.detail))
  t.equal(killed.length, s.hangs, 'each hang is a killed worker with its input')
  for (const f of killed) t.ok(stuckOn(f.input), 'the input named is one the decoder loops on')
  t.equal(s.accepted + s.hangs, INPUTS, 'every other input returned')
})
