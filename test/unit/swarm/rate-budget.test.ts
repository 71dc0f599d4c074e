import t from 'tap'
import { btFrame } from '../../support/bt-frame.js'
import { RateBudget } from '../../../src/swarm/rate-budget.js'
import { WireBudget } from '../../../src/swarm/wire-budget.js'
import { defaultWireBudgets, KEEPALIVE_INTERVAL_MS } from '../../../src/swarm/constants.js'
import { MSG } from '../../../src/swarm/messages.js'

t.test('GCRA: a burst at once, then the rate; a refusal charges nothing', async t => {
  const b = new RateBudget({ ratePerSec: 2, burst: 3 }, 0)
  t.ok(b.take(1, 0)); t.ok(b.take(1, 0)); t.ok(b.take(1, 0))
  t.notOk(b.take(1, 0), 'the fourth at once is refused')
  t.notOk(b.take(1, 100), 'still refused 100 ms later')
  t.ok(b.take(1, 500), 'one unit back after 1/rate')
  t.notOk(b.take(1, 500))
  t.equal(Math.round(b.available(2000)), 3, 'whole again after burst / rate')
  t.ok(b.take(3, 2000), 'a cost of the whole burst passes when full')
  t.notOk(b.take(1, 2000))
})

t.test('GCRA: byte costs, and invalid limits are refused', async t => {
  const b = new RateBudget({ ratePerSec: 1000, burst: 4000 }, 0)
  t.ok(b.take(4000, 0))
  t.notOk(b.take(1, 0))
  t.ok(b.take(1000, 1000))
  t.throws(() => new RateBudget({ ratePerSec: 0, burst: 1 }, 0), { code: 'E_INVALID_ARGUMENT' })
  t.throws(() => new RateBudget({ ratePerSec: 1, burst: 0.5 }, 0), { code: 'E_INVALID_ARGUMENT' })
})

t.test('wire budget: what an honest peer sends over an hour passes', async t => {
  let now = 0
  const pieces = 400
  const w = new WireBudget({ budgets: defaultWireBudgets, numPieces: pieces, now: () => now })
  t.equal(w.admit(btFrame(MSG.EXTENDED, 20), false), undefined, 'the extended handshake')
  t.equal(w.admit(btFrame(MSG.BITFIELD, Math.ceil(pieces / 8)), false), undefined, 'one bitfield')
  // every chunk announced, and re-offered once by a super-seeder, at once
  let refused = 0
  for (let i = 0; i < 2 * pieces; i++) if (w.admit(btFrame(MSG.HAVE, 4), false) !== undefined) refused++
  t.equal(refused, 0, 'two haves per chunk at once')
  // a full pipeline crossing our choke
  for (let i = 0; i < 64; i++) if (w.admit(btFrame(MSG.REQUEST, 12), true) !== undefined) t.fail('choked request refused')
  for (; now < 60 * 60 * 1000; now += KEEPALIVE_INTERVAL_MS) {
    if (w.admit(btFrame(undefined), false) !== undefined) t.fail(`keep-alive refused at ${now}`)
    for (let i = 0; i < 100; i++) if (w.admit(btFrame(MSG.REQUEST, 12), false) !== undefined) t.fail('request refused')
  }
  t.pass('an hour of keep-alives and requests')
})

t.test('wire budget: each flood is refused with its violation', async t => {
  const now = 1000
  const flood = (id: number | undefined, payload: number, choked = false): string | undefined => {
    const w = new WireBudget({ budgets: defaultWireBudgets, numPieces: 20, now: () => now })
    for (let i = 0; i < 100_000; i++) {
      const over = w.admit(btFrame(id, payload), choked)
      if (over !== undefined) return over.violation
    }
    return undefined
  }
  t.equal(flood(undefined, 0), 'keepalive-flood')
  t.equal(flood(MSG.HAVE, 4), 'have-flood')
  t.equal(flood(MSG.EXTENDED, 100), 'extended-flood')
  t.equal(flood(MSG.REQUEST, 12, true), 'choked-request-flood')
  t.equal(flood(MSG.INTERESTED, 0), 'non-piece-flood', 'state messages count against the byte budget')
  t.equal(flood(MSG.PIECE, 100), undefined, 'pieces are not budgeted here (only answers to our requests pass the wire)')
  const w = new WireBudget({ budgets: defaultWireBudgets, numPieces: 20, now: () => now })
  for (let i = 0; i < 5; i++) t.equal(w.admit(btFrame(undefined), false), undefined, `keep-alive ${i + 1} of the burst`)
  t.equal(w.admit(btFrame(undefined), false)?.violation, 'keepalive-flood', 'the sixth at once')
})
