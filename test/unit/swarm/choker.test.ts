import t from 'tap'
import { Choker, type ChokerPeer } from '../../../src/swarm/choker.js'

const peer = (id: string, score = 0, link: 'lan' | 'wan' = 'lan', candidate = true): ChokerPeer => ({ id, score, link, candidate })
const init = { uploadSlots: 4, optimisticSlots: 1, intervalMs: 10_000 }

t.test('4 regular slots by score plus 1 optimistic', async t => {
  const c = new Choker(init)
  const peers = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((id, i) => peer(id, 100 - i))
  const on = c.decide(peers, 0)
  t.equal(on.size, 5)
  for (const id of ['a', 'b', 'c', 'd']) t.ok(on.has(id), `${id} ranks in the top 4`)
  const [opt] = [...c.optimistic]
  t.ok(opt !== undefined && ['e', 'f', 'g', 'h'].includes(opt), 'the optimistic slot goes to a choked peer')
})

t.test('LAN peers before WAN peers, then those that upload to us', async t => {
  const c = new Choker({ ...init, optimisticSlots: 0 })
  const on = c.decide([peer('w1', 1000, 'wan'), peer('w2', 900, 'wan'), peer('l1', 0), peer('l2', 5), peer('l3', 1)], 0)
  t.same([...on].sort(), ['l1', 'l2', 'l3', 'w1'])
})

t.test('non-candidates are never unchoked; a freed slot is filled at once, ranks only change at rotation', async t => {
  let now = 0
  const c = new Choker({ ...init, optimisticSlots: 0 })
  const peers = [peer('a', 10), peer('b', 9), peer('c', 8), peer('d', 7), peer('e', 6), peer('x', 99, 'lan', false)]
  t.same([...c.decide(peers, now)].sort(), ['a', 'b', 'c', 'd'])
  now += 1000
  // e uploads a lot now, but the interval has not passed: nobody loses a slot
  const later = peers.map(p => p.id === 'e' ? { ...p, score: 1000 } : p)
  t.same([...c.decide(later, now)].sort(), ['a', 'b', 'c', 'd'])
  // b stops being interested: its slot goes to e right away
  const bGone = later.map(p => p.id === 'b' ? { ...p, candidate: false } : p)
  t.same([...c.decide(bGone, now)].sort(), ['a', 'c', 'd', 'e'])
  // at the next rotation the ranking is redone
  now += 10_000
  const ranked = bGone.map(p => p.id === 'b' ? { ...p, candidate: true, score: 500 } : p)
  t.same([...c.decide(ranked, now)].sort(), ['a', 'b', 'c', 'e'])
})

t.test('the optimistic slot rotates every interval (injectable clock)', async t => {
  let x = 7
  const random = (): number => { x = (x * 1103515245 + 12345) % 2147483648; return x / 2147483648 }
  const c = new Choker({ uploadSlots: 1, optimisticSlots: 1, intervalMs: 10_000, random })
  const peers = [peer('top', 100), peer('p1'), peer('p2'), peer('p3')]
  const seen = new Set<string>()
  let now = 0
  let prev: string | undefined
  for (let round = 0; round < 12; round++) {
    c.decide(peers, now)
    const [opt] = [...c.optimistic]
    t.ok(opt !== undefined && opt !== 'top')
    if (prev !== undefined) t.not(opt, prev, 'a different peer each rotation')
    // within the interval it stays put
    c.decide(peers, now + 5000)
    t.equal([...c.optimistic][0], opt)
    seen.add(opt as string)
    prev = opt
    now += 10_000
  }
  t.same([...seen].sort(), ['p1', 'p2', 'p3'], 'every choked peer got a turn')
})

t.test('newcomers (candidates we never sent a chunk) are unchoked at once beside full slots, until they got one', async t => {
  const c = new Choker({ ...init, optimisticSlots: 0 })
  const peers = ['a', 'b', 'c', 'd', 'e'].map((id, i) => peer(id, 100 - i))
  t.same([...c.decide(peers, 0)].sort(), ['a', 'b', 'c', 'd'], 'slots full: e waits')
  // before, n waited for a rotation and a random optimistic pick: its requester's hoarder clock ran meanwhile
  const n = { ...peer('n', 0), newcomer: true }
  t.same([...c.decide([...peers, n], 1000)].sort(), ['a', 'b', 'c', 'd', 'n'], 'the newcomer at once, between rotations')
  t.same([...c.decide([...peers, { ...n, candidate: false }], 2000)].sort(), ['a', 'b', 'c', 'd'], 'not interested: not unchoked')
  t.same([...c.decide([...peers, { ...n, newcomer: false }], 3000)].sort(), ['a', 'b', 'c', 'd'], 'served once: it waits for a slot like e')
})
