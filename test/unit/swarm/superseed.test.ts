import t from 'tap'
import { Bits } from '../../../src/swarm/bits.js'
import { SuperSeeder } from '../../../src/swarm/superseed.js'

const all = (n: number): Bits => { const b = new Bits(n); for (let i = 0; i < n; i++) b.set(i); return b }

function setup (n: number, peers: string[], over: { offersPerPeer?: number } = {}): { s: SuperSeeder, clock: { now: number } } {
  const clock = { now: 0 }
  const s = new SuperSeeder({ numPieces: n, offersPerPeer: over.offersPerPeer ?? 2, stallMs: 5000, offerTimeoutMs: 30_000, now: () => clock.now })
  for (const p of peers) { s.addPeer(p); s.peerBitfield(p, new Bits(n)); s.setUnchoked(p, true) }
  return { s, clock }
}

t.test('each chunk is offered to one peer only', async t => {
  const { s } = setup(10, ['a', 'b', 'c'])
  const held = all(10)
  const offered = ['a', 'b', 'c'].map(p => s.offers(p, held, 0))
  for (const o of offered) t.equal(o.length, 2)
  t.equal(new Set(offered.flat()).size, 6, 'no chunk offered twice')
  t.same(s.offers('a', held, 0), [], 'no more until an offer is re-shared')
})

t.test('the next chunk is revealed only when another peer shows it has the first', async t => {
  const { s } = setup(10, ['a', 'b', 'c'], { offersPerPeer: 1 })
  const held = all(10)
  const [x] = s.offers('a', held, 0)
  s.offers('b', held, 0)
  t.same(s.peerHave('a', x as number), ['a'], 'a downloaded it: only a to revisit')
  t.same(s.offers('a', held, 0), [], 'a holds it, but nobody else does yet')
  t.same(s.peerHave('b', x as number).sort(), ['a', 'b'], 'b got it from a')
  const next = s.offers('a', held, 0)
  t.equal(next.length, 1, 'a is offered a new chunk')
  t.not(next[0], x)
})

t.test('a single peer is released as soon as it holds its offer (nobody lacks it)', async t => {
  const { s } = setup(4, ['solo'], { offersPerPeer: 1 })
  const held = all(4)
  const got: number[] = []
  for (let i = 0; i < 4; i++) {
    const [x] = s.offers('solo', held, 0)
    t.ok(x !== undefined)
    got.push(x as number)
    s.peerHave('solo', x as number)
  }
  t.same(got.sort(), [0, 1, 2, 3])
  t.equal(s.fallbackReveals, 0)
})

t.test('stalled peers fall back to normal seeding for chunks already handed out', async t => {
  const { s, clock } = setup(4, ['a', 'b'])
  const held = all(4)
  const oa = s.offers('a', held, 0)
  const ob = s.offers('b', held, 0)
  for (const i of oa) s.peerHave('a', i)
  for (const i of ob) s.peerHave('b', i)
  // a and b never exchange (say, they cannot reach each other): nothing new to offer
  t.same(s.offers('a', held, 0), [])
  clock.now += 4999
  t.same(s.offers('a', held, 0), [], 'not stalled yet')
  clock.now += 1
  t.same(s.offers('a', held, 1), [], 'a still has a request at us: not stalled')
  t.same(s.offers('a', held, 0).sort(), [...ob].sort(), 'stalled: a is shown what b already has')
  t.same(s.offers('b', held, 0).sort(), [...oa].sort())
  t.equal(s.fallbackReveals, 4)
})

t.test('offers go back to the pool on choke, departure or timeout', async t => {
  const { s, clock } = setup(6, ['a', 'b', 'c'], { offersPerPeer: 2 })
  const held = all(6)
  const oa = s.offers('a', held, 0)
  s.setUnchoked('a', false)
  t.same(s.offersOf('a'), [], 'choked: offers released')
  s.setUnchoked('c', false)
  const ob = s.offers('b', held, 0)
  t.equal(ob.length, 2)
  s.removePeer('b')
  s.setUnchoked('c', true)
  const oc = s.offers('c', held, 0)
  t.equal(oc.length, 2, 'c gets offers from the freed pool')
  clock.now += 30_000
  t.same(s.offers('c', held, 0).filter(i => oc.includes(i)), [], 'expired offers are not re-offered to c')
  t.equal(s.offersOf('c').length, 2, 'c got fresh ones instead')
  t.ok(oa.length === 2)
})

t.test('only unchoked peers get offers', async t => {
  const { s } = setup(3, ['a'])
  s.setUnchoked('a', false)
  t.same(s.offers('a', all(3), 0), [])
  s.setUnchoked('a', true)
  t.equal(s.offers('a', all(3), 0).length, 2)
})

t.test('maxInTransit: few offers wait to be downloaded, and a free one goes to the peer shown the fewest', async t => {
  const clock = { now: 0 }
  const n = 20
  const s = new SuperSeeder({ numPieces: n, offersPerPeer: 2, maxInTransit: 2, stallMs: 5000, offerTimeoutMs: 30_000, now: () => clock.now })
  const peers = ['a', 'b', 'c', 'd']
  for (const p of peers) { s.addPeer(p); s.peerBitfield(p, new Bits(n)); s.setUnchoked(p, true) }
  const held = all(n)
  const first = peers.map(p => s.offers(p, held, 0))
  t.equal(first.flat().length, 2, 'two offers in transit over all peers')
  t.equal(s.inTransit, 2)
  const [x] = first[0] as number[]
  const wake = s.peerHave('a', x as number)
  t.same(wake.sort(), peers, 'a downloaded: every peer may take the free slot')
  t.equal(s.inTransit, 1)
  t.same(s.offers('a', held, 0), [], 'a was shown chunks already; a peer shown none waits')
  const next = peers.map(p => [p, s.offers(p, held, 0)] as const).filter(([, o]) => o.length > 0)
  t.equal(next.length, 1, 'one new offer')
  t.not(next[0]?.[0], 'a', 'to a hungrier peer')
  t.equal(s.inTransit, 2)
})

t.test('a hoarder with a full bitfield does not stop offers; its claims count only once it served', async t => {
  const clock = { now: 0 }
  const n = 6
  const s = new SuperSeeder({ numPieces: n, offersPerPeer: 1, stallMs: 5000, offerTimeoutMs: 30_000, proveWithinMs: 10_000, now: () => clock.now })
  for (const p of ['a', 'h']) { s.addPeer(p); s.setUnchoked(p, true) }
  s.peerBitfield('a', new Bits(n))
  s.peerBitfield('h', all(n))
  const held = all(n)
  const got: number[] = []
  for (let k = 0; k < n; k++) {
    const [x] = s.offers('a', held, 0)
    t.ok(x !== undefined, `offer ${k} made although h claims everything`)
    s.peerSent('a', x as number)
    s.peerHave('a', x as number)
    got.push(x as number)
  }
  t.same(got.sort(), [0, 1, 2, 3, 4, 5], 'a was offered every chunk, one at a time')
  t.equal(s.fallbackReveals, 0, 'no stall fallback needed')
  t.notOk(s.isHoarder('h'), 'not yet: it has had no time to serve')
  clock.now += 10_000
  s.offers('h', held, 0)
  t.ok(s.isHoarder('h'), 'claimed and never served within proveWithinMs: a hoarder')
  t.equal(s.hoarders, 1)
  s.offers('h', held, 0)
  t.equal(s.hoarders, 1, 'counted once')
  t.notOk(s.isHoarder('a'), 'a claims only what we sent it')
})

t.test('without the rule: the same hoarder, had its claims counted, would freeze the offers', async t => {
  // the control: a peer proven by serving us has its claims counted, and then nothing is offered
  const s = new SuperSeeder({ numPieces: 4, offersPerPeer: 1, stallMs: 5000, offerTimeoutMs: 30_000, now: () => 0 })
  for (const p of ['a', 'h']) { s.addPeer(p); s.setUnchoked(p, true) }
  s.peerBitfield('a', new Bits(4))
  s.peerBitfield('h', all(4))
  s.peerServed('h')
  t.ok(s.isProven('h'))
  t.same(s.offers('a', all(4), 0), [], 'a credible holder of everything: nothing to offer')
})

t.test('a peer is proven when its chunk turns up at a peer we never sent it to', async t => {
  const s = new SuperSeeder({ numPieces: 6, offersPerPeer: 1, stallMs: 5000, offerTimeoutMs: 30_000, now: () => 0 })
  for (const p of ['a', 'b', 'h']) { s.addPeer(p); s.peerBitfield(p, new Bits(6)); s.setUnchoked(p, true) }
  s.peerBitfield('h', all(6))
  const [x] = s.offers('a', all(6), 0)
  s.peerSent('a', x as number)
  s.peerHave('a', x as number)
  t.notOk(s.isProven('a'))
  s.peerHave('b', x as number)
  t.ok(s.isProven('a'), 'b got it from a: the one peer we sent it to')
  t.notOk(s.isProven('h'), 'h claims it too, but we sent it to a')
  // b's own unsent claim with two other claimers and none sent by us proves nobody
  const s2 = new SuperSeeder({ numPieces: 2, offersPerPeer: 1, stallMs: 5000, offerTimeoutMs: 30_000, now: () => 0 })
  for (const p of ['b', 'h1', 'h2']) { s2.addPeer(p); s2.peerBitfield(p, p === 'b' ? new Bits(2) : all(2)); s2.setUnchoked(p, true) }
  s2.peerHave('b', 0)
  t.notOk(s2.isProven('h1') || s2.isProven('h2'), 'ambiguous: nobody credited')
  s2.peerHave('b', 1)
  s2.removePeer('h2')
  const s3 = new SuperSeeder({ numPieces: 2, offersPerPeer: 1, stallMs: 5000, offerTimeoutMs: 30_000, now: () => 0 })
  for (const p of ['b', 'r']) { s3.addPeer(p); s3.peerBitfield(p, p === 'b' ? new Bits(2) : all(2)); s3.setUnchoked(p, true) }
  s3.peerHave('b', 0)
  t.ok(s3.isProven('r'), 'the only other claimer served it (a resumed device)')
  // the plain case: two devices, a re-shares what the hub sent it
  const s4 = new SuperSeeder({ numPieces: 4, offersPerPeer: 1, stallMs: 5000, offerTimeoutMs: 30_000, now: () => 0 })
  for (const p of ['a', 'b']) { s4.addPeer(p); s4.peerBitfield(p, new Bits(4)); s4.setUnchoked(p, true) }
  const [y] = s4.offers('a', all(4), 0)
  s4.peerSent('a', y as number)
  s4.peerHave('a', y as number)
  s4.peerHave('b', y as number)
  t.ok(s4.isProven('a'), 'a served b')
  t.notOk(s4.isProven('b'))
})

t.test('an honest device never proven is not named a hoarder: every chunk it claims was in circulation', async t => {
  // a at the sole holder's cap: c, d and e each got chunks only through it and peers
  // that got them from it, and none is ever the one provable source (credit goes to a,
  // whom we sent them). Before, "claims a chunk we never sent it" named c, d and e.
  const clock = { now: 0 }
  const n = 8
  const s = new SuperSeeder({ numPieces: n, offersPerPeer: 1, stallMs: 5000, offerTimeoutMs: 30_000, proveWithinMs: 10_000, now: () => clock.now })
  const peers = ['a', 'b', 'c', 'd', 'e']
  for (const p of peers) { s.addPeer(p); s.peerBitfield(p, new Bits(n)); s.setUnchoked(p, true) }
  s.peerSent('a', 0)
  s.peerHave('a', 0)
  s.peerSent('b', 1)
  s.peerHave('b', 1)
  for (const p of ['c', 'd', 'e']) { s.peerHave(p, 0); clock.now += 1000 }
  // chunk 1 reaches c and d through b and each other: credit goes to b, whom we sent it
  s.peerHave('c', 1)
  s.peerHave('d', 1)
  clock.now += 60_000
  for (const p of peers) s.offers(p, all(n), 0)
  for (const p of ['c', 'd', 'e']) t.notOk(s.isProven(p), `${p} is not proven (its claims stay demoted)`)
  t.equal(s.hoarders, 0, 'and none is named a hoarder')
  // a late bitfield of circulating chunks, an honest device that got them elsewhere in the store
  s.addPeer('f')
  s.peerBitfield('f', Bits.from(new Uint8Array([0b1100_0000]), n))
  clock.now += 60_000
  s.offers('f', all(n), 0)
  t.notOk(s.isHoarder('f'), 'a bitfield of circulating chunks is explained too')
})

t.test('a claim made before the chunk circulates is unexplained: named after proveWithinMs', async t => {
  const clock = { now: 0 }
  const n = 8
  const s = new SuperSeeder({ numPieces: n, offersPerPeer: 1, stallMs: 5000, offerTimeoutMs: 30_000, proveWithinMs: 10_000, now: () => clock.now })
  for (const p of ['a', 'h', 'k']) { s.addPeer(p); s.peerBitfield(p, new Bits(n)); s.setUnchoked(p, true) }
  s.peerSent('a', 0)
  s.peerHave('a', 0)
  // h claims a circulating chunk, then one nobody was given: a lie (or a chunk from elsewhere, which it can prove by serving)
  s.peerHave('h', 0)
  clock.now += 5000
  s.peerHave('h', 5)
  // k claims only what circulates, from a bitfield
  s.peerBitfield('k', Bits.from(new Uint8Array([0b1000_0000]), n))
  clock.now += 9999
  s.offers('h', all(n), 0)
  t.notOk(s.isHoarder('h'), 'not before proveWithinMs of the unexplained claim')
  clock.now += 1
  s.offers('h', all(n), 0)
  s.offers('k', all(n), 0)
  t.ok(s.isHoarder('h'), 'named proveWithinMs after its unexplained claim')
  t.notOk(s.isHoarder('k'), 'k claims only circulating chunks')
  t.equal(s.hoarders, 1)
})

t.test('inTransit, kept as offers and haves change, equals a recount of undownloaded offers', async t => {
  const n = 32
  const peers = ['a', 'b', 'c', 'd']
  const clock = { now: 0 }
  const s = new SuperSeeder({ numPieces: n, offersPerPeer: 2, maxInTransit: 5, stallMs: 5000, offerTimeoutMs: 3000, now: () => clock.now })
  const claims = new Map(peers.map(p => [p, new Set<number>()]))
  for (const p of peers) { s.addPeer(p); s.peerBitfield(p, new Bits(n)); s.setUnchoked(p, true) }
  const held = all(n)
  let x = 12345
  const rnd = (k: number): number => { x = (Math.imul(x, 1103515245) + 12345) >>> 0; return x % k }
  for (let step = 0; step < 2000; step++) {
    const p = peers[rnd(peers.length)] as string
    const what = rnd(10)
    clock.now += rnd(500)
    if (what < 4) s.offers(p, held, rnd(2))
    else if (what < 8) { const i = rnd(n); s.peerHave(p, i); claims.get(p)?.add(i) } else if (what === 8) s.setUnchoked(p, rnd(2) === 0)
    else { const b = new Bits(n); for (let i = 0; i < n; i++) if (rnd(3) === 0) b.set(i); s.peerBitfield(p, b); claims.set(p, new Set(b.indices())) }
    const recount = peers.reduce((a, q) => a + s.offersOf(q).filter(i => !(claims.get(q) as Set<number>).has(i)).length, 0)
    if (s.inTransit !== recount) { t.equal(s.inTransit, recount, `step ${step}`); return }
  }
  t.pass('2,000 random steps, counts agree')
})
