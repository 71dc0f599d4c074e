import t from 'tap'
import { RarityMap } from '../../../src/swarm/rarity-map.js'
import { base, bits, seeded } from './picker-fixture.js'

t.test('rarest first: the chunk fewest peers hold comes first', async t => {
  const p = base([10, 10, 10, 10])
  for (const [id, held] of [['A', [0, 1, 2, 3]], ['B', [0, 1, 2]], ['C', [0, 1]], ['D', [0]]] as const) {
    p.addPeer(id)
    p.peerBitfield(id, bits(4, [...held]))
  }
  t.same([0, 1, 2, 3].map(i => p.rarity.count(i)), [4, 3, 2, 1])
  t.same(p.next('A'), [3, 2, 1, 0], 'A is asked rarest first')
  // haves update the map; a departing peer takes its counts along
  const q = base([10, 10, 10])
  q.addPeer('A'); q.peerBitfield('A', bits(3, [0, 1, 2]))
  q.addPeer('B'); q.peerBitfield('B', bits(3, [0, 1]))
  q.addPeer('C'); q.peerHave('C', 0); q.peerHave('C', 2)
  t.same([0, 1, 2].map(i => q.rarity.count(i)), [3, 2, 2])
  q.removePeer('B')
  t.same([0, 1, 2].map(i => q.rarity.count(i)), [2, 1, 2])
  t.same(q.next('A')[0], 1, 'after B left, chunk 1 is the rarest')
})

t.test('random tie-break spreads first picks over equally rare chunks', async t => {
  const counts = new Map<number, number>()
  const random = seeded(42)
  for (let trial = 0; trial < 400; trial++) {
    const p = base(Array(8).fill(10), { random, pipelineMaxRequests: 1 })
    p.addPeer('A'); p.peerBitfield('A', bits(8, [0, 1, 2, 3, 4, 5, 6, 7]))
    const [first] = p.next('A')
    counts.set(first as number, (counts.get(first as number) ?? 0) + 1)
  }
  t.equal(counts.size, 8, 'every chunk was picked first at some point')
  for (const [i, c] of counts) t.ok(c > 20 && c < 90, `chunk ${i} first in ${c}/400 (about 50 expected)`)
  // and RarityMap.pick alone: uniform among minima, never a non-minimum
  const m = new RarityMap(4, seeded(3))
  m.add(0); m.add(0); m.add(1)
  const seen = new Set<number>()
  for (let i = 0; i < 100; i++) seen.add(m.pick(() => true) as number)
  t.same([...seen].sort(), [2, 3])
})

t.test('pipelining is bounded by bytes, with a minimum and a maximum count', async t => {
  const MiB = 1024 * 1024
  const p = base(Array(10).fill(MiB), { pipelineBytes: 2 * MiB, pipelineMinRequests: 1, pipelineMaxRequests: 64 })
  p.addPeer('A'); p.peerBitfield('A', bits(10, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]))
  const asked = p.next('A')
  t.equal(asked.length, 2, '2 MiB of 1 MiB chunks')
  t.same(p.next('A'), [], 'full until something arrives')
  t.equal(p.inflightBytes('A'), 2 * MiB)
  p.onFailed(asked[0] as number, 'A')
  t.equal(p.next('A').length, 1, 'one slot freed, one new request')
  const small = base(Array(200).fill(1000), { pipelineBytes: 2 * MiB, pipelineMaxRequests: 64 })
  small.addPeer('A'); small.peerBitfield('A', bits(200, [...Array(200).keys()]))
  t.equal(small.next('A').length, 64, 'tiny chunks stop at the count cap')
  const big = base([3 * MiB, 3 * MiB, 3 * MiB], { pipelineBytes: 2 * MiB, pipelineMinRequests: 2 })
  big.addPeer('A'); big.peerBitfield('A', bits(3, [0, 1, 2]))
  t.equal(big.next('A').length, 2, 'chunks above the byte budget still get the minimum count')
})

t.test('endgame: when every missing chunk is requested, idle peers ask for copies, cancelled on arrival', async t => {
  const p = base([10, 10, 10], { endgameMaxPeersPerPiece: 2 })
  for (const id of ['A', 'B', 'C', 'D']) { p.addPeer(id); p.peerBitfield(id, bits(3, [0, 1, 2])) }
  t.notOk(p.endgame)
  t.same(p.next('A').sort(), [0, 1, 2], 'A gets everything in normal mode')
  t.ok(p.endgame, 'all missing chunks are in flight')
  const [b, ...moreB] = p.next('B')
  t.equal(moreB.length, 0, 'an endgame copy only to an idle peer: one at a time')
  t.same(p.next('B'), [], 'B is busy with its copy')
  const [c] = p.next('C')
  t.not(c, b, 'fewest-asked first: C copies another chunk')
  t.equal(p.inflightCount('C'), 1)
  const cancel = p.setHave(b as number)
  t.same(cancel.sort(), ['A', 'B'], 'both askers returned; the swarm cancels all but the sender')
  const [b2] = p.next('B')
  t.ok(b2 !== undefined && b2 !== b && b2 !== c, 'B, idle again, copies the chunk only A has')
  t.same(p.next('D'), [], 'at most two peers per chunk')
  p.onFailed(b2 as number, 'A')
  t.same(p.next('D'), [b2], 'a failed request frees a slot for another peer')
})

t.test('no endgame while a missing chunk is not requested, whether or not anyone holds it', async t => {
  const p = base([10, 10, 10], { pipelineMaxRequests: 1 })
  p.addPeer('A'); p.peerBitfield('A', bits(3, [0, 1, 2]))
  p.addPeer('B'); p.peerBitfield('B', bits(3, [0]))
  const [a] = p.next('A')
  t.notOk(p.endgame)
  // B only holds chunk 0; if A took it, B gets nothing (no duplicates outside endgame)
  t.same(p.next('B'), a === 0 ? [] : [0])
  // a super-seeder announces chunks one by one: "every announced chunk is asked" is
  // nearly always true, and treating it as endgame sent each chunk to three peers
  const q = base([10, 10])
  q.addPeer('A'); q.peerBitfield('A', bits(2, [0]))
  q.addPeer('B'); q.peerBitfield('B', bits(2, [0]))
  t.same(q.next('A'), [0])
  t.notOk(q.endgame, 'chunk 1 is held by nobody yet: no endgame')
  t.same(q.next('B'), [], 'so no copy of chunk 0')
})

t.test('a peer that sent a bad copy is never asked for that chunk again; a leaving peer frees its requests', async t => {
  const p = base([10, 10], { endgameMaxPeersPerPiece: 1 })
  p.addPeer('bad'); p.peerBitfield('bad', bits(2, [0, 1]))
  p.addPeer('good'); p.peerBitfield('good', bits(2, [0, 1]))
  t.same(p.next('bad').sort(), [0, 1])
  p.onFailed(0, 'bad', true)
  t.same(p.next('bad'), [], 'chunk 0 excluded for bad; chunk 1 still in flight')
  t.same(p.next('good'), [0], 'good is asked for chunk 0')
  t.same(p.removePeer('bad'), [1])
  t.same(p.next('good'), [1])
  t.ok(p.isInteresting('good'))
  p.setHave(0); p.setHave(1)
  t.notOk(p.isInteresting('good'))
  t.ok(p.complete)
})

t.test('re-asking: a chunk stuck at one peer is asked of an idle holder once it waited reaskAfterMs', async t => {
  const clock = { ms: 0 }
  // chunks 0 and 1: only 0 is asked, so this is not endgame
  const p = base([10, 10], { pipelineMinRequests: 1, pipelineMaxRequests: 1, now: () => clock.ms })
  for (const id of ['A', 'B']) p.addPeer(id)
  p.peerBitfield('A', bits(2, [0]))
  t.same(p.next('A'), [0], 'asked of A first')
  t.notOk(p.endgame, 'chunk 1 is missing and nobody has it: no endgame')
  p.peerBitfield('B', bits(2, [0]))
  t.same(p.next('B'), [], 'B idle, but the request at A is fresh')
  clock.ms = 999
  t.same(p.next('B'), [], 'still fresh just before reaskAfterMs')
  clock.ms = 1000
  t.same(p.next('B'), [0], 'asked of idle B too once it waited reaskAfterMs')
  t.same(p.setHave(0).sort(), ['A', 'B'], 'the first copy returns both askers, to cancel the other')
  t.same(p.next('B'), [], 'nothing left that B holds')
})

t.test('re-asking only uses an idle link and forgets the wait once a chunk is no longer asked', async t => {
  const clock = { ms: 0 }
  const p = base([10, 10, 10], { pipelineMinRequests: 2, pipelineMaxRequests: 2, now: () => clock.ms })
  for (const id of ['A', 'B']) p.addPeer(id)
  // A delivered a chunk before: a slow request of it is waited for, not written off (see the suspects test)
  p.setHave(2, 'A')
  p.peerBitfield('A', bits(3, [0]))
  p.peerBitfield('B', bits(3, [0, 1]))
  t.same(p.next('A'), [0])
  t.same(p.next('B'), [1], 'B gets its own fresh chunk')
  clock.ms = 5000
  t.same(p.next('B'), [], 'B has a request in flight: no copies on a busy link')
  p.onFailed(0, 'A')
  t.same(p.next('B'), [0], 'a failed request frees the chunk: asked of B as a fresh one')
})

t.test('hoarders: a peer that never delivered gets one request; once it waits, its chunk is free for others', async t => {
  const clock = { ms: 0 }
  const p = base([10, 10, 10, 10], { pipelineMinRequests: 4, pipelineMaxRequests: 4, unprovenPipelineRequests: 1, now: () => clock.ms })
  for (const id of ['H1', 'H2', 'hub']) p.addPeer(id)
  p.peerBitfield('H1', bits(4, [0, 1, 2, 3]))
  p.peerBitfield('H2', bits(4, [0, 1, 2, 3]))
  const [a] = p.next('H1')
  const [b] = p.next('H2')
  t.same(p.next('H1'), [], 'an unproven peer holds one request, not a pipeline')
  t.not(a, b, 'fresh requests at unproven peers still count as in flight')
  // the capped hub offers the chunk a hoarder was asked for
  p.peerHave('hub', a as number)
  t.same(p.next('hub'), [], 'not yet: the hoarder\'s request is fresh (it may be an honest peer starting up)')
  t.equal(p.suspects, 0)
  clock.ms = 1000
  t.same(p.next('hub'), [a], 'after reaskAfterMs without a chunk, the hoarder is a suspect and the hub is asked at once')
  t.equal(p.suspects, 2, 'both hoarders')
  t.same(p.next('H1'), [], 'a suspect keeps its single request')
  t.same(p.setHave(a as number, 'hub').sort(), ['H1', 'hub'], 'the hub delivered; the hoarder\'s request is cancelled by the swarm')
  t.same(p.next('H1').length, 1, 'a suspect is still probed, one chunk at a time')
})

t.test('a slow honest peer stays asked: one chunk at a time until its first delivery, then a full pipeline', async t => {
  const clock = { ms: 0 }
  const p = base([10, 10, 10, 10], { pipelineMinRequests: 4, pipelineMaxRequests: 4, unprovenPipelineRequests: 1, now: () => clock.ms })
  p.addPeer('hub')
  p.peerBitfield('hub', bits(4, [0, 1, 2, 3]))
  const [first] = p.next('hub')
  clock.ms = 30_000
  t.equal(p.suspects, 1, 'slow to send its first chunk: a suspect')
  t.same(p.next('hub'), [], 'its request stands')
  p.setHave(first as number, 'hub')
  t.equal(p.suspects, 0, 'one delivery ends the suspicion')
  t.equal(p.next('hub').length, 3, 'and it gets a full pipeline')
})

t.test('requests beaten after waiting reaskAfterMs count against a peer that never delivered', async t => {
  const clock = { ms: 0 }
  const p = base([10, 10, 10], { unprovenPipelineRequests: 1, suspectAfterMs: 60_000, suspectAfterTimeouts: 2, now: () => clock.ms })
  for (const id of ['S', 'hub']) p.addPeer(id)
  p.peerBitfield('S', bits(3, [0, 1, 2]))
  const beat = (): void => {
    const [i] = p.next('S')
    clock.ms += 1000
    p.setHave(i as number, 'hub')
  }
  beat()
  t.equal(p.suspects, 0, 'one beaten request: not yet')
  beat()
  t.equal(p.suspects, 1, 'two: a suspect, long before suspectAfterMs')
  const q = base([10, 10], { unprovenPipelineRequests: 1, suspectAfterMs: 60_000, suspectAfterTimeouts: 1, now: () => clock.ms })
  for (const id of ['D', 'hub']) q.addPeer(id)
  q.peerBitfield('D', bits(2, [0, 1]))
  const [i] = q.next('D')
  clock.ms += 500
  q.setHave(i as number, 'hub')
  t.equal(q.suspects, 0, 'beaten before reaskAfterMs: an honest race, not counted')
})

t.test('cancel on arrival: a verified copy being stored is asked of no one and the other askers are returned at once', async t => {
  const clock = { ms: 0 }
  const p = base([10, 10], { pipelineMinRequests: 1, pipelineMaxRequests: 1, now: () => clock.ms })
  for (const id of ['A', 'B', 'C']) { p.addPeer(id); p.peerBitfield(id, bits(2, [0])) }
  t.same(p.next('A'), [0], 'asked of A')
  clock.ms = 1000
  t.same(p.next('B'), [0], 're-asked of idle B after reaskAfterMs')
  t.same(p.arrived(0, 'B'), ['A'], 'B\'s copy arrived: A is returned to be cancelled, before the chunk is durable')
  t.equal(p.inflightCount('A'), 0, 'A no longer holds a request for it')
  clock.ms = 5000
  t.same(p.next('A'), [], 'not asked again while it is being stored, however long that takes')
  t.same(p.next('C'), [], 'nor of anyone else')
  p.arrivalFailed(0)
  p.onFailed(0, 'B')
  t.same(p.next('C'), [0], 'a failed write makes it wanted again')
  t.same(p.arrived(0, 'C'), [], 'no other asker')
  t.same(p.setHave(0, 'C'), ['C'], 'stored: the sender\'s own request ends')
  t.same(p.arrived(0, 'A'), [], 'a late copy of a held chunk changes nothing')
})

t.test('prompt probe: a claimant that never delivered is asked at once, even for chunks the hub is fetching, at most probeRequests times', async t => {
  const clock = { ms: 0 }
  // the last chunk is held by nobody yet, so this is not endgame (where idle peers get copies anyway)
  const p = base([10, 10, 10], { suspectAfterMs: 60_000, probeRequests: 2, now: () => clock.ms })
  for (const id of ['hub', 'H']) p.addPeer(id)
  p.peerBitfield('hub', bits(3, [0, 1]))
  t.same(p.next('hub').sort(), [0, 1], 'the hub fetches what it offered')
  p.peerBitfield('H', bits(3, [1]))
  t.notOk(p.endgame, 'not endgame')
  t.same(p.next('H'), [1], 'the claimant gets a probe: a copy of the chunk in flight at the hub')
  t.same(p.next('H'), [], 'one at a time')
  t.match(p.notAskedWhy('H'), /1 asked of it/, 'and the debug reason says so')
  t.same(p.setHave(1, 'hub').sort(), ['H', 'hub'], 'the hub\'s copy arrived first: the probe is returned for cancelling')
  const q = base([10, 10, 10, 10], { suspectAfterMs: 60_000, probeRequests: 2, now: () => clock.ms })
  for (const id of ['hub', 'H']) q.addPeer(id)
  q.peerBitfield('hub', bits(4, [0, 1, 2]))
  q.next('hub')
  q.peerBitfield('H', bits(4, [0, 1, 2]))
  let probes = 0
  for (let round = 0; round < 4; round++) {
    const asked = q.next('H')
    probes += asked.length
    for (const i of asked) q.onFailed(i, 'H')
  }
  t.equal(probes, 2, 'probeRequests bounds the copies an unproven peer is sent')
  const r = base([10, 10, 10], { now: () => clock.ms })
  for (const id of ['hub', 'H']) r.addPeer(id)
  r.peerBitfield('hub', bits(3, [0, 1]))
  r.next('hub')
  r.peerBitfield('H', bits(3, [0, 1]))
  t.same(r.next('H'), [], 'without probeRequests (0) a claimant waits for a free chunk, as before')
  t.match(r.notAskedWhy('H'), /2 are in flight at a trusted peer/)
})

