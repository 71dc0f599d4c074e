/**
 * A LAN peer's bans survive a restart: saved to <data>/bans.json and read back before
 * the node listens, so the banned peer is refused at the connection gater at once.
 */
import t from 'tap'
import { createStoremeshNode } from '../../../src/net/node.js'
import { generateSwarmKey } from '../../../src/net/swarm-key.js'
import { LanPeer } from '../../../src/roles/peer.js'
import { waitFor } from '../../support/poll.js'

t.test('a ban (and its offence count) survives a restart of the peer', async t => {
  const dataDir = t.testdir()
  const swarmKey = generateSwarmKey()
  const init = { role: 'device', dataDir, swarmKey, trust: { keys: [] }, listen: ['/ip4/127.0.0.1/tcp/0'] }
  const attacker = await createStoremeshNode({ swarmKey })
  t.teardown(async () => { await attacker.stop() })
  const id = attacker.peerId.toString()

  const first = await LanPeer.start(init)
  first.bans.ban(id, 'have-flood')
  await first.stop()

  const second = await LanPeer.start(init)
  t.teardown(async () => { await second.stop() })
  t.ok(second.bans.isBanned(id), 'still banned after the restart')
  t.equal(second.bans.offences(id), 1)
  // the gater refuses it after the encryption handshake: the dial may seem to succeed, the connection does not last
  await attacker.dial(second.node.getMultiaddrs(), { signal: AbortSignal.timeout(5000) }).catch(() => {})
  await waitFor(() => attacker.getConnections(second.node.peerId).length === 0, 5000, 'the banned peer refused')
  t.equal(second.node.getConnections(attacker.peerId).length, 0, 'the gater refused the banned peer')
  t.equal(second.bans.ban(id, 'again').offence, 2, 'the next ban escalates')
})
