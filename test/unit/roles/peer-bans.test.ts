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

t.test('with certificates on, a ban attaches to the certified device: a new peer key does not start clean', async t => {
  const { generateSigningKey } = await import('../../../src/bundle/keys.js')
  const { issueCertificate } = await import('../../../src/identity/index.js')
  const { identityProtocol } = await import('../../../src/identity/protocol/index.js')
  const { PeerIdentities } = await import('../../../src/identity/index.js')
  const { generateKeyPair } = await import('@libp2p/crypto/keys')
  const { peerIdFromPrivateKey } = await import('@libp2p/peer-id')
  const swarmKey = generateSwarmKey()
  const enrolment = generateSigningKey()
  const trust = [{ keyid: enrolment.keyid, publicKey: enrolment.publicKey }]
  const hub = await LanPeer.start({
    role: 'hub', dataDir: t.testdir(), swarmKey, trust: { keys: [] }, listen: ['/ip4/127.0.0.1/tcp/0'],
    identity: { trust }
  })
  t.teardown(async () => { await hub.stop() })

  /** a node holding a certificate for `deviceId` of store `s1`, under a fresh peer key */
  const tablet = async (deviceId = 'pos-7') => {
    const privateKey = await generateKeyPair('Ed25519')
    const peerId = peerIdFromPrivateKey(privateKey).toString()
    const certificate = issueCertificate({ peerId, deviceId, storeId: 's1', role: 'device', deviceClass: 'pos', expiresAt: new Date(Date.now() + 86_400_000) }, [enrolment])
    const node = await createStoremeshNode({
      swarmKey,
      privateKey,
      services: { identity: identityProtocol({ identities: new PeerIdentities({ trust }), certificate }) }
    })
    t.teardown(async () => { await node.stop() })
    return node
  }

  const first = await tablet()
  await first.dial(hub.node.getMultiaddrs())
  await waitFor(() => hub.identities?.identityOf(first.peerId.toString()) !== undefined, 10_000, 'the hub verified the first key')
  const entry = hub.bans.ban(first.peerId.toString(), 'have-flood')
  t.equal(entry.key, 'device:s1/pos-7', 'the ban is keyed by the certified store and device')
  await waitFor(() => first.getConnections(hub.node.peerId).length === 0, 10_000, 'the banned key disconnected')

  const verified = new Set<string>()
  hub.identities?.on('verified', who => { verified.add(who.peerId) })
  // control: another device's tablet is verified and stays
  const other = await tablet('pos-8')
  await other.dial(hub.node.getMultiaddrs())
  await waitFor(() => verified.has(other.peerId.toString()), 10_000, 'the hub verified the other device')

  const second = await tablet()
  t.notOk(hub.bans.isBanned(second.peerId.toString()), 'a key the hub has not verified yet is not known to be the banned device')
  await second.dial(hub.node.getMultiaddrs(), { signal: AbortSignal.timeout(5000) }).catch(() => {})
  await waitFor(() => verified.has(second.peerId.toString()), 10_000, 'the hub read the new key\'s certificate')
  await waitFor(() => second.getConnections(hub.node.peerId).length === 0, 10_000, 'the same device under a new key is disconnected once its certificate is read')
  t.equal(other.getConnections(hub.node.peerId).length, 1, 'the other device stays connected')
})

t.test('a ban attached to a certified device survives a restart: that device under a new peer key is disconnected', async t => {
  const { generateSigningKey } = await import('../../../src/bundle/keys.js')
  const { issueCertificate, PeerIdentities } = await import('../../../src/identity/index.js')
  const { identityProtocol } = await import('../../../src/identity/protocol/index.js')
  const { generateKeyPair } = await import('@libp2p/crypto/keys')
  const { peerIdFromPrivateKey } = await import('@libp2p/peer-id')
  const swarmKey = generateSwarmKey()
  const enrolment = generateSigningKey()
  const trust = [{ keyid: enrolment.keyid, publicKey: enrolment.publicKey }]
  const init = { role: 'hub', dataDir: t.testdir(), swarmKey, trust: { keys: [] }, listen: ['/ip4/127.0.0.1/tcp/0'], identity: { trust } }
  const tablet = async (deviceId: string) => {
    const privateKey = await generateKeyPair('Ed25519')
    const peerId = peerIdFromPrivateKey(privateKey).toString()
    const certificate = issueCertificate({ peerId, deviceId, storeId: 's1', role: 'device', deviceClass: 'pos', expiresAt: new Date(Date.now() + 86_400_000) }, [enrolment])
    const node = await createStoremeshNode({ swarmKey, privateKey, services: { identity: identityProtocol({ identities: new PeerIdentities({ trust }), certificate }) } })
    t.teardown(async () => { await node.stop() })
    return node
  }

  const first = await LanPeer.start(init)
  const stolen = await tablet('pos-7')
  await stolen.dial(first.node.getMultiaddrs())
  await waitFor(() => first.identities?.identityOf(stolen.peerId.toString()) !== undefined, 10_000, 'the hub verified the tablet')
  t.equal(first.bans.ban(stolen.peerId.toString(), 'have-flood').key, 'device:s1/pos-7')
  await first.stop()

  const second = await LanPeer.start(init)
  t.teardown(async () => { await second.stop() })
  const verified = new Set<string>()
  second.identities?.on('verified', who => { verified.add(who.peerId) })
  t.ok(second.bans.list().some(b => b.key === 'device:s1/pos-7'), 'the ban of the certified device was read back')
  // control: another device stays
  const other = await tablet('pos-8')
  await other.dial(second.node.getMultiaddrs())
  await waitFor(() => verified.has(other.peerId.toString()), 10_000, 'the hub verified the other device')
  const again = await tablet('pos-7')
  await again.dial(second.node.getMultiaddrs(), { signal: AbortSignal.timeout(5000) }).catch(() => {})
  await waitFor(() => verified.has(again.peerId.toString()), 10_000, 'the restarted hub read the new key\'s certificate')
  await waitFor(() => again.getConnections(second.node.peerId).length === 0, 10_000, 'the banned device under a new key is disconnected after the restart')
  t.equal(other.getConnections(second.node.peerId).length, 1, 'the other device stays connected')
})
