/** Device store reports: journaled shape, what the hub takes from them (newest wins, malformed members dropped), and the hub's paused-devices gauge. */
import t from 'tap'
import { Registry } from 'prom-client'
import type { JournalEntry } from '../../../src/interface/types.js'
import { deviceStoreOf, newerStore, sameReport, storeFigures, storeReportEvent } from '../../../src/ledger/device-store.js'
import { HubLedger } from '../../../src/ledger/hub-ledger.js'
import { toWireEntry } from '../../../src/ledger/report/messages.js'
import { createDeviceStoreMetrics } from '../../../src/metrics/device-store-metrics.js'
import { tempDir } from '../../support/store-fixture.js'

const A = 'b3:' + 'a'.repeat(64)
const B = 'b3:' + 'b'.repeat(64)
const at = '2026-01-01T00:00:00.000Z'

t.test('a report round-trips through the journal entry and the wire trim', async t => {
  const r = { paused: 'disk-full', pausedSinceMs: 1234, active: A, lastKnownGood: B }
  const entry: JournalEntry = { seq: 9, at, ...storeReportEvent(r) }
  t.same(deviceStoreOf(toWireEntry(entry)), { seq: 9, ...r })
  t.equal(entry.reason, 'store.paused.disk-full', 'a pause names its reason in the entry')
  t.same(deviceStoreOf({ seq: 1, at, ...storeReportEvent({ paused: null }) }), { seq: 1, paused: null })
  t.equal(deviceStoreOf({ seq: 1, at, kind: 'transition' }), undefined, 'other kinds are not reports')
  t.ok(sameReport(r, { ...r }))
  t.notOk(sameReport(r, { ...r, paused: null }))
  t.notOk(sameReport(undefined, r), 'the first report after a start always goes')
})

t.test('malformed members are dropped, not trusted', async t => {
  const s = deviceStoreOf({ seq: 3, at, kind: 'store', data: { paused: 'Disk Full!', active: 'not-an-id', installing: A, lastKnownGood: 42, pausedSinceMs: -1 } })
  t.same(s, { seq: 3, paused: null, installing: A })
})

t.test('the hub keeps the newest report per device and counts the paused ones', async t => {
  const dir = await tempDir(t)
  const ledger = await HubLedger.open(dir)
  t.teardown(async () => { await ledger.close() })
  const report = (seq: number, r: Parameters<typeof storeReportEvent>[0]): JournalEntry => ({ seq, at, ...storeReportEvent(r) })
  await ledger.acceptDeviceBatch({ type: 'device-events', deviceId: 'pos-1', entries: [report(2, { paused: 'disk-full', active: A })] })
  await ledger.acceptDeviceBatch({ type: 'device-events', deviceId: 'pos-1', entries: [report(1, { paused: null, active: B })] })
  await ledger.acceptDeviceBatch({ type: 'device-events', deviceId: 'pos-2', entries: [report(1, { paused: 'quota', active: A, lastKnownGood: B })] })
  await ledger.acceptDeviceBatch({ type: 'device-events', deviceId: 'pos-3', entries: [report(1, { paused: 'disk-full' }), report(2, { paused: null, installing: B })] })
  const stores = await ledger.deviceStores()
  t.same(stores.map(d => [d.deviceId, d.store.seq, d.store.paused]), [['pos-1', 2, 'disk-full'], ['pos-2', 1, 'quota'], ['pos-3', 2, null]], 'the highest seq wins, whatever the arrival order')
  const f = storeFigures(stores.map(d => d.store))
  t.same(f.pausedByReason, { 'disk-full': 1, quota: 1 })
  t.same([...f.heldByDevices].sort(), [A, B])
  t.equal(newerStore(stores[0]!.store, { seq: 1, paused: null }), stores[0]!.store)

  const registry = new Registry()
  createDeviceStoreMetrics(registry, { pausedByReason: async () => storeFigures((await ledger.deviceStores()).map(d => d.store)).pausedByReason })
  const text = await registry.metrics()
  t.match(text, /^storemesh_store_devices_paused\{reason="disk-full"\} 1$/m)
  t.match(text, /^storemesh_store_devices_paused\{reason="quota"\} 1$/m)
  await ledger.acceptDeviceBatch({ type: 'device-events', deviceId: 'pos-1', entries: [report(3, { paused: null, active: A })] })
  await ledger.acceptDeviceBatch({ type: 'device-events', deviceId: 'pos-2', entries: [report(2, { paused: 'odd-reason' })] })
  const after = await registry.metrics()
  t.match(after, /^storemesh_store_devices_paused\{reason="disk-full"\} 0$/m, 'resumed: back to 0, still exported')
  t.match(after, /^storemesh_store_devices_paused\{reason="other"\} 1$/m, 'an unknown reason folds into other')
})
