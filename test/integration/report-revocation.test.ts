/**
 * Issue #20, item 1: a signed revocation list travels down with the report answers
 * (report 1.2.0 `have.revocationVersion` / `trust.revocations`), and a revoked node is
 * refused by every peer within one report interval. Real libp2p nodes on 127.0.0.1: a
 * hub (identity, report protocol over a HubLedger, its TrustExchange), a device `a` whose
 * identity protocol never refreshes by itself (so only the report answer can bring the
 * list), and a certified peer `b` connected to `a`. The device's poll is held by the hub
 * and woken when the hub adopts a newer list.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { generateSigningKey } from '../../src/bundle/keys.js'
import { identityGater, issueCertificate, PeerIdentities, signRevocationList } from '../../src/identity/index.js'
import { identityProtocol, type IdentityProtocol } from '../../src/identity/protocol/index.js'
import { RootTrust } from '../../src/identity/root/index.js'
import { HubLedger } from '../../src/ledger/hub-ledger.js'
import { ChangeFeed, reportProtocol, type ReportProtocol } from '../../src/ledger/report/index.js'
import { createStoremeshNode, type StoremeshNode } from '../../src/net/node.js'
import { generateSwarmKey } from '../../src/net/swarm-key.js'
import { TrustExchange } from '../../src/roles/trust-exchange.js'
import { until } from '../support/poll.js'

const swarmKey = generateSwarmKey()
const enrolment = generateSigningKey()
const trust = [{ keyid: enrolment.keyid, publicKey: enrolment.publicKey }]
type Node = StoremeshNode<{ identity: IdentityProtocol, report: ReportProtocol }>

async function mk (t: Test, deviceId: string, role: 'hub' | 'device', report: Parameters<typeof reportProtocol>[0] = {}, ids = new PeerIdentities({ trust })): Promise<{ node: Node, ids: PeerIdentities }> {
  const key = await generateKeyPair('Ed25519')
  const peerId = peerIdFromPrivateKey(key).toString()
  const certificate = issueCertificate({ peerId, deviceId, storeId: 's', role, deviceClass: 'pos', expiresAt: new Date(Date.now() + 86_400_000) }, [enrolment])
  const node: Node = await createStoremeshNode({
    swarmKey,
    privateKey: key,
    gater: identityGater(ids),
    services: { identity: identityProtocol({ identities: ids, certificate, refreshIntervalMs: 0 }), report: reportProtocol(report) }
  })
  t.teardown(async () => { await node.stop() })
  return { node, ids }
}

t.test('a revocation list reaches a device in a held report answer; the device refuses and drops the revoked peer', async t => {
  const ledger = await HubLedger.open(t.testdir())
  t.teardown(async () => { await ledger.close() })
  const hubDir = t.testdir()
  const hubIds = new PeerIdentities({ trust })
  const changes = new ChangeFeed()
  hubIds.on('revocations', () => { changes.changed() })
  const hub = await mk(t, 'hub-1', 'hub', { devices: ledger, changes, deviceIdOf: id => hubIds.boundDeviceId(id), trust: new TrustExchange({ dataDir: hubDir, root: await RootTrust.open(hubDir, { keys: trust }), identities: hubIds }) }, hubIds)
  const a = await mk(t, 'pos-a', 'device')
  const b = await mk(t, 'pos-b', 'device')
  await a.node.dial(hub.node.getMultiaddrs())
  await a.node.dial(b.node.getMultiaddrs())
  t.ok(await until(() => a.ids.identityOf(b.node.peerId.toString()) !== undefined && hubIds.identityOf(a.node.peerId.toString()) !== undefined, 10_000), 'verified')
  const devDir = join(hubDir, 'pos-a')
  await mkdir(devDir)
  // the device agent's exchange (device-agent.ts): a newer list goes through its identity protocol
  const sink = new TrustExchange({ dataDir: devDir, root: await RootTrust.open(devDir, { keys: trust }), identities: a.ids, adoptRevocations: list => a.node.services.identity.adoptRevocations(list) })
  const addrs = hub.node.getMultiaddrs()
  const poll = { type: 'device-events' as const, deviceId: 'pos-a', entries: [] }

  const first = await a.node.services.report.send(addrs, { ...poll, have: { ...(await sink.have()) } })
  t.equal(first.trust, undefined, 'no list yet: no trust news')
  // the device's next poll is held; the office's list reaches the hub meanwhile
  const held = a.node.services.report.send(addrs, { ...poll, waitMs: 20_000, have: { ...(await sink.have()), ...(first.orderCursor !== undefined ? { orderCursor: first.orderCursor } : {}) } })
  await new Promise(resolve => setTimeout(resolve, 300))
  const list = signRevocationList({ version: 3, serials: [], peerIds: [b.node.peerId.toString()] }, [enrolment])
  t.ok(hub.node.services.identity.adoptRevocations(list), 'the hub holds the list')
  const answer = await held
  t.equal(answer.trust?.revocations?.signed.version, 3, 'the held poll answered with the list')
  t.ok(await sink.accept(answer.trust ?? {}), 'the device put it in force')
  t.equal(a.ids.revocationVersion, 3)
  t.ok(await until(() => a.node.getConnections(b.node.peerId).length === 0, 5_000), 'the device dropped the revoked peer')
  t.equal(a.ids.refusalCounts().revoked, 1, 'counted: storemesh_peer_refusals_total{reason="revoked"}')
  t.ok(a.ids.isDenied(b.node.peerId.toString()), 'its gater denies it from now on')
  t.equal(a.node.getConnections(hub.node.peerId).length, 1, 'the hub connection stays')

  const again = await a.node.services.report.send(addrs, { ...poll, have: { ...(await sink.have()) } })
  t.equal(again.trust?.revocations, undefined, 'an asker holding the list is not sent it again')
})
