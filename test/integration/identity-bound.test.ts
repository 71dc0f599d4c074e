/**
 * With identities on, a hub grants leases and accepts reports only for the device id
 * bound to the asking connection's peer id (protocols/identity/SPEC.md section 8).
 * Real libp2p nodes on 127.0.0.1: a hub with the lease table, the report protocol over
 * a hub ledger and the identity protocol; certified devices.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { generateSigningKey } from '../../src/bundle/keys.js'
import { identityGater, issueCertificate, PeerIdentities } from '../../src/identity/index.js'
import { actRefusal } from '../../src/identity/node-identity.js'
import { silentLog } from '../../src/interface/log.js'
import { identityProtocol, type IdentityProtocol } from '../../src/identity/protocol/index.js'
import { LeaseTable, leaseProtocol, type LeaseProtocol } from '../../src/lease/index.js'
import { HubLedger } from '../../src/ledger/hub-ledger.js'
import { SuperLedger } from '../../src/ledger/super-ledger.js'
import { reportProtocol, type ReportProtocol } from '../../src/ledger/report/index.js'
import { createStoremeshNode, type StoremeshNode } from '../../src/net/node.js'
import { generateSwarmKey } from '../../src/net/swarm-key.js'
import { until } from '../support/poll.js'

const swarmKey = generateSwarmKey()
const enrolment = generateSigningKey()
const trust = [{ keyid: enrolment.keyid, publicKey: enrolment.publicKey }]
const REF = { bundleId: 'b3:' + 'e'.repeat(64), waveId: '142' }
const at = '2025-01-01T00:00:00.000Z'

type Services = { lease: LeaseProtocol, identity: IdentityProtocol, report: ReportProtocol }
type Node = StoremeshNode<Services>

async function mk (t: Test, o: { deviceId?: string, role?: 'hub' | 'device' | 'super-hub', require?: boolean, hub?: { table: LeaseTable, ledger: HubLedger }, superLedger?: SuperLedger }): Promise<{ node: Node, ids: PeerIdentities }> {
  const key = await generateKeyPair('Ed25519')
  const peerId = peerIdFromPrivateKey(key).toString()
  const ids = new PeerIdentities({ trust, requireCertificates: o.require === true })
  const certificate = o.deviceId !== undefined
    ? issueCertificate({ peerId, deviceId: o.deviceId, storeId: 's', role: o.role ?? (o.hub !== undefined ? 'hub' : 'device'), deviceClass: 'pos', expiresAt: new Date(Date.now() + 86_400_000) }, [enrolment])
    : undefined
  const deviceIdOf = (id: string): string | null | undefined => ids.boundDeviceId(id)
  const node = await createStoremeshNode<Services>({
    swarmKey,
    privateKey: key,
    gater: identityGater(ids),
    services: {
      identity: identityProtocol({ identities: ids, ...(certificate !== undefined ? { certificate } : {}) }),
      lease: leaseProtocol(o.hub !== undefined ? { authority: o.hub.table, deviceIdOf, onUnbound: actRefusal(ids, silentLog, 'lease-unbound') } : {}),
      report: reportProtocol(o.hub !== undefined
        ? { devices: o.hub.ledger, deviceIdOf, onUnbound: actRefusal(ids, silentLog, 'report-unbound') }
        : o.superLedger !== undefined ? { hubs: o.superLedger, hubIdsOf: id => ids.boundHubIds(id), onUnbound: actRefusal(ids, silentLog, 'report-unbound') } : {})
    }
  })
  t.teardown(async () => { await node.stop() })
  return { node, ids }
}

let hubs = 0

async function hubOf (t: Test, require = false): Promise<{ node: Node, ids: PeerIdentities, table: LeaseTable, ledger: HubLedger }> {
  // one test dir per test: each hub gets its own folder in it
  const dir = join(t.testdir(), `hub-${++hubs}`)
  await mkdir(dir, { recursive: true })
  const table = await LeaseTable.open({ maxConcurrentPerHub: 2, statePath: join(dir, 'leases.json') })
  const ledger = await HubLedger.open(join(dir, 'ledger'))
  t.teardown(async () => { await ledger.close() })
  return { ...await mk(t, { deviceId: 'hub-1', require, hub: { table, ledger } }), table, ledger }
}

t.test('a certified device takes a lease and reports for its own device id only', async t => {
  const hub = await hubOf(t)
  const dev = await mk(t, { deviceId: 'pos-1' })
  await dev.node.dial(hub.node.getMultiaddrs())
  t.ok(await until(() => hub.ids.identityOf(dev.node.peerId.toString()) !== undefined, 10_000), 'the hub verified the device')
  const addrs = hub.node.getMultiaddrs()

  const own = await dev.node.services.lease.request(addrs, { op: 'acquire', deviceId: 'pos-1', ...REF })
  t.equal(own.granted, true, 'its own device id: granted')
  const theft = await dev.node.services.lease.request(addrs, { op: 'acquire', deviceId: 'pos-2', ...REF })
  t.equal(theft.granted, false, 'another device id: denied')
  t.equal(theft.reason, 'wrong-peer')
  t.match(theft.detail, /E_CERT_MISMATCH .*pos-1/)
  t.equal(hub.table.activeCount, 1, 'the made-up id holds no slot')
  t.equal(hub.ids.refusalCounts()['lease-unbound'], 1, 'counted in storemesh_peer_refusals_total{reason="lease-unbound"}')

  const ack = await dev.node.services.report.send(addrs, { type: 'device-events', deviceId: 'pos-1', entries: [{ seq: 1, at, kind: 'transition', waveId: '142', to: 'staged' }] })
  t.equal(ack.ackedSeq, 1, 'its own report: stored')
  await t.rejects(dev.node.services.report.send(addrs, { type: 'device-events', deviceId: 'pos-9', entries: [{ seq: 1, at, kind: 'transition', waveId: '142', to: 'rolled-back' }] }),
    { code: 'E_PEER_ERROR', meta: { reason: 'bad-request' } }, 'a forged report for another device: refused')
  t.equal(await hub.ledger.device('pos-9'), undefined, 'nothing stored for the forged device')
  t.equal(hub.ids.refusalCounts()['report-unbound'], 1, 'counted in storemesh_peer_refusals_total{reason="report-unbound"}')
  t.equal(hub.ids.refusalCounts().mismatch, 0, 'not as a certificate refusal: the device keeps its connection')
})

t.test('certificates not required: an uncertified device acts as before; required: it is refused', async t => {
  const open = await hubOf(t)
  const bare = await mk(t, {})
  await bare.node.dial(open.node.getMultiaddrs())
  const res = await bare.node.services.lease.request(open.node.getMultiaddrs(), { op: 'acquire', deviceId: 'pos-7', ...REF })
  t.equal(res.granted, true, 'no identity, no binding, as before')

  const strict = await hubOf(t, true)
  const bare2 = await mk(t, {})
  await bare2.node.dial(strict.node.getMultiaddrs()).catch(() => {})
  t.ok(await until(() => strict.ids.refusalCounts().missing === 1, 10_000), 'refused for having no certificate')
  t.equal(strict.ids.boundDeviceId(bare2.node.peerId.toString()), null, 'bound to no device')
  t.equal(strict.table.activeCount, 0)
})

t.test('a super hub takes a store\'s hub batches only from that store\'s certified hub', async t => {
  const ledger = await SuperLedger.open(t.testdir())
  t.teardown(async () => { await ledger.close() })
  const sup = await mk(t, { deviceId: 'super-1', role: 'super-hub', superLedger: ledger })
  const hub = await mk(t, { deviceId: 'hub-1', role: 'hub' })
  const dev = await mk(t, { deviceId: 'pos-1' })
  for (const n of [hub, dev]) await n.node.dial(sup.node.getMultiaddrs())
  t.ok(await until(() => sup.ids.verifiedCount === 2, 10_000), 'the super hub verified both')
  const batch = (hubId: string): { type: 'hub-ledger', hubId: string, epoch: string, entries: [] } => ({ type: 'hub-ledger', hubId, epoch: 'e'.repeat(32), entries: [] })
  const addrs = sup.node.getMultiaddrs()
  t.equal((await hub.node.services.report.send(addrs, batch('hub-1'))).status, 'ok', 'as its certified device id')
  t.equal((await hub.node.services.report.send(addrs, batch('s'))).status, 'ok', 'as its store id')
  t.equal((await hub.node.services.report.send(addrs, batch(hub.node.peerId.toString()))).status, 'ok', 'as its peer id (the default hub id)')
  await t.rejects(hub.node.services.report.send(addrs, batch('hub-2')), { code: 'E_PEER_ERROR', meta: { reason: 'bad-request' } }, 'another store\'s hub id')
  await t.rejects(dev.node.services.report.send(addrs, batch('hub-1')), { code: 'E_PEER_ERROR', meta: { reason: 'bad-request' } }, 'a device posing as the hub')
  t.same((await ledger.hubs()).map(h => h.hubId).sort(), ['hub-1', hub.node.peerId.toString(), 's'].sort(), 'nothing stored under a forged hub id')
  t.equal(sup.ids.refusalCounts()['report-unbound'], 2, 'both forgeries counted')
})
