/**
 * The fleet ledger's cases, run on both drivers by fleet-ledger-pglite.test.ts (PGlite
 * in-process, one instance per file: its first open takes seconds) and
 * fleet-ledger-postgres.test.ts (a real server the file starts). Each case uses its own
 * hub and wave ids, so the cases share one database.
 */
import type { Test } from 'tap'
import { FleetLedger, migrate, SqlWaveStore, type SqlDb } from '../../../src/control/index.js'
import type { HubBatch, LedgerDelta } from '../../../src/ledger/report/index.js'
import { isStoremeshError } from '../../../src/interface/errors.js'

const E1 = '1'.repeat(32)
const BUNDLE = 'b3:' + 'ab'.repeat(32)

function delta (seq: number, waveId: string, deviceId: string, state: LedgerDelta['state'], version = seq, gate?: string): LedgerDelta {
  return { seq, waveId, deviceId, state, version, atMs: 1, ...(gate !== undefined ? { gate } : {}) }
}
const batch = (hubId: string, entries: LedgerDelta[], epoch = E1): HubBatch => ({ type: 'hub-ledger', hubId, epoch, entries })

async function rejects (t: Test, p: Promise<unknown>, code: string, what: string): Promise<void> {
  try {
    await p
    t.fail(`${what}: resolved`)
  } catch (err) {
    t.ok(isStoremeshError(err) && err.code === code, `${what}: ${isStoremeshError(err) ? err.toLine() : String(err)}`)
  }
}

async function count (db: SqlDb, table: string): Promise<number> {
  return Number((await db.query<{ n: unknown }>(`SELECT count(*) AS n FROM ${table}`))[0]!.n)
}

export interface Driver {
  db: SqlDb
  /** a second ledger as another super hub on the same database would see it */
  other: () => Promise<FleetLedger>
}

export async function rejectsWith (t: Test, p: Promise<unknown>, code: string, what: string): Promise<void> {
  await rejects(t, p, code, what)
}

export function fleetLedgerCases (t: Test, getDriver: () => Driver): void {
  t.test('migrations are versioned and idempotent', async t => {
    const { db } = getDriver()
    t.same(await migrate(db), [], 'a second run applies nothing')
    t.same((await db.query('SELECT version, name FROM schema_migrations ORDER BY version')).map(r => [Number(r.version), r.name]), [[1, 'fleet-ledger'], [2, 'wave-runner'], [3, 'holdings-prestage']])
  })

  t.test('exactly once: a replayed report, and the same report at the other super hub, count once', async t => {
    const { db, other } = getDriver()
    const a = await FleetLedger.over(db, { haltOnRollbackRatio: 1, via: 'super-a' })
    const b = await other()
    t.teardown(async () => { await a.close(); await b.close() })
    const entries = [delta(1, 'x1', 'pos-1', 'pending'), delta(2, 'x1', 'pos-2', 'blocked', 2, 'schedule.window'), delta(5, 'x1', 'pos-1', 'updated')]
    t.equal((await a.acceptHubBatch(batch('xs-1', entries))).ackedSeq, 5)
    t.equal((await a.acceptHubBatch(batch('xs-1', entries))).ackedSeq, 5, 'replayed after a lost ack: same ack')
    t.equal((await b.acceptHubBatch(batch('xs-1', entries))).ackedSeq, 5, 'sent to the other super hub: same ack')
    t.equal(a.counters.reportsReplayed, 1)
    // both super hubs take the next report at once: the hub row lock lets one apply it
    const next = [delta(6, 'x1', 'pos-3', 'rolled-back'), delta(7, 'x1', 'pos-2', 'updated', 7)]
    const acks = await Promise.all([a.acceptHubBatch(batch('xs-1', next)), b.acceptHubBatch(batch('xs-1', next))])
    t.same(acks.map(x => x.ackedSeq), [7, 7])
    t.same(await a.waveTotals('x1'), { updated: 2, rolledBack: 1, failed: 0, pending: 0, blocked: 0, total: 3, blockedByGate: {}, failedByReason: {} })
    t.equal(await db.query("SELECT 1 FROM hub_reports WHERE hub_id = 'xs-1'").then(r => r.length), 2, 'two reports applied, two logged')
    t.same((await a.hubs()).filter(h => h.hubId === 'xs-1').map(h => [h.ackedSeq, h.admittedBy]), [[7, 'first-report']])
    t.equal((await a.acceptHubBatch(batch('xs-1', entries.slice(0, 2)))).ackedSeq, 7, 'an older prefix answers the watermark')
    t.equal((await a.waveTotals('x1')).total, 3)
  })

  t.test('reports waiting for the database go in groups; each counts as it would alone', async t => {
    const { db } = getDriver()
    // one group at a time: the first report runs alone, the others queue behind it
    const l = await FleetLedger.over(db, { haltOnRollbackRatio: 1, admission: 'registered', ingest: { maxInFlight: 1 } })
    for (const h of ['gs-1', 'gs-2', 'gs-3', 'gs-4', 'gs-5', 'gs-6']) await l.registerHub(h)
    const r2 = batch('gs-2', [delta(1, 'g1', 'g-4', 'updated'), delta(2, 'g1', 'g-5', 'blocked', 2, 'schedule.window')])
    const sent = [
      l.acceptHubBatch(batch('gs-1', [delta(1, 'g1', 'g-1', 'updated'), delta(2, 'g1', 'g-2', 'rolled-back'), delta(3, 'g1', 'g-3', 'pending')])),
      l.acceptHubBatch(r2),
      l.acceptHubBatch(batch('gs-1', [delta(4, 'g1', 'g-3', 'updated')])),
      l.acceptHubBatch(batch('gs-stranger', [delta(1, 'g1', 'g-9', 'updated')])),
      // g-1 moved to gs-3 with a later journal seq
      l.acceptHubBatch(batch('gs-3', [delta(1, 'g1', 'g-1', 'rolled-back', 9)])),
      l.acceptHubBatch(r2)
    ]
    const settled = await Promise.allSettled(sent)
    t.same(settled.map(s => s.status === 'fulfilled' ? s.value.ackedSeq : (s.reason as { code?: string }).code), [3, 2, 4, 'E_HUB_UNKNOWN', 1, 2])
    t.equal(l.counters.reportTransactions, 3, 'six reports in three transactions: alone, four side by side, the second of gs-2')
    t.equal(l.counters.reportsReplayed, 1)
    t.same(await l.waveTotals('g1'), { updated: 2, rolledBack: 2, failed: 0, pending: 0, blocked: 1, total: 5, blockedByGate: { 'schedule.window': 1 }, failedByReason: {} })
    t.same((await l.devices('g1')).map(d => [d.deviceId, d.hubId, d.state]),
      [['g-1', 'gs-3', 'rolled-back'], ['g-2', 'gs-1', 'rolled-back'], ['g-3', 'gs-1', 'updated'], ['g-4', 'gs-2', 'updated'], ['g-5', 'gs-2', 'blocked']])
    t.equal(await db.query("SELECT 1 FROM hubs WHERE hub_id = 'gs-stranger'").then(r => r.length), 0, 'the refused hub left nothing')
    // a report the database refuses (a state outside its CHECK) fails its group: the others are retried alone and land
    const bad = { ...delta(1, 'g2', 'g-21', 'updated'), state: 'exploded' } as unknown as LedgerDelta
    const second = await Promise.allSettled([
      l.acceptHubBatch(batch('gs-4', [delta(1, 'g2', 'g-20', 'updated')])),
      l.acceptHubBatch(batch('gs-5', [bad])),
      l.acceptHubBatch(batch('gs-6', [delta(1, 'g2', 'g-22', 'updated')]))
    ])
    t.same(second.map(s => s.status === 'fulfilled' ? s.value.ackedSeq : (s.reason as { code?: string }).code), [1, 'E_LEDGER', 1])
    t.same((await l.devices('g2')).map(d => d.deviceId), ['g-20', 'g-22'])
    t.equal(await db.query("SELECT 1 FROM hub_reports WHERE hub_id = 'gs-5'").then(r => r.length), 0, 'the bad report left nothing')
  })

  t.test('a device that moved stores counts once; the higher journal seq wins', async t => {
    const { db } = getDriver()
    const l = await FleetLedger.over(db, { haltOnRollbackRatio: 1 })
    await l.acceptHubBatch(batch('ms-1', [delta(1, 'm1', 'kiosk-1', 'updated', 10)]))
    await l.acceptHubBatch(batch('ms-2', [delta(1, 'm1', 'kiosk-1', 'pending', 4)]))
    t.same((await l.devices('m1')).map(d => [d.deviceId, d.hubId, d.state]), [['kiosk-1', 'ms-1', 'updated']], 'an older state from another hub is ignored')
    await l.acceptHubBatch(batch('ms-2', [delta(2, 'm1', 'kiosk-1', 'rolled-back', 12)]))
    const c = await l.waveTotals('m1')
    t.same([c.updated, c.rolledBack, c.total], [0, 1, 1])
  })

  t.test('auto-halt after the minimum outcomes; cleared only by an explicit resume', async t => {
    const { db } = getDriver()
    const halts: string[] = []
    const l = await FleetLedger.over(db, { haltOnRollbackRatio: 0.2, minOutcomesForHalt: 5, onOrder: o => { halts.push(o.reason) } })
    const first = [1, 2, 3, 4].map(i => delta(i, 'h1', `d-${i}`, 'updated'))
    await l.acceptHubBatch(batch('hs-1', [...first, delta(5, 'h1', 'd-5', 'rolled-back')]))
    t.notOk(l.isWaveHalted('h1'), 'ratio 0.2 is not over 0.2')
    const ack = await l.acceptHubBatch(batch('hs-2', [delta(1, 'h1', 'd-6', 'rolled-back')]))
    t.match(ack.orders.find(o => o.waveId === 'h1'), { action: 'halt', reason: /rollback ratio 0\.3333 > 0\.2 \(2 of 6 devices rolled back\)/ })
    t.ok(l.isWaveHalted('h1'))
    t.equal(halts.length, 1)
    await rejects(t, l.issue({ kind: 'wave', action: 'start', waveId: 'h1', by: 'ops' }), 'E_CONFLICT', 'start does not clear a halt')
    const other = await l.acceptHubBatch(batch('hs-1', []))
    t.equal(other.orders.find(o => o.waveId === 'h1')?.action, 'halt', 'the other store gets it on its next poll')
    const r = await l.issue({ kind: 'wave', action: 'resume', waveId: 'h1', by: 'ops', reason: 'root cause fixed' })
    t.ok(r.created)
    t.equal(l.order('h1')?.action, 'resume')
    const s = (await l.status('h1')).waves[0]!
    t.match(s, { state: 'installing', halted: false, halts: [{ source: 'auto', cleared: true }] })
    t.same(s.storesByState, { installing: 2 })
  })

  t.test('orders: idempotent, recorded with who, why and when; delivered and acknowledged per store', async t => {
    const { db } = getDriver()
    const l = await FleetLedger.over(db, { haltOnRollbackRatio: 1, now: () => 1_000 })
    await l.acceptHubBatch(batch('os-1', [delta(1, 'o1', 'pos-1', 'pending')]))
    await l.acceptHubBatch(batch('os-2', [delta(1, 'o1', 'pos-2', 'pending')]))
    const p1 = await l.issue({ kind: 'wave', action: 'pause', waveId: 'o1', by: 'alice', reason: 'scanner firmware' })
    const p2 = await l.issue({ kind: 'wave', action: 'pause', waveId: 'o1', by: 'bob', reason: 'again' })
    t.ok(p1.created)
    t.notOk(p2.created, 'a second pause is the same order')
    t.equal(p2.order.orderId, p1.order.orderId)
    t.match(p1.order, { issuedBy: 'alice', reason: 'scanner firmware', issuedAtMs: 1_000, source: 'operator' })
    const byId = await l.issue({ kind: 'bundle', action: 'hold', bundleId: BUNDLE, by: 'alice', orderId: 'hold-1' })
    t.ok(byId.created)
    t.notOk((await l.issue({ kind: 'bundle', action: 'hold', bundleId: BUNDLE, by: 'alice', orderId: 'hold-1' })).created, 'same order id: same order')
    await rejects(t, l.issue({ kind: 'wave', action: 'halt', waveId: 'o1', by: 'alice', orderId: 'hold-1' }), 'E_CONFLICT', 'an order id reused for another order')
    let st = await l.status('o1')
    t.same(st.pendingOrders.filter(p => p.order.waveId === 'o1').map(p => p.storesPending), [2], 'the pause is pending at both stores')
    t.same(st.heldBundles.map(h => h.bundleId), [BUNDLE])
    t.match(st.waves[0], { state: 'paused', paused: true, storesByState: { paused: 2 } })
    await l.acceptHubBatch(batch('os-1', []))
    st = await l.status('o1')
    t.same(st.pendingOrders.filter(p => p.order.waveId === 'o1').map(p => p.storesPending), [1], 'one store has it; the offline one is still owed it')
    const back = await l.acceptHubBatch(batch('os-2', [delta(2, 'o1', 'pos-2', 'blocked', 2, 'wave.paused')]))
    t.equal(back.orders.find(o => o.waveId === 'o1')?.action, 'pause', 'the store back from offline gets the pause')
    t.same((await l.status('o1')).pendingOrders.filter(p => p.order.waveId === 'o1'), [])
    const rb = await l.issue({ kind: 'device', action: 'rollback', hubId: 'os-1', deviceId: 'pos-1', by: 'alice', reason: 'screen' })
    t.notOk((await l.issue({ kind: 'device', action: 'rollback', hubId: 'os-1', deviceId: 'pos-1', by: 'alice' })).created, 'an open rollback of that device is the same order')
    t.ok((await l.status()).pendingOrders.some(p => p.order.orderId === rb.order.orderId))
    await rejects(t, l.issue({ kind: 'bundle', action: 'release', bundleId: 'b3:' + 'cd'.repeat(32), by: 'alice' }), 'E_CONFLICT', 'releasing a bundle not held')
  })

  t.test('fleet orders (1.2.0): a store gets its holds and rollbacks until it acks them; an offline store gets them on return', async t => {
    const { db } = getDriver()
    let woken = 0
    const l = await FleetLedger.over(db, { haltOnRollbackRatio: 1, onChange: () => { woken++ } })
    t.teardown(async () => { await l.close() })
    await l.acceptHubBatch(batch('fo-1', [delta(1, 'fo', 'pos-1', 'updated')]))
    await l.acceptHubBatch(batch('fo-2', [delta(1, 'fo', 'pos-9', 'updated')]))
    const hold = await l.issue({ kind: 'bundle', action: 'hold', bundleId: BUNDLE.replace('ab', 'fe'), by: 'ops', reason: 'bad driver' })
    const rb = await l.issue({ kind: 'device', action: 'rollback', hubId: 'fo-1', deviceId: 'pos-1', by: 'ops', reason: 'scanner' })
    t.equal(woken, 2, 'each new order wakes the held polls')
    const stamp = await l.ordersStamp()
    t.ok(stamp !== undefined)
    const v11 = await l.acceptHubBatch(batch('fo-1', []))
    t.equal(v11.fleetOrders, undefined, 'a 1.0.0 / 1.1.0 report gets none')
    const a1 = await l.acceptHubBatch(batch('fo-1', []), { poll: {} })
    t.same(a1.fleetOrders?.map(o => [o.orderId, o.action]).filter(([id]) => id === hold.order.orderId || id === rb.order.orderId),
      [[hold.order.orderId, 'hold'], [rb.order.orderId, 'rollback']], 'oldest first')
    t.same(a1.fleetOrders?.find(o => o.action === 'rollback'), { orderId: rb.order.orderId, action: 'rollback', storeId: 'fo-1', deviceId: 'pos-1', reason: 'scanner', issuedAtMs: rb.order.issuedAtMs })
    t.same((await l.acceptHubBatch(batch('fo-1', []), { poll: {} })).fleetOrders?.length, a1.fleetOrders?.length, 'repeated until acked')
    const a2 = await l.acceptHubBatch(batch('fo-1', []), { poll: { ackOrders: a1.fleetOrders!.map(o => o.orderId) } })
    t.equal(a2.fleetOrders, undefined, 'acked: no longer sent')
    t.equal(Number((await db.query('SELECT count(*) AS n FROM order_acks WHERE hub_id = $1 AND acked_ms IS NOT NULL AND order_id = ANY($2::text[])', ['fo-1', [hold.order.orderId, rb.order.orderId]]))[0]!.n), 2, 'acks recorded')
    const other = await l.acceptHubBatch(batch('fo-2', []), { poll: { ackOrders: [rb.order.orderId] } })
    t.same(other.fleetOrders?.filter(o => o.orderId === hold.order.orderId || o.orderId === rb.order.orderId).map(o => o.action), ['hold'],
      'the other store gets the hold, not the first store\'s rollback, and cannot ack it')
  })

  t.test('bad input: unknown hub, wave, store, device, malformed ids; the ledger is unchanged', async t => {
    const { db } = getDriver()
    const l = await FleetLedger.over(db, { haltOnRollbackRatio: 1, admission: 'registered' })
    const before = await Promise.all(['hubs', 'orders', 'device_outcomes', 'hub_reports', 'waves'].map(async x => await count(db, x)))
    await rejects(t, l.acceptHubBatch(batch('stranger', [delta(1, 'b1', 'pos-1', 'updated')])), 'E_HUB_UNKNOWN', 'a report from an unregistered hub')
    await rejects(t, l.issue({ kind: 'wave', action: 'pause', waveId: 'no-such-wave', by: 'ops' }), 'E_WAVE_UNKNOWN', 'an order for an unknown wave')
    await rejects(t, l.issue({ kind: 'device', action: 'rollback', hubId: 'no-such-store', deviceId: 'pos-1', by: 'ops' }), 'E_STORE_UNKNOWN', 'an order for an unknown store')
    await rejects(t, l.issue({ kind: 'wave', action: 'pause', waveId: '../x', by: 'ops' }), 'E_INVALID_ARGUMENT', 'a malformed wave id')
    await rejects(t, l.issue({ kind: 'bundle', action: 'hold', bundleId: 'b3:nothex', by: 'ops' }), 'E_INVALID_ARGUMENT', 'a malformed bundle id')
    await rejects(t, l.issue({ kind: 'wave', action: 'hold', waveId: 'b1', by: 'ops' }), 'E_INVALID_ARGUMENT', 'an action of another kind')
    await rejects(t, l.issue({ kind: 'wave', action: 'pause', waveId: 'b1', by: '' }), 'E_INVALID_ARGUMENT', 'no issuer')
    const after = await Promise.all(['hubs', 'orders', 'device_outcomes', 'hub_reports', 'waves'].map(async x => await count(db, x)))
    t.same(after, before, 'nothing written')
    t.ok(await l.registerHub('bs-1'))
    t.notOk(await l.registerHub('bs-1'), 'registering again changes nothing')
    t.equal((await l.acceptHubBatch(batch('bs-1', [delta(1, 'b1', 'pos-1', 'updated')]))).ackedSeq, 1, 'a registered hub reports')
    await rejects(t, l.issue({ kind: 'device', action: 'rollback', hubId: 'bs-1', deviceId: 'pos-99', by: 'ops' }), 'E_DEVICE_UNKNOWN', 'a device the store never reported')
    const certified = await FleetLedger.over(db, { admission: 'registered', hubIdsOf: peer => peer === 'peer-c' ? ['cs-1'] : null })
    t.equal((await certified.acceptHubBatch(batch('cs-1', []), { peer: 'peer-c' })).ackedSeq, 0, 'a hub certified for its id is admitted')
    t.same((await l.hubs()).filter(h => h.hubId === 'cs-1').map(h => h.admittedBy), ['certificate'])
  })

  t.test('the WaveStore seam keeps the wave logic\'s batches and stores', async t => {
    const { db } = getDriver()
    const ws = new SqlWaveStore(db, () => 5)
    t.ok(await ws.createWave({ waveId: 'w1', policyName: 'pos-q4', bundleId: BUNDLE, haltOnRollbackRatio: 0.1, minOutcomesForHalt: 3, plan: { hubBudget: { value: 2, from: 'policy' } } }))
    t.notOk(await ws.createWave({ waveId: 'w1' }), 'an existing wave stays')
    await ws.putBatches('w1', [{ batchNo: 0, state: 'installing', startedMs: 5 }, { batchNo: 1, state: 'planned', notBeforeMs: 900 }])
    await ws.putStores('w1', [{ hubId: 'ws-1', batchNo: 0, state: 'installing', devicesSelected: 3 }, { hubId: 'ws-2', batchNo: 1, state: 'planned' }])
    await ws.setWaveState('w1', 'installing', 'batch 0', 0)
    t.match(await ws.getWave('w1'), { state: 'installing', currentBatch: 0, haltOnRollbackRatio: 0.1, plan: { hubBudget: { value: 2 } } })
    const l = await FleetLedger.over(db, { haltOnRollbackRatio: 1 })
    await l.acceptHubBatch(batch('ws-1', [delta(1, 'w1', 'p-1', 'updated'), delta(2, 'w1', 'p-2', 'rolled-back')]))
    t.same(await ws.storeOutcomes('w1'), [{ hubId: 'ws-1', byState: { updated: 1, rolledBack: 1 } }])
    const s = (await l.status('w1')).waves[0]!
    t.same(s.batches.map(b => [b.batchNo, b.state, b.stores]), [[0, 'installing', 1], [1, 'planned', 1]])
    t.same(s.storesByState, { installing: 1, planned: 1 })
    t.equal(s.haltOnRollbackRatio, 0.1, 'the wave\'s own limit')
  })
}

