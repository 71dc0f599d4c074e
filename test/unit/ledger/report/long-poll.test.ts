/**
 * Report 1.2.0 long-poll over in-memory stream pairs and a real hub ledger: a held
 * request answers once an order is issued (causality: the order is issued only after
 * the request is seen held), answers at once when the asker's cursor is stale, and the
 * held requests are bounded per peer.
 */
import t, { type Test } from 'tap'
import { streamPair } from '@libp2p/utils'
import { stubProtocolComponents } from '../../../support/protocol-components.js'
import { until as untilOr } from '../../../support/poll.js'
import { HubLedger } from '../../../../src/ledger/hub-ledger.js'
import {
  ChangeFeed, HeldSlots, REPORT_PROTOCOL_V1_2, ReportProtocol, type ReportAckV12, type ReportProtocolComponents, type ReportProtocolInit, type ReportRequestV12
} from '../../../../src/ledger/report/index.js'

const components = stubProtocolComponents<ReportProtocolComponents>()

async function start (proto: ReportProtocol, req: ReportRequestV12, peer = 'dev-peer'): Promise<{ answer: Promise<ReportAckV12>, served: Promise<void> }> {
  const [client, server] = await streamPair({ protocol: REPORT_PROTOCOL_V1_2 })
  const served = proto.handleStream(server, peer, REPORT_PROTOCOL_V1_2)
  const answer = proto.requestOverStream(client, req, { protocol: REPORT_PROTOCOL_V1_2, timeoutMs: 60_000 })
  return { answer, served }
}

/** Waits for `cond` (polled every 20 ms, up to 30 s); fails the test when it never holds. */
async function until (cond: () => boolean): Promise<void> {
  if (!await untilOr(cond)) throw new Error(`condition never held: ${cond.toString()}`)
}

async function setup (t: Test, init: ReportProtocolInit = {}): Promise<{ hub: HubLedger, proto: ReportProtocol, cursor: string }> {
  const hub = await HubLedger.open(t.testdir())
  const proto = new ReportProtocol(components, { devices: hub, timeoutMs: 5_000, ...init })
  t.teardown(async () => { await proto.stop(); await hub.close() })
  const first = await start(proto, { type: 'device-events', deviceId: 'pos-1', entries: [] })
  const ack = await first.answer
  await first.served
  t.match(ack.orderCursor, /^[0-9a-f]{32}$/, 'a 1.2.0 answer carries the order cursor')
  return { hub, proto, cursor: ack.orderCursor! }
}

t.test('a held poll answers with the order issued while it was held', async t => {
  const { hub, proto, cursor } = await setup(t)
  const held = await start(proto, { type: 'device-events', deviceId: 'pos-1', entries: [], waitMs: 30_000, have: { orderCursor: cursor } })
  await until(() => proto.heldRequests === 1)
  let answered = false
  void held.answer.then(() => { answered = true })
  await new Promise(resolve => setImmediate(resolve))
  t.notOk(answered, 'nothing new: still held')
  await hub.issueOrder({ waveId: '142', action: 'pause', reason: 'ops', issuedAtMs: 1000 })
  proto.changes.changed()
  const ack = await held.answer
  await held.served
  t.same(ack.orders.map(o => o.action), ['pause'], 'the order issued while held is in the answer')
  t.not(ack.orderCursor, cursor, 'and the cursor moved')
  t.equal(proto.heldRequests, 0)
})

t.test('a change that is not for the asker keeps it held; the wait ends with the current answer', async t => {
  const { proto, cursor } = await setup(t)
  const held = await start(proto, { type: 'device-events', deviceId: 'pos-1', entries: [], waitMs: 30_000, have: { orderCursor: cursor } })
  await until(() => proto.heldRequests === 1)
  const g = proto.changes.generation
  proto.changes.changed()
  // woken, rebuilt, the same cursor: waiting again on the next generation
  await until(() => proto.changes.waiting === 1 && proto.changes.generation === g + 1)
  t.equal(proto.heldRequests, 1, 'held again after a change that changed nothing for it')
  await proto.stop()
  const ack = await held.answer
  await held.served
  t.equal(ack.orderCursor, cursor, 'ended by stop: the current answer')
  await proto.start()
  const short = await start(proto, { type: 'device-events', deviceId: 'pos-1', entries: [], waitMs: 50, have: { orderCursor: cursor } })
  t.equal((await short.answer).orderCursor, cursor, 'ended by its waitMs: the current answer')
  await short.served
})

t.test('a stale cursor, entries, or no waitMs: answered at once', async t => {
  const { proto } = await setup(t)
  for (const req of [
    { type: 'device-events', deviceId: 'pos-1', entries: [], waitMs: 30_000, have: { orderCursor: '0'.repeat(32) } },
    { type: 'device-events', deviceId: 'pos-1', entries: [{ seq: 1, at: '2025-01-01T00:00:00.000Z', kind: 'note' }], waitMs: 30_000 },
    { type: 'device-events', deviceId: 'pos-1', entries: [] }
  ] as ReportRequestV12[]) {
    const x = await start(proto, req)
    const ack = await x.answer
    await x.served
    t.equal(ack.status, 'ok')
  }
  t.equal(proto.changes.waiting, 0, 'nothing was ever held')
})

t.test('held requests are bounded per peer: the third is answered at once', async t => {
  const { proto, cursor } = await setup(t, { held: { maxPerPeer: 2, maxTotal: 10 } })
  const req: ReportRequestV12 = { type: 'device-events', deviceId: 'pos-1', entries: [], waitMs: 30_000, have: { orderCursor: cursor } }
  const a = await start(proto, req)
  const b = await start(proto, req)
  await until(() => proto.heldRequests === 2)
  const c = await start(proto, req)
  t.equal((await c.answer).orderCursor, cursor, 'over the per-peer bound: answered without waiting')
  await c.served
  const d = await start(proto, req, 'other-peer')
  await until(() => proto.heldRequests === 3)
  await proto.stop()
  for (const x of [a, b, d]) { await x.answer; await x.served }
  t.equal(proto.heldRequests, 0, 'stop ends every held request')
})

t.test('the 1.1.0 stream refuses 1.2.0 members', async t => {
  const { proto } = await setup(t)
  const [client, server] = await streamPair({ protocol: '/storemesh/report/1.1.0' })
  const served = proto.handleStream(server, 'p', '/storemesh/report/1.1.0')
  const { encodeReportRequestV12 } = await import('../../../../src/ledger/report/index.js')
  const { writeMessage, readBounded } = await import('../../../../src/net/length-prefixed.js')
  await writeMessage(client, encodeReportRequestV12({ type: 'device-events', deviceId: 'pos-1', entries: [], waitMs: 1 }))
  const res = JSON.parse(new TextDecoder().decode(await readBounded(client, { maxBytes: 65536 }))) as { status: string, reason: string }
  await served
  t.match(res, { status: 'error', reason: 'bad-request' })
})

t.test('ChangeFeed and HeldSlots', async t => {
  const feed = new ChangeFeed()
  const g = feed.generation
  feed.changed()
  t.equal(await feed.waitPast(g, 10_000), true, 'a change before the wait is not missed')
  t.equal(await feed.waitPast(feed.generation, 1), false, 'times out')
  const ac = new AbortController()
  const w = feed.waitPast(feed.generation, 10_000, ac.signal)
  ac.abort()
  t.equal(await w, false, 'abort ends the wait')
  t.equal(feed.waiting, 0)
  const slots = new HeldSlots({ maxPerPeer: 1, maxTotal: 2 })
  const r1 = slots.acquire('a')
  t.ok(r1)
  t.equal(slots.acquire('a'), undefined, 'per peer')
  const r2 = slots.acquire('b')
  t.equal(slots.acquire('c'), undefined, 'in total')
  r1!(); r1!()
  t.equal(slots.held, 1, 'a release counts once')
  r2!()
  t.equal(slots.held, 0)
})
