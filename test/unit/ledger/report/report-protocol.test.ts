import t from 'tap'
import { stubProtocolComponents } from '../../../support/protocol-components.js'
import { streamPair } from '@libp2p/utils'
import * as varint from 'uint8-varint'
import { readBounded, writeMessage } from '../../../../src/net/length-prefixed.js'
import { MAX_REPORT_REQUEST_BYTES, REPORT_PROTOCOL } from '../../../../src/ledger/report/index.js'
import { HubLedger } from '../../../../src/ledger/hub-ledger.js'
import { decodeReportResponse, type ReportRequest } from '../../../../src/ledger/report/index.js'
import { ReportProtocol, type ReportProtocolComponents, type ReportProtocolInit } from '../../../../src/ledger/report/index.js'
import { SuperLedger } from '../../../../src/ledger/super-ledger.js'

const components = stubProtocolComponents<ReportProtocolComponents>()

const at = '2025-01-01T00:00:00.000Z'
const enc = (x: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(x))

async function exchange (init: ReportProtocolInit, req: ReportRequest) {
  const [client, server] = await streamPair({ protocol: REPORT_PROTOCOL })
  const proto = new ReportProtocol(components, { ...init, timeoutMs: 5_000 })
  const served = proto.handleStream(server, 'test-peer')
  try {
    return await proto.requestOverStream(client, req)
  } finally {
    await served
  }
}

t.test('device batch to a hub ledger, hub batch to a super ledger', async t => {
  const hub = await HubLedger.open(t.testdir())
  t.teardown(async () => { await hub.close() })
  const sup = await SuperLedger.open(t.testdir(), { haltOnRollbackRatio: 0.1 })
  t.teardown(async () => { await sup.close() })
  const ack = await exchange({ devices: hub }, {
    type: 'device-events',
    deviceId: 'pos-1',
    entries: [{ seq: 1, at, kind: 'transition', waveId: '142', to: 'staged' }, { seq: 2, at, kind: 'transition', waveId: '142', to: 'rolled-back' }]
  })
  t.same(ack, { status: 'ok', ackedSeq: 2, orders: [] })
  t.equal((await hub.device('pos-1'))?.peer, 'test-peer', 'the sending peer is recorded')
  const entries = await hub.readOutbox()
  const up = await exchange({ hubs: sup }, { type: 'hub-ledger', hubId: 'store-1', epoch: hub.epoch, entries })
  t.equal(up.ackedSeq, entries.at(-1)!.seq)
  t.equal(up.orders[0]?.action, 'halt', 'the halt comes back in the same answer')
  await t.rejects(exchange({ devices: hub }, { type: 'hub-ledger', hubId: 'store-1', epoch: hub.epoch, entries: [] }),
    { code: 'E_PEER_ERROR', meta: { reason: 'wrong-role' } })
  await t.rejects(exchange({ hubs: sup }, { type: 'device-events', deviceId: 'pos-1', entries: [] }),
    { code: 'E_PEER_ERROR', meta: { reason: 'wrong-role' } })
})

t.test('a malformed batch gets bad-request and stores nothing', async t => {
  const hub = await HubLedger.open(t.testdir())
  t.teardown(async () => { await hub.close() })
  const [client, server] = await streamPair({ protocol: REPORT_PROTOCOL })
  const proto = new ReportProtocol(components, { devices: hub, timeoutMs: 5_000 })
  const served = proto.handleStream(server, 'test-peer')
  await writeMessage(client, enc({ type: 'device-events', deviceId: 'pos-1', entries: [{ seq: 1, at, kind: 'note' }, { seq: 1, at, kind: 'note' }] }))
  const res = decodeReportResponse(await readBounded(client, { maxBytes: 65536 }))
  await served
  t.match(res, { status: 'error', reason: 'bad-request', detail: /increasing/ })
  t.equal(await hub.device('pos-1'), undefined)
})

t.test('an oversize frame resets the stream before the body is read', async t => {
  const hub = await HubLedger.open(t.testdir())
  t.teardown(async () => { await hub.close() })
  const [client, server] = await streamPair({ protocol: REPORT_PROTOCOL })
  const proto = new ReportProtocol(components, { devices: hub, timeoutMs: 5_000 })
  const served = proto.handleStream(server, 'test-peer')
  client.send(varint.encode(MAX_REPORT_REQUEST_BYTES + 1))
  await served
  t.not(server.status, 'open')
  await t.rejects(readBounded(client, { maxBytes: 1024, timeoutMs: 2_000 }))
})

t.test('a malformed answer fails closed on the sending side', async t => {
  const [client, server] = await streamPair({ protocol: REPORT_PROTOCOL })
  const proto = new ReportProtocol(components, { timeoutMs: 5_000 })
  const fake = (async () => {
    await readBounded(server, { maxBytes: MAX_REPORT_REQUEST_BYTES })
    await writeMessage(server, enc({ status: 'ok', ackedSeq: -3, orders: [] }))
    await server.close()
  })()
  await t.rejects(proto.requestOverStream(client, { type: 'device-events', deviceId: 'pos-1', entries: [] }), { code: 'E_WIRE_MALFORMED' })
  await fake.catch(() => {})
})

t.test('a client with no sink registers no handler', async t => {
  let handled = 0
  const c = { ...components, registrar: { handle: async () => { handled++ }, unhandle: async () => {} } } as unknown as ReportProtocolComponents
  const client = new ReportProtocol(c)
  await client.start()
  t.equal(handled, 0)
  t.ok(client.isStarted())
  await client.stop()
  const hub = await HubLedger.open(t.testdir())
  t.teardown(async () => { await hub.close() })
  const server = new ReportProtocol(c, { devices: hub })
  await server.start()
  t.equal(handled, 3, '1.0.0, 1.1.0 and 1.2.0')
  await server.stop()
})
