import t from 'tap'
import { peerIdFromString } from '@libp2p/peer-id'
import { BanList, banGater, PeerScorer } from '../../../src/swarm/scoring.js'

t.test('two bad chunks ban a peer for the ban duration', async t => {
  let now = 1000
  const bans = new BanList({ banDurationMs: 60_000, now: () => now })
  const events: string[] = []
  bans.on('ban', e => events.push(e.peerId))
  const s = new PeerScorer({ bans })
  t.same(s.recordBadChunk('p1', 'chunk 3'), { badChunks: 1, banned: false })
  t.notOk(bans.isBanned('p1'))
  t.same(s.recordBadChunk('p1', 'chunk 4'), { badChunks: 2, banned: true })
  t.ok(bans.isBanned('p1'))
  t.same(events, ['p1'])
  t.match(bans.list()[0]?.reason, /2 chunks failed BLAKE3/)
  t.notOk(bans.isBanned('p2'), 'others are unaffected')
  now += 59_999
  t.ok(bans.isBanned('p1'))
  now += 1
  t.notOk(bans.isBanned('p1'), 'the ban expires')
  t.same(bans.list(), [])
})

t.test('the threshold is configurable and isBanned can be handed around unbound', async t => {
  const bans = new BanList()
  const s = new PeerScorer({ bans, badChunkThreshold: 1 })
  const { isBanned } = bans
  s.recordBadChunk('p', 'x')
  t.ok(isBanned('p'))
})

t.test('banGater refuses banned peers in the dial and encrypted-connection hooks', async t => {
  const bans = new BanList()
  const id = peerIdFromString('12D3KooWDNysqp7qgsnKWpYgvtpmAQPokRXDuXu4Fa35eAFGtNm7')
  const g = banGater(bans)
  t.notOk(g.denyDialPeer(id))
  bans.ban(id.toString(), 'test')
  t.ok(g.denyDialPeer(id))
  t.ok(g.denyInboundEncryptedConnection(id, undefined as never))
  t.ok(g.denyOutboundEncryptedConnection(id, undefined as never))
})

t.test('every violation scores by its weight; a clear abuse bans at once, ambiguous faults at the second', async t => {
  const bans = new BanList()
  const s = new PeerScorer({ bans })
  const seen: string[] = []
  s.on('violation', e => seen.push(`${e.violation}:${e.banned}`))
  t.same(s.recordViolation('p1', 'wrong-length-piece', 'chunk 1'), { score: 5, banned: false })
  t.notOk(bans.isBanned('p1'))
  t.same(s.recordViolation('p1', 'unsolicited-piece', 'chunk 2'), { score: 0, banned: true })
  t.ok(bans.isBanned('p1'))
  t.match(bans.list()[0]?.reason, /misbehaviour score 10 \(last: unsolicited-piece/)
  t.same(s.recordViolation('p2', 'keepalive-flood', 'x'), { score: 0, banned: true }, 'an over-budget peer is banned at once')
  t.same(seen, ['wrong-length-piece:false', 'unsolicited-piece:true', 'keepalive-flood:true'])
  t.equal(s.violationCounts.get('wrong-length-piece'), 1)
  t.equal(s.violationCounts.get('keepalive-flood'), 1)
})

t.test('a score is forgotten after the quiet period', async t => {
  let now = 0
  const s = new PeerScorer({ bans: new BanList({ now: () => now }), quietMs: 1000, now: () => now })
  s.recordViolation('p', 'malformed-frame', 'x')
  t.equal(s.score('p'), 5)
  now = 1000
  t.equal(s.score('p'), 0)
  t.same(s.recordViolation('p', 'malformed-frame', 'x'), { score: 5, banned: false }, 'starts clean')
})

t.test('bans escalate per offence (1 min, 10 min, 1 h, 24 h) and offences are forgotten after a while', async t => {
  let now = 0
  const bans = new BanList({ now: () => now, offenceMemoryMs: 7 * 86_400_000 })
  const minute = 60_000
  const expect = [minute, 10 * minute, 60 * minute, 24 * 60 * minute, 24 * 60 * minute]
  for (const [i, ms] of expect.entries()) {
    const e = bans.ban('p', 'test')
    t.equal(e.offence, i + 1)
    t.equal(e.untilMs - now, ms, `offence ${i + 1} lasts ${ms / minute} min`)
    now = e.untilMs
    t.notOk(bans.isBanned('p'), 'expired')
  }
  t.equal(bans.offences('p'), 5)
  now += 7 * 86_400_000
  t.equal(bans.offences('p'), 0, 'forgotten a week after the last ban ended')
  t.equal(bans.ban('p', 'again').untilMs - now, minute, 'and the ladder starts again')
})

t.test('bans attach to keyOf(peerId): a new peer id of the same identity is still banned', async t => {
  const bans = new BanList({ keyOf: id => id.split('/')[0] ?? id })
  const s = new PeerScorer({ bans })
  s.recordViolation('device-7/peerA', 'have-flood', 'x')
  t.ok(bans.isBanned('device-7/peerB'), 'same identity, new peer id')
  t.notOk(bans.isBanned('device-8/peerA'))
  t.equal(bans.list()[0]?.key, 'device-7')
  t.equal(bans.list()[0]?.peerId, 'device-7/peerA')
})

t.test('records round-trip through restore; the list stays bounded', async t => {
  let now = 0
  const a = new BanList({ now: () => now, maxRecords: 3 })
  a.ban('p1', 'x')
  a.ban('p1', 'x')
  a.ban('p2', 'y')
  const b = new BanList({ now: () => now })
  b.restore(a.records())
  t.ok(b.isBanned('p1')); t.ok(b.isBanned('p2'))
  t.equal(b.offences('p1'), 2)
  t.equal(b.ban('p1', 'z').offence, 3, 'escalation continues after a restore')
  for (let i = 0; i < 10; i++) { now += 1; a.ban(`q${i}`, 'flood') }
  t.equal(a.records().length, 3, 'at most maxRecords')
  t.same(a.records().map(r => r.key), ['q7', 'q8', 'q9'], 'the newest kept')
})

t.test('a ban earned with bad chunks lasts at least an hour, even as a first offence', async t => {
  let now = 0
  const bans = new BanList({ now: () => now })
  const s = new PeerScorer({ bans, now: () => now })
  s.recordBadChunk('liar', 'chunk 1')
  s.recordBadChunk('liar', 'chunk 2')
  t.equal(bans.list()[0]?.untilMs, 60 * 60_000, '1 h, not the ladder\'s first minute')
  s.recordViolation('flooder', 'have-flood', 'x')
  t.equal(bans.list().find(b => b.peerId === 'flooder')?.untilMs, 60_000, 'a flood starts at the first rung')
  now = 60 * 60_000
  s.recordBadChunk('liar', 'chunk 3')
  s.recordBadChunk('liar', 'chunk 4')
  t.equal(bans.list().find(b => b.peerId === 'liar')?.offence, 2)
})
