/**
 * Device orders (report 1.1.0): the wire member, the hub ledger's idempotent issue and
 * close, the device's run-once runner across restarts, and the whole loop through a
 * DeviceUplink with real ledgers and a real journal.
 */
import t from 'tap'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Journal } from '../../../src/install/journal.js'
import type { JournalEntry } from '../../../src/interface/types.js'
import { DEVICE_ORDERS_FILE } from '../../../src/ledger/constants.js'
import { orderOutcomeEvent, orderOutcomeOf } from '../../../src/ledger/device-orders.js'
import { HubLedger } from '../../../src/ledger/hub-ledger.js'
import { decodeReportResponse, encodeReportResponse, type DeviceOrder, type ReportAck, type ReportRequest } from '../../../src/ledger/report/index.js'
import { DeviceOrderRunner, type OrderResult } from '../../../src/ledger/order-runner.js'
import type { ReportClient } from '../../../src/ledger/report/index.js'
import { DeviceUplink } from '../../../src/ledger/uplink.js'
import { until } from '../../support/poll.js'

const at = '2025-01-01T00:00:00.000Z'
const ORDER: DeviceOrder = { orderId: 'o1-abcd', deviceId: 'pos-17', action: 'rollback', reason: 'scanner broken', issuedAtMs: 1000 }

t.test('deviceOrders travels on 1.1.0 only', async t => {
  const ack: ReportAck = { status: 'ok', ackedSeq: 3, orders: [], deviceOrders: [ORDER] }
  t.same(decodeReportResponse(encodeReportResponse(ack)), ack, 'round trip on 1.1.0')
  const v10 = decodeReportResponse(encodeReportResponse(ack, { deviceOrders: false }), { deviceOrders: false })
  t.same(v10, { status: 'ok', ackedSeq: 3, orders: [] }, 'a 1.0.0 answer leaves the member out')
  t.throws(() => decodeReportResponse(encodeReportResponse(ack), { deviceOrders: false }), { code: 'E_WIRE_MALFORMED' }, 'a 1.0.0 decoder refuses the member')
  const none = new TextDecoder().decode(encodeReportResponse({ status: 'ok', ackedSeq: 0, orders: [], deviceOrders: [] }))
  t.notMatch(none, /deviceOrders/, 'no member when there are no orders')
  const bad = (o: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify({ status: 'ok', ackedSeq: 0, orders: [], deviceOrders: [o] }))
  for (const o of [{ ...ORDER, action: 'wipe' }, { ...ORDER, orderId: '../x' }, { ...ORDER, extra: 1 }, { ...ORDER, reason: 'x'.repeat(300) }]) {
    t.throws(() => decodeReportResponse(bad(o)), { code: 'E_WIRE_MALFORMED' }, JSON.stringify(o).slice(0, 60))
  }
  const e = { seq: 9, at, ...orderOutcomeEvent(ORDER, 'done', 'rolled back') } as JournalEntry
  t.same(orderOutcomeOf(e), { orderId: ORDER.orderId, outcome: 'done', detail: 'rolled back' })
  t.equal(orderOutcomeOf({ seq: 1, at, kind: 'order', data: { orderId: 'x y', outcome: 'done' } }), undefined, 'a bad id reports nothing')
})

t.test('hub ledger: an order is issued once, repeated to its device until its outcome, and new after a commit', async t => {
  const dir = t.testdir()
  let ledger = await HubLedger.open(dir)
  t.teardown(async () => { await ledger.close() })
  const first = await ledger.issueDeviceOrder({ deviceId: 'pos-17', action: 'rollback', reason: 'scanner broken' })
  t.equal(first.changed, true)
  const again = await ledger.issueDeviceOrder({ deviceId: 'pos-17', action: 'rollback', reason: 'scanner broken' })
  t.equal(again.changed, false, 'a repeat while open changes nothing')
  t.equal(again.record.order.orderId, first.record.order.orderId)

  const other = await ledger.acceptDeviceBatch({ type: 'device-events', deviceId: 'pos-18', entries: [] })
  t.equal(other.deviceOrders, undefined, 'another device gets none')
  const poll = await ledger.acceptDeviceBatch({ type: 'device-events', deviceId: 'pos-17', entries: [] })
  t.same(poll.deviceOrders, [first.record.order], 'the device gets its order')

  await ledger.close()
  ledger = await HubLedger.open(dir)
  const afterRestart = await ledger.acceptDeviceBatch({ type: 'device-events', deviceId: 'pos-17', entries: [] })
  t.same(afterRestart.deviceOrders, [first.record.order], 'the order survives a hub restart')

  const outcome: JournalEntry = { seq: 5, at, ...orderOutcomeEvent(first.record.order, 'done', 'rolled back 3.8.2') }
  const closed = await ledger.acceptDeviceBatch({ type: 'device-events', deviceId: 'pos-17', entries: [outcome] })
  t.equal(closed.deviceOrders, undefined, 'closed by the outcome in the same batch')
  const recs = await ledger.deviceOrders('pos-17')
  t.match(recs, [{ state: 'closed', outcome: 'done', outcomeSeq: 5 }])
  const repeat = await ledger.issueDeviceOrder({ deviceId: 'pos-17', action: 'rollback', reason: 'scanner broken' })
  t.equal(repeat.changed, false, 'a repeat after it rolled back changes nothing')
  t.match(repeat.detail, /already rolled the device back/)

  await ledger.acceptDeviceBatch({ type: 'device-events', deviceId: 'pos-17', entries: [{ seq: 6, at, kind: 'transition', waveId: '143', from: 'booted-trial', to: 'committed' }] })
  const fresh = await ledger.issueDeviceOrder({ deviceId: 'pos-17', action: 'rollback', reason: 'v2 broken too' })
  t.equal(fresh.changed, true, 'after a newer install committed, a rollback is new work')
  t.not(fresh.record.order.orderId, first.record.order.orderId)
})

t.test('the device runner runs an order id once, across restarts', async t => {
  const root = t.testdir({ a: {}, b: {}, c: {} })
  const dir = join(root, 'a')
  const journal = await Journal.open(dir)
  t.teardown(async () => { await journal.close() })
  let runs = 0
  const execute = async (): Promise<OrderResult> => { runs++; return { outcome: 'done', detail: 'rolled back', waveId: '142' } }
  const runner = await DeviceOrderRunner.open({ dataDir: dir, deviceId: 'pos-17', journal, execute })
  runner.offer([ORDER, ORDER, { ...ORDER, orderId: 'o2', deviceId: 'pos-18' }])
  runner.offer([ORDER])
  await runner.idle()
  t.equal(runs, 1, 'offered three times, run once; another device\'s order ignored')
  t.same(runner.seen(ORDER.orderId), { state: 'done', outcome: 'done' })
  runner.offer([ORDER])
  await runner.idle()
  t.equal(runs, 1, 'a done order is not run again')
  const entries = await journal.readFrom(0)
  t.match(entries, [{ kind: 'order', waveId: '142', data: { orderId: ORDER.orderId, outcome: 'done' } }])

  const reopened = await DeviceOrderRunner.open({ dataDir: dir, deviceId: 'pos-17', journal, execute })
  reopened.offer([ORDER])
  await reopened.idle()
  t.equal(runs, 1, 'not run again after a restart')

  // a crash between accepting and reporting: the order is not run twice
  const dir2 = join(root, 'b')
  const j2 = await Journal.open(dir2)
  t.teardown(async () => { await j2.close() })
  await writeFile(join(dir2, DEVICE_ORDERS_FILE), JSON.stringify({ schema: 'storemesh/device-orders/1', orders: [{ orderId: ORDER.orderId, state: 'accepted', atMs: 1 }] }))
  let runs2 = 0
  const r2 = await DeviceOrderRunner.open({ dataDir: dir2, deviceId: 'pos-17', journal: j2, execute: async () => { runs2++; return { outcome: 'done', detail: '' } } })
  r2.offer([ORDER])
  await r2.idle()
  t.equal(runs2, 0, 'an accepted order is not run again')
  t.match(await j2.readFrom(0), [{ kind: 'order', data: { outcome: 'interrupted' } }])

  const failing = await DeviceOrderRunner.open({ dataDir: join(root, 'c'), deviceId: 'pos-17', journal, execute: async () => { throw new Error('boom') } })
  failing.offer([{ ...ORDER, orderId: 'o3' }])
  await failing.idle()
  t.match(await journal.readFrom(0), [{ kind: 'order' }, { kind: 'order', data: { orderId: 'o3', outcome: 'failed' } }], 'a throw is reported as failed')
})

t.test('the loop: hub order → device uplink → runner → outcome up → order closed', async t => {
  const root = t.testdir({ hub: {}, dev: {} })
  const hub = await HubLedger.open(join(root, 'hub'))
  t.teardown(async () => { await hub.close() })
  const devDir = join(root, 'dev')
  const journal = await Journal.open(devDir)
  t.teardown(async () => { await journal.close() })
  // the real codec of 1.1.0 between the two
  const client: ReportClient = {
    async send (_target, req: ReportRequest): Promise<ReportAck> {
      if (req.type !== 'device-events') throw new Error('device batches only')
      const res = decodeReportResponse(encodeReportResponse(await hub.acceptDeviceBatch(req)))
      if (res.status !== 'ok') throw new Error('error answer')
      return res
    }
  }
  let runs = 0
  let uplink: DeviceUplink | undefined
  const runner = await DeviceOrderRunner.open({
    dataDir: devDir,
    deviceId: 'pos-17',
    journal,
    execute: async () => { runs++; return { outcome: 'done', detail: 'rolled back', waveId: '142' } },
    onOutcome: () => { uplink?.kick() }
  })
  uplink = new DeviceUplink({
    deviceId: 'pos-17', journal, client, hub: async () => [] as never,
    onDeviceOrders: o => { runner.offer(o) },
    options: { retryBaseMs: 2, retryMaxMs: 20, pollIntervalMs: 20, timeoutMs: 5000 }
  })
  await journal.append({ kind: 'transition', waveId: '142', from: 'booted-trial', to: 'committed' })
  const issued = await hub.issueDeviceOrder({ deviceId: 'pos-17', action: 'rollback', reason: 'scanner broken' })
  uplink.start()
  t.teardown(async () => { await uplink?.stop(); await runner.stop() })
  t.ok(await until(async () => (await hub.deviceOrders('pos-17'))[0]?.state === 'closed'), 'the order closed at the hub')
  t.equal(runs, 1)
  // more polls: the closed order is not handed out again
  const polls = uplink.status().lastSuccessAtMs ?? 0
  t.ok(await until(() => (uplink?.status().lastSuccessAtMs ?? 0) > polls + 40))
  await runner.idle()
  t.equal(runs, 1, 'still run once')
  t.match(await hub.deviceOrders('pos-17'), [{ order: { orderId: issued.record.order.orderId }, outcome: 'done' }])
  t.equal((await hub.issueDeviceOrder({ deviceId: 'pos-17', action: 'rollback', reason: 'again' })).changed, false)
})
