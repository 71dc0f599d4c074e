import t from 'tap'
import { FairScheduler } from '../../../src/wan/priority.js'

/** A deterministic stream of chunk sizes between 64 KiB and 1 MiB. */
function sizes (seed: number): () => number {
  let x = seed
  return () => {
    x = (x * 1103515245 + 12345) % 2 ** 31
    return 64 * 1024 + (x % (960 * 1024))
  }
}

const MAX_REQUEST = 1024 * 1024

t.test('backlogged stores share bytes by weight within the SFQ bound', async t => {
  const fair = new FairScheduler<number>()
  const weights: Record<string, number> = { a: 1, b: 2, c: 5 }
  const next: Record<string, () => number> = { a: sizes(1), b: sizes(2), c: sizes(3) }
  for (const [id, weight] of Object.entries(weights)) fair.setFlow(id, { weight })
  // Keep every store backlogged: refill a store's queue whenever it runs low.
  for (const id of Object.keys(weights)) for (let i = 0; i < 4; i++) fair.enqueue(id, next[id]!(), i)
  let worst = 0
  for (let step = 0; step < 20_000; step++) {
    const r = fair.next()
    if (r === undefined) throw new Error('nothing pending')
    if (fair.pending(r.flowId) < 4) fair.enqueue(r.flowId, next[r.flowId]!(), step)
    const ids = Object.keys(weights)
    for (const i of ids) {
      for (const j of ids) {
        const gap = Math.abs(fair.servedBytes(i) / weights[i]! - fair.servedBytes(j) / weights[j]!)
        const bound = MAX_REQUEST / weights[i]! + MAX_REQUEST / weights[j]!
        worst = Math.max(worst, gap / bound)
      }
    }
  }
  t.ok(worst <= 1, `normalised service never differs by more than the bound (worst ${(worst * 100).toFixed(1)}% of it)`)
  const total = ['a', 'b', 'c'].reduce((s, id) => s + fair.servedBytes(id), 0)
  for (const [id, w] of Object.entries(weights)) {
    const share = fair.servedBytes(id) / total
    t.ok(Math.abs(share - w / 8) < 0.01, `${id} (weight ${w}) got ${(share * 100).toFixed(2)}% of the bytes, ${(w / 8 * 100).toFixed(1)}% expected`)
  }
})

t.test('critical stores are served first, strictly', async t => {
  const fair = new FairScheduler<string>()
  fair.setFlow('store-1', { weight: 100 })
  fair.setFlow('hq', { class: 'critical' })
  fair.setFlow('broken-tills', { class: 'critical', weight: 3 })
  for (let i = 0; i < 10; i++) fair.enqueue('store-1', 1000, `s${i}`)
  for (let i = 0; i < 4; i++) fair.enqueue('hq', 1000, `h${i}`)
  for (let i = 0; i < 12; i++) fair.enqueue('broken-tills', 1000, `b${i}`)
  const order: string[] = []
  for (let r = fair.next(); r !== undefined; r = fair.next()) order.push(r.flowId)
  const firstNormal = order.indexOf('store-1')
  t.equal(firstNormal, 16, 'all 16 critical requests before the first normal one')
  t.same(order.slice(0, 8), ['hq', 'broken-tills', 'broken-tills', 'broken-tills', 'hq', 'broken-tills', 'broken-tills', 'broken-tills'], 'weights apply inside the critical class too')
  t.equal(fair.pending(), 0)
})

t.test('an idle store gets no credit for its idle time', async t => {
  const fair = new FairScheduler<number>()
  for (let i = 0; i < 100; i++) fair.enqueue('busy', 100_000, i)
  for (let i = 0; i < 50; i++) fair.next()
  for (let i = 0; i < 100; i++) fair.enqueue('late', 100_000, i)
  const order: string[] = []
  for (let i = 0; i < 20; i++) order.push(fair.next()!.flowId)
  const late = order.filter(x => x === 'late').length
  t.ok(late >= 9 && late <= 11, `the late store shares from now on (${late} of 20), it does not catch up`)
})

t.test('peek, cancel, class moves, removal and invalid input', async t => {
  const fair = new FairScheduler<string>()
  fair.enqueue('a', 10, 'a1')
  fair.enqueue('a', 10, 'a2')
  fair.enqueue('b', 10, 'b1')
  t.same(fair.peek(), { flowId: 'a', class: 'normal', bytes: 10, item: 'a1' })
  t.equal(fair.pending(), 3, 'peek removes nothing')
  t.same(fair.cancel('a', x => x === 'a1'), ['a1'])
  t.equal(fair.pending('a'), 1)
  fair.setFlow('b', { class: 'critical' })
  t.equal(fair.next()?.item, 'b1', 'a store moved to critical takes its queue along')
  t.same(fair.removeFlow('a'), ['a2'])
  t.equal(fair.pending(), 0)
  t.equal(fair.next(), undefined)
  t.throws(() => fair.setFlow('x', { weight: 0 }), { code: 'E_INVALID_ARGUMENT' })
  t.throws(() => fair.setFlow('x', { weight: Number.POSITIVE_INFINITY }), { code: 'E_INVALID_ARGUMENT' })
  t.throws(() => fair.setFlow('x', { class: 'vip' as 'critical' }), { code: 'E_INVALID_ARGUMENT' })
  t.throws(() => fair.enqueue('x', -1, 'bad'), { code: 'E_INVALID_ARGUMENT' })
  t.equal(fair.servedBytes('nobody'), 0)
})

t.test('forgetIdleFlows drops finished stores without changing decisions', async t => {
  const keep = new FairScheduler<number>()
  const forget = new FairScheduler<number>({ forgetIdleFlows: true })
  const orderOf = (f: FairScheduler<number>): string[] => {
    const out: string[] = []
    for (let round = 0; round < 50; round++) {
      for (let s = 0; s < 20; s++) if ((round + s) % 3 === 0) f.enqueue(`s${(round * 7 + s) % 40}`, 1000 + s * 100, round)
      for (let k = 0; k < 5; k++) {
        const r = f.next()
        if (r !== undefined) out.push(r.flowId)
      }
    }
    return out
  }
  t.same(orderOf(forget), orderOf(keep), 'same order')
  // Once one store has moved virtual time past everyone's last finish, the idle ones go.
  for (const f of [keep, forget]) {
    for (let i = 0; i < 200; i++) f.enqueue('z', 100_000, i)
    while (f.next() !== undefined) { /* drain */ }
  }
  t.equal(keep.flowCount, 41, 'without the option every store stays')
  t.ok(forget.flowCount <= 2, `with it only the active store is left (${forget.flowCount})`)
})

t.test('virtual time is rebased without changing the order', async t => {
  const fair = new FairScheduler<number>()
  fair.setFlow('tiny', { weight: 0.001 })
  fair.setFlow('big', { weight: 1 })
  // Each 1 GiB request at weight 0.001 moves virtual time by 2^40: rebases happen.
  const order: string[] = []
  for (let i = 0; i < 6; i++) { fair.enqueue('tiny', 2 ** 30, i); fair.enqueue('big', 2 ** 30, i) }
  for (let r = fair.next(); r !== undefined; r = fair.next()) order.push(r.flowId)
  t.equal(order.length, 12)
  t.equal(order.slice(0, 2).sort().join(), 'big,tiny', 'both start at once')
  t.same(order.slice(2, 7), ['big', 'big', 'big', 'big', 'big'], 'then the light-weight store waits')
})
