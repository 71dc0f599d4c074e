/** The picker's hoarder clock and suspects (docs/picker.md "Hoarders"); the picking rules are picker.test.ts. */
import t from 'tap'
import { base, bits } from './picker-fixture.js'

t.test('hoarders: a peer that never delivered while our requests waited at it hoarderAfterMs in all is named once', async t => {
  const clock = { ms: 0 }
  const p = base([10, 10, 10, 10], { unprovenPipelineRequests: 1, suspectAfterMs: 60_000, hoarderAfterMs: 8000, now: () => clock.ms })
  // each unchokes us as it claims: a choking claimant's clock runs too (the last tests)
  for (const id of ['H', 'D', 'hub']) { p.addPeer(id); p.peerUnchoked(id) }
  p.peerBitfield('H', bits(4, [0, 1, 2, 3]))
  p.peerBitfield('D', bits(4, [0, 1, 2, 3]))
  p.peerBitfield('hub', bits(4, [0, 1, 2, 3]))
  const [h1] = p.next('H')
  const [d1] = p.next('D')
  clock.ms = 5000
  // the hub beats the hoarder's request: its wait so far counts, and it is asked again
  p.setHave(h1 as number, 'hub')
  t.same(p.takeHoarders(), [], 'not yet: 5 s of requests')
  t.equal(p.hoarderDueInMs(), 3000, 'D has waited 5 s too (nothing in flight at H now): due in 3 s')
  clock.ms = 6000
  t.equal(p.next('H').length, 1, 'asked again')
  t.equal(p.hoarderDueInMs(), 2000, 'D: 6 s waited, 2 s left; H: 5 s waited, 3 s left')
  // D delivers: it is never a hoarder, however long its first chunk took
  p.setHave(d1 as number, 'D')
  t.equal(p.hoarderDueInMs(), 3000, 'D delivered: only H is due, 3 s from now')
  clock.ms = 9000
  t.equal(p.hoarderDueInMs(), 0, 'H is due now')
  t.same(p.takeHoarders(), ['H'], '5 s + 3 s of waiting requests: named')
  t.equal(p.hoarderDueInMs(), undefined, 'nobody left to time')
  t.same(p.takeHoarders(), [], 'once')
  clock.ms = 60_000
  t.same(p.takeHoarders(), [], 'D delivered: never named')
})

t.test('hoarders: time without a request at the peer does not count', async t => {
  const clock = { ms: 0 }
  const p = base([10, 10], { unprovenPipelineRequests: 1, hoarderAfterMs: 8000, now: () => clock.ms })
  for (const id of ['S', 'hub']) { p.addPeer(id); p.peerUnchoked(id) }
  p.peerBitfield('S', bits(2, [0, 1]))
  const [i] = p.next('S')
  clock.ms = 1000
  p.onFailed(i as number, 'S') // e.g. the request timed out: nothing in flight there any more, and it still unchokes us
  clock.ms = 60_000
  t.same(p.takeHoarders(), [], 'one second of requests in a minute: not a hoarder')
  const q = base([10], { unprovenPipelineRequests: 1, now: () => clock.ms })
  q.addPeer('S')
  q.peerBitfield('S', bits(1, [0]))
  q.next('S')
  clock.ms = 10 * 60_000
  t.same(q.takeHoarders(), [], 'without hoarderAfterMs nobody is named')
})

t.test('distrust: a returning hoarder is a suspect from its first request, until it delivers', async t => {
  const clock = { ms: 0 }
  const p = base([10], { unprovenPipelineRequests: 1, suspectAfterMs: 60_000, now: () => clock.ms })
  for (const id of ['H', 'hub']) p.addPeer(id)
  p.distrust('H')
  p.peerBitfield('H', bits(1, [0]))
  p.peerBitfield('hub', bits(1, [0]))
  const [i] = p.next('H')
  t.equal(p.suspects, 1, 'a suspect at once')
  t.same(p.next('hub'), [i], 'its fresh request does not hold the chunk')
  p.setHave(i as number, 'H')
  t.equal(p.suspects, 0, 'a delivery clears it')
})

t.test('hoarders: the clock starts at the claim, not at our first request; time it keeps us choked while it claims what we lack counts', async t => {
  const clock = { ms: 0 }
  const p = base([10, 10], { unprovenPipelineRequests: 1, suspectAfterMs: 60_000, hoarderAfterMs: 8000, now: () => clock.ms })
  p.addPeer('H')
  p.peerBitfield('H', bits(2, [0, 1]))
  t.equal(p.hoarderDueInMs(), 8000, 'a claimant that chokes us holds us from its claim')
  clock.ms = 5000
  p.peerUnchoked('H')
  clock.ms = 7000
  t.equal(p.next('H').length, 1, 'first asked 2 s after it claimed and unchoked us')
  t.equal(p.hoarderDueInMs(), 1000, 'counted from its claim: the 5 s it kept us choked and the 2 s before our ask')
  clock.ms = 8000
  t.same(p.takeHoarders(), ['H'], 'named 8 s after its claim (before: 13 s, 8 s after its unchoke)')
  const q = base([10], { unprovenPipelineRequests: 1, suspectAfterMs: 60_000, hoarderAfterMs: 8000, now: () => clock.ms })
  q.addPeer('D')
  q.peerUnchoked('D')
  clock.ms = 20_000
  q.peerBitfield('D', bits(1, [0]))
  clock.ms = 21_000
  q.next('D')
  t.equal(q.hoarderDueInMs(), 7000, 'unchoked long before its claim: the clock starts at the claim')
  clock.ms = 28_000
  q.setHave(0, 'D')
  clock.ms = 60_000
  t.same(q.takeHoarders(), [], 'it delivered after 7 s: never named')
  const c = base([10, 10], { unprovenPipelineRequests: 1, suspectAfterMs: 60_000, hoarderAfterMs: 8000, now: () => clock.ms })
  for (const id of ['C', 'hub']) c.addPeer(id)
  c.peerUnchoked('hub')
  c.peerBitfield('C', bits(2, [0]))
  c.peerBitfield('hub', bits(2, [0, 1]))
  clock.ms = 63_000
  c.setHave(0, 'hub')
  clock.ms = 120_000
  t.same(c.takeHoarders(), [], 'its choke stops counting once it claims nothing we lack (3 s)')
  t.equal(c.hoarderDueInMs(), undefined, 'and it holds us no more')
  c.peerHave('C', 1)
  t.equal(c.hoarderDueInMs(), undefined, 'a claim made later by have is not judged (an honest device that just got a chunk is asked by every neighbour at once)')
  c.peerUnchoked('C')
  t.same(c.next('C'), [1], 'asked for it')
  t.equal(c.hoarderDueInMs(), undefined, 'and a request for it runs no clock')
})

t.test('hoarders: a partial claim is judged after hoarderAfterMs like a whole one (a hoarder claiming all but one chunk is out at 8 s, not 16)', async t => {
  const clock = { ms: 0 }
  const p = base([10, 10, 10], { unprovenPipelineRequests: 1, suspectAfterMs: 60_000, hoarderAfterMs: 8000, now: () => clock.ms })
  for (const id of ['all', 'part']) p.addPeer(id)
  p.peerBitfield('all', bits(3, [0, 1, 2]))
  p.peerBitfield('part', bits(3, [0, 1]))
  clock.ms = 7999
  t.same(p.takeHoarders(), [], 'neither before 8 s')
  clock.ms = 8000
  t.same(p.takeHoarders().sort(), ['all', 'part'], 'both kept us choked 8 s: named')
})

t.test('hoarders: a partial claimant that shows it is downloading (a have leaving it still lacking chunks) gets twice the time; an all-but-one claimer cannot show it', async t => {
  const clock = { ms: 0 }
  const p = base([10, 10, 10, 10], { unprovenPipelineRequests: 1, suspectAfterMs: 60_000, hoarderAfterMs: 8000, now: () => clock.ms })
  for (const id of ['D', 'H']) p.addPeer(id)
  p.peerBitfield('D', bits(4, [0, 1]))
  p.peerBitfield('H', bits(4, [0, 1, 2]))
  clock.ms = 3000
  p.peerHave('D', 2)
  p.peerHave('H', 3)
  t.equal(p.hoarderDueInMs(), 5000, 'H, whose have completed it, is due at 8 s')
  clock.ms = 8000
  t.same(p.takeHoarders(), ['H'], 'the all-but-one claimer is out at 8 s, its have notwithstanding')
  t.equal(p.hoarderDueInMs(), 8000, 'D, downloading, has 16 s')
  clock.ms = 16_000
  t.same(p.takeHoarders(), ['D'], 'and is named then if it never delivered')
})

t.test('hoarders: a later wire of a peer is judged on what its first bitfield claimed, and its clock carries on', async t => {
  const clock = { ms: 0 }
  const p = base([10, 10, 10, 10], { unprovenPipelineRequests: 1, suspectAfterMs: 60_000, hoarderAfterMs: 8000, now: () => clock.ms })
  // D came up empty and downloaded 0-2 since (announced by have); its wire re-opens with them in its bitfield
  p.addPeer('D')
  p.peerBitfield('D', bits(4, []))
  for (const i of [0, 1, 2]) p.peerHave('D', i)
  p.removePeer('D')
  p.addPeer('D')
  p.peerBitfield('D', bits(4, [0, 1, 2]))
  t.equal(p.hoarderDueInMs(), undefined, 'its new bitfield holds only chunks it got since its first: no clock (before: judged whole, 16 s)')
  // H claimed 0-1 on its first wire and kept us choked 5 s; it re-opens its wire
  p.addPeer('H')
  p.peerBitfield('H', bits(4, [0, 1]))
  clock.ms = 5000
  p.removePeer('H')
  clock.ms = 6000
  p.addPeer('H')
  p.peerBitfield('H', bits(4, [0, 1, 3]))
  t.equal(p.hoarderDueInMs(), 3000, 'its first claims are judged again, from the 5 s it already held us')
  clock.ms = 9000
  t.same(p.takeHoarders(), ['H'], 'named 8 s of holding us in all, across its wires')
  // a peer that delivered on an earlier wire is trusted on the next
  p.addPeer('G')
  p.peerBitfield('G', bits(4, [3]))
  p.peerUnchoked('G')
  t.same(p.next('G'), [3])
  p.setHave(3, 'G')
  p.removePeer('G')
  p.addPeer('G')
  p.peerBitfield('G', bits(4, [0, 1, 2, 3]))
  t.notOk(p.unproven('G'), 'it delivered before: proven on its new wire')
  t.equal(p.hoarderDueInMs(), undefined, 'no clock for it')
})
