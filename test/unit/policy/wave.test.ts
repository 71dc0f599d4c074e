/** wave.admitted: stable buckets, the admitted share close to the percentage, cohorts that only grow. */
import t from 'tap'
import { WAVE_BUCKETS } from '../../../src/policy/constants.js'
import { admittedBuckets, isAdmitted, waveBucket } from '../../../src/policy/wave.js'

const IDS = Array.from({ length: 10_000 }, (_, i) => `dev-${i}`)

t.test('buckets are stable across runs and releases (fixed vectors)', async t => {
  // Recorded once: a change here moves devices between waves fleet-wide.
  t.equal(waveBucket('pos-q4', 'pos-17'), 8657)
  t.equal(waveBucket('pos-q4', 'pos-18'), 4703)
  t.equal(waveBucket('kiosk-q4', 'pos-17'), 4237)
  t.equal(waveBucket('pos-q4', 'pos-17'), waveBucket('pos-q4', 'pos-17'))
})

t.test('the separator keeps (name, id) pairs apart', async t => {
  t.not(waveBucket('ab', 'c'), waveBucket('a', 'bc'))
})

t.test('about the percentage of 10,000 devices is admitted', async t => {
  for (const pct of [1, 5, 25, 50]) {
    const n = IDS.filter(id => isAdmitted('pos-q4', id, pct)).length
    const expected = pct * 100
    // Binomial sd at 50 % is 50; 6 sd either side cannot fail by chance, a broken hash does.
    const slack = Math.max(30, 6 * Math.sqrt(IDS.length * (pct / 100) * (1 - pct / 100)))
    t.ok(Math.abs(n - expected) <= slack, `${pct} %: ${n} admitted, expected ${expected} ± ${Math.round(slack)}`)
  }
  t.equal(IDS.filter(id => isAdmitted('pos-q4', id, 0)).length, 0, '0 % admits none')
  t.equal(IDS.filter(id => isAdmitted('pos-q4', id, 100)).length, IDS.length, '100 % admits all')
  const buckets = IDS.map(id => waveBucket('pos-q4', id))
  t.ok(buckets.every(b => Number.isInteger(b) && b >= 0 && b < WAVE_BUCKETS), 'buckets in range')
})

t.test('widening a wave only adds devices', async t => {
  const at5 = new Set(IDS.filter(id => isAdmitted('pos-q4', id, 5)))
  const at20 = new Set(IDS.filter(id => isAdmitted('pos-q4', id, 20)))
  t.ok([...at5].every(id => at20.has(id)), 'every 5 % device is in the 20 % wave')
})

t.test('another policy name draws another cohort', async t => {
  const a = new Set(IDS.filter(id => isAdmitted('pos-q4', id, 10)))
  const b = IDS.filter(id => isAdmitted('kiosk-q4', id, 10))
  const both = b.filter(id => a.has(id)).length
  // Independent 10 % draws overlap in about 1 % (100 devices); the same cohort would be 1000.
  t.ok(both < 250, `overlap ${both}`)
})

t.test('fractional percentages', async t => {
  t.equal(admittedBuckets(0.01), 1)
  t.equal(admittedBuckets(0.5), 50)
  t.equal(admittedBuckets(100), WAVE_BUCKETS)
})
