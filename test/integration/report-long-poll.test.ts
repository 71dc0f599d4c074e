/**
 * Report 1.2.0 over real libp2p nodes on 127.0.0.1 with real level ledgers:
 *
 * - long-poll causality: the device's poll interval is ten minutes, so only a held
 *   request can bring it an order; the order is issued only after the hub holds the
 *   device's request, and the device has it in the answer to that request;
 * - the same over two hops: a super hub's halt reaches a device through its hub's held
 *   request and then the device's;
 * - fallback: a hub that serves only 1.0.0/1.1.0 still takes the device's journal; the
 *   device remembers that peer and asks it on 1.1.0 from then on.
 */
import t, { type Test } from 'tap'
import { Journal } from '../../src/install/journal.js'
import { HubLedger } from '../../src/ledger/hub-ledger.js'
import {
  REPORT_PROTOCOL, REPORT_PROTOCOL_V1_1, ReportProtocol, reportProtocol, type ReportProtocol as RP, type WaveOrder
} from '../../src/ledger/report/index.js'
import { DeviceUplink } from '../../src/ledger/uplink.js'
import { createStoremeshNode, type StoremeshNode } from '../../src/net/node.js'
import { generateSwarmKey } from '../../src/net/swarm-key.js'
import { until } from '../support/poll.js'
import { startHub, startSuper, tempDir, TEST_UPLINK } from './ledger-fixture.js'

const swarmKey = generateSwarmKey()
/** only a held request can deliver anything within the test */
const SLOW_POLL = { ...TEST_UPLINK, pollIntervalMs: 600_000, idlePollMaxMs: 600_000 }

async function device (t: Test, dir: string, hub: () => ReturnType<StoremeshNode['getMultiaddrs']>[number] | undefined): Promise<{ uplink: DeviceUplink, node: StoremeshNode<{ report: RP }>, journal: Journal, orders: WaveOrder[][] }> {
  const node = await createStoremeshNode({ swarmKey, services: { report: reportProtocol() } })
  const journal = await Journal.open(dir)
  const orders: WaveOrder[][] = []
  const uplink = new DeviceUplink({ deviceId: 'pos-1', journal, client: node.services.report, hub, options: SLOW_POLL, onOrders: o => { orders.push(o) } })
  uplink.start()
  t.teardown(async () => { await uplink.stop(); await node.stop(); await journal.close() })
  return { uplink, node, journal, orders }
}

t.test('an order issued while the device\'s request is held reaches it in that answer', async t => {
  const dir = await tempDir('rlp')
  t.teardown(dir.remove)
  const hub = await startHub(swarmKey, `${dir.path}/hub`, 'store-1', () => undefined)
  t.teardown(hub.stop)
  const dev = await device(t, `${dir.path}/dev`, () => hub.addr)
  await until(() => hub.node.services.report.heldRequests === 1, 20_000)
  t.ok(dev.uplink.status().longPolling, 'the idle uplink is a held request')
  const answersBefore = dev.orders.length
  await hub.ledger.issueOrder({ waveId: '142', action: 'pause', reason: 'ops', issuedAtMs: Date.now() })
  t.ok(await until(() => dev.orders.some(o => o.some(x => x.action === 'pause')), 20_000), 'the device has the pause')
  t.equal(dev.orders.length, answersBefore + 1, 'in the answer to the request that was held')
})

t.test('a super hub\'s halt reaches a device over two held hops', async t => {
  const dir = await tempDir('rlp2')
  t.teardown(dir.remove)
  const sup = await startSuper(swarmKey, `${dir.path}/super`, { haltOnRollbackRatio: 0.5 })
  t.teardown(sup.stop)
  const hub = await startHub(swarmKey, `${dir.path}/hub`, 'store-1', () => sup.addr)
  t.teardown(hub.stop)
  // the hub too would wait ten minutes between polls without its held request
  ;(hub.uplink as unknown as { options: { pollIntervalMs: number, idlePollMaxMs: number } }).options.pollIntervalMs = 600_000
  const dev = await device(t, `${dir.path}/dev`, () => hub.addr)
  await until(() => sup.node.services.report.heldRequests === 1 && hub.node.services.report.heldRequests === 1, 20_000)
  await sup.ledger.issueOrder({ waveId: '142', action: 'halt', reason: 'fleet halt', issuedAtMs: Date.now() })
  t.ok(await until(() => dev.orders.some(o => o.some(x => x.action === 'halt')), 20_000), 'the halt went super hub → hub → device through held requests')
})

t.test('a hub that speaks only 1.0.0 / 1.1.0 still takes the journal; the device remembers it', async t => {
  const dir = await tempDir('rlp3')
  t.teardown(dir.remove)
  const ledger = await HubLedger.open(`${dir.path}/old-hub`)
  t.teardown(async () => { await ledger.close() })
  // an old hub: the report handler on the two old ids only
  const old = await createStoremeshNode({ swarmKey, listen: ['/ip4/127.0.0.1/tcp/0'], services: {} })
  t.teardown(async () => { await old.stop() })
  const proto = new ReportProtocol({ registrar: old.services as never, connectionManager: old as never, logger: old.logger }, { devices: ledger })
  for (const id of [REPORT_PROTOCOL, REPORT_PROTOCOL_V1_1]) await old.handle(id, (s, c) => { void proto.handleStream(s, c.remotePeer.toString(), id) })
  const addr = old.getMultiaddrs()[0]!
  const dev = await device(t, `${dir.path}/dev`, () => addr)
  await dev.journal.append({ kind: 'note', reason: 'hello' })
  dev.uplink.kick()
  t.ok(await until(async () => (await ledger.device('pos-1'))?.maxSeq === 1, 20_000), 'the old hub stored the entry')
  t.ok(await until(async () => (await dev.journal.readFrom(0)).length === 0, 20_000), 'and the device acked it')
  t.ok(dev.node.services.report.isLegacyPeer(addr), 'the device remembers this hub speaks no 1.2.0')
  t.notOk(dev.uplink.status().longPolling, 'and polls it on its timer')
})
