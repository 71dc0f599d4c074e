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
