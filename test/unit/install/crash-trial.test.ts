/**
 * Crash tests, in the trial and after it: for each state a device process is SIGKILLed there and restarted
 * (test/unit/install/crash-harness.ts); it must end committed or rolled back.
 */
import t from 'tap'
import { CASES, crashCase } from './crash-harness.js'

const MINE = new Set(['try-boot', 'booted-trial', 'committed', 'rolled-back'])

t.jobs = 2
for (const c of CASES.filter(c => MINE.has(c.stopAt))) {
  t.test(`SIGKILL in ${c.stopAt} (health ${c.health}${c.corrupt === true ? ', bad hash first' : ''}) → ${c.expectEnd}`, { buffered: true }, async t => {
    await crashCase(t, c)
  })
}
