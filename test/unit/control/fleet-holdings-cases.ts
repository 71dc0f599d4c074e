/**
 * Store hubs' holdings in the fleet ledger (report 1.2.0 `holdings`, fleet-holdings.ts),
 * run on PGlite and on a real PostgreSQL by the fleet-ledger test files. Each case uses
 * its own hub ids.
 */
import type { Test } from 'tap'
import { FleetLedger, type SqlDb } from '../../../src/control/index.js'
import { holdingsOf, hubsReportingHoldings, storesHoldingComplete } from '../../../src/control/fleet-holdings.js'
import { MAX_BATCH_STORE_IDS } from '../../../src/control/fleet-status.js'
import type { Holdings } from '../../../src/ledger/report/index.js'
import { ingestHubBatches, type IngestOutcome } from '../../../src/control/fleet-ingest.js'

const E1 = '1'.repeat(32)
const B1 = 'b3:' + '71'.repeat(32)
const B2 = 'b3:' + '72'.repeat(32)
const poll = (hubId: string): { type: 'hub-ledger', hubId: string, epoch: string, entries: [] } => ({ type: 'hub-ledger', hubId, epoch: E1, entries: [] })

export function fleetHoldingsCases (t: Test, getDb: () => SqlDb): void {
  t.test('holdings: kept per store, replaced whole, an older list never undoes a newer one', async t => {
    const db = getDb()
    let changes = 0
    const l = await FleetLedger.over(db, { haltOnRollbackRatio: 1 })
    const off = l.onChange(() => { changes++ })
    t.teardown(async () => { off(); await l.close() })
    const h1: Holdings = { atMs: 1000, bundles: [{ bundleId: B1, heldChunks: 10, totalChunks: 10, complete: true }, { bundleId: B2, heldChunks: 3, totalChunks: 9, complete: false }] }
    await l.acceptHubBatch(poll('hd-1'), { poll: { holdings: h1 } })
    await l.acceptHubBatch(poll('hd-2'), { poll: { holdings: { atMs: 5, bundles: [{ bundleId: B1, heldChunks: 2, totalChunks: 10, complete: false }] } } })
    await l.acceptHubBatch(poll('hd-3'), { poll: {} })
    t.equal(changes, 2, 'each new list steps the wave runner')
    t.same((await holdingsOf(db, ['hd-1', 'hd-2'])).map(h => [h.hubId, h.bundleId, h.heldChunks, h.totalChunks, h.complete]),
      [['hd-1', B1, 10, 10, true], ['hd-1', B2, 3, 9, false], ['hd-2', B1, 2, 10, false]])
    t.same([...await hubsReportingHoldings(db, ['hd-1', 'hd-2', 'hd-3'])].sort(), ['hd-1', 'hd-2'], 'a hub that never sent holdings is told apart')
    t.equal((await storesHoldingComplete(db)).get(B1), 1, 'one store holds B1 complete')

    // an older list (a late copy through another super hub) changes nothing
    await l.acceptHubBatch(poll('hd-1'), { poll: { holdings: { atMs: 999, bundles: [] } } })
    t.equal((await holdingsOf(db, ['hd-1'])).length, 2, 'older list ignored')
    // a newer list without B2: B2 is no longer held there
    await l.acceptHubBatch(poll('hd-1'), { poll: { holdings: { atMs: 2000, bundles: [{ bundleId: B1, heldChunks: 10, totalChunks: 10, complete: true }] } } })
    t.same((await holdingsOf(db, ['hd-1'])).map(h => h.bundleId), [B1], 'replaced whole')
    await l.acceptHubBatch(poll('hd-2'), { poll: { holdings: { atMs: 6, bundles: [{ bundleId: B1, heldChunks: 10, totalChunks: 10, complete: true }] } } })
    t.equal((await storesHoldingComplete(db)).get(B1), 2, 'two stores hold B1 complete now')
    t.equal((await storesHoldingComplete(db)).get(B2), undefined)
  })

  t.test('holdings that break the table\'s checks leave the store\'s earlier ones', async t => {
    const db = getDb()
    const l = await FleetLedger.over(db, { haltOnRollbackRatio: 1 })
    t.teardown(async () => { await l.close() })
    await l.acceptHubBatch(poll('hd-9'), { poll: { holdings: { atMs: 1, bundles: [{ bundleId: B1, heldChunks: 1, totalChunks: 4, complete: false }] } } })
    // the wire decoder refuses this; the ledger's own checks refuse it too, in one transaction
    await t.rejects(l.acceptHubBatch(poll('hd-9'), { poll: { holdings: { atMs: 2, bundles: [{ bundleId: B1, heldChunks: 5, totalChunks: 4, complete: true }] } } }))
    t.same((await holdingsOf(db, ['hd-9'])).map(h => [h.heldChunks, h.reportedMs]), [[1, 1]], 'unchanged')
  })

  t.test('holdings of a whole report group: recorded per hub by one set of statements, each hub\'s own clock kept', async t => {
    const db = getDb()
    const ctx = { now: 7_000, via: 'super-a', admission: 'open' as const, haltOnRollbackRatio: () => 1, minOutcomesForHalt: () => 1 }
    const group = async (list: Array<[string, Holdings]>): Promise<IngestOutcome[]> => await db.transaction(async tx =>
      await ingestHubBatches(tx, list.map(([hubId, holdings]) => ({ batch: poll(hubId), certified: false, fleet: { ackOrders: [], holdings } })), ctx))
    await group([['hg-1', { atMs: 10, bundles: [{ bundleId: B1, heldChunks: 1, totalChunks: 4, complete: false }, { bundleId: B2, heldChunks: 9, totalChunks: 9, complete: true }] }],
      ['hg-2', { atMs: 50, bundles: [{ bundleId: B1, heldChunks: 4, totalChunks: 4, complete: true }] }]])
    const out = await group([['hg-1', { atMs: 20, bundles: [{ bundleId: B1, heldChunks: 2, totalChunks: 4, complete: false }] }],
      ['hg-2', { atMs: 40, bundles: [] }], ['hg-3', { atMs: 1, bundles: [{ bundleId: B2, heldChunks: 3, totalChunks: 9, complete: false }] }]])
    t.same(out.map(o => o.ok && o.result.holdingsMoved === true), [true, false, true], 'hg-2\'s list is older than the one kept')
    t.same((await holdingsOf(db, ['hg-1', 'hg-2', 'hg-3'])).map(h => [h.hubId, h.bundleId, h.heldChunks, h.reportedMs]),
      [['hg-1', B1, 2, 20], ['hg-2', B1, 4, 50], ['hg-3', B2, 3, 1]], 'hg-1 replaced whole (B2 evicted), hg-2 kept, hg-3 new')
  })
}

export function fleetPrestageOrderCases (t: Test, getDb: () => SqlDb): void {
  t.test('prestage orders: to a store, a wave\'s stores or every store; idempotent until acked; hold queries unaffected', async t => {
    const db = getDb()
    const l = await FleetLedger.over(db, { haltOnRollbackRatio: 1 })
    t.teardown(async () => { await l.close() })
    const B3 = 'b3:' + '73'.repeat(32)
    for (const h of ['po-1', 'po-2']) await l.acceptHubBatch(poll(h))
    await db.query(`INSERT INTO waves (wave_id, bundle_id, created_ms, updated_ms) VALUES ('po-w', $1, 1, 1) ON CONFLICT DO NOTHING`, [B3])
    await db.query(`INSERT INTO wave_stores (wave_id, hub_id, state, updated_ms) VALUES ('po-w', 'po-2', 'planned', 1) ON CONFLICT DO NOTHING`)
    const toStore = await l.issue({ kind: 'prestage', action: 'prestage', bundleId: B3, hubId: 'po-1', by: 'ops', reason: 'early' })
    t.match(toStore, { created: true, order: { kind: 'prestage', action: 'prestage', bundleId: B3, hubId: 'po-1', issuedBy: 'ops', reason: 'early', source: 'operator' } })
    t.match(await l.issue({ kind: 'prestage', action: 'prestage', bundleId: B3, hubId: 'po-1', by: 'ops' }), { created: false, order: { orderId: toStore.order.orderId } }, 'a repeat before the ack')
    const toWave = await l.issue({ kind: 'prestage', action: 'prestage', bundleId: B3, waveId: 'po-w', by: 'ops' })
    t.equal(toWave.created, true, 'another target is another order')
    const pending = async (orderId: string): Promise<unknown> => {
      const p = (await l.status()).pendingOrders.find(x => x.order.orderId === orderId)
      return p === undefined ? undefined : { storesPending: p.storesPending, storeIds: p.storeIds }
    }
    t.same(await pending(toStore.order.orderId), { storesPending: 1, storeIds: ['po-1'] }, 'status: a store\'s prestage is pending at that store only')
    t.same(await pending(toWave.order.orderId), { storesPending: 1, storeIds: ['po-2'] }, 'status: a wave\'s prestage is pending at the wave\'s stores')
    const pre = async (hubId: string, ackOrders?: string[]): Promise<string[]> =>
      ((await l.acceptHubBatch(poll(hubId), { poll: ackOrders !== undefined ? { ackOrders } : {} })).fleetOrders ?? []).filter(o => o.action === 'prestage').map(o => o.orderId)
    t.same(await pre('po-1'), [toStore.order.orderId], 'the store gets its own, not the wave\'s')
    t.same(await pre('po-2'), [toWave.order.orderId], 'the wave\'s store gets the wave\'s')
    t.same(await pre('po-1', [toStore.order.orderId]), [], 'acked: no longer sent')
    t.equal(await pending(toStore.order.orderId), undefined, 'status: acked by its store, no longer pending')
    const again = await l.issue({ kind: 'prestage', action: 'prestage', bundleId: B3, hubId: 'po-1', by: 'ops', reason: 'evicted' })
    t.equal(again.created, true, 'after the ack a new prestage is a new order')

    // hold / release are not confused by prestage orders of the same bundle
    t.same((await l.status()).heldBundles.filter(h => h.bundleId === B3), [], 'not held')
    await rejectsCode(t, l.issue({ kind: 'bundle', action: 'release', bundleId: B3, by: 'ops' }), 'E_CONFLICT', 'a release of a bundle that only has prestage orders')
    t.equal((await l.issue({ kind: 'bundle', action: 'hold', bundleId: B3, by: 'ops' })).created, true, 'a hold is still a new order')
    const toAll = await l.issue({ kind: 'prestage', action: 'prestage', bundleId: B3, by: 'ops' })
    // the database is shared with the other cases: every store is every hub it knows
    const hubs = (await l.status()).hubs.map(h => h.hubId).sort()
    const ours = async (): Promise<unknown> => {
      const p = await pending(toAll.order.orderId) as { storesPending: number, storeIds: string[] } | undefined
      return p === undefined ? undefined : { storesPending: p.storesPending, storeIds: p.storeIds.filter(id => id.startsWith('po-')) }
    }
    t.ok(hubs.length <= MAX_BATCH_STORE_IDS, 'every store id fits in the list')
    t.same(await ours(), { storesPending: hubs.length, storeIds: ['po-1', 'po-2'] }, 'status: an every-store prestage is pending at every store')
    await pre('po-2', [toAll.order.orderId])
    t.same(await ours(), { storesPending: hubs.length - 1, storeIds: ['po-1'] }, 'status: one store acked, the others still pending (not dropped at the first ack)')

    await rejectsCode(t, l.issue({ kind: 'prestage', action: 'prestage', bundleId: B3, hubId: 'po-1', waveId: 'po-w', by: 'ops' }), 'E_INVALID_ARGUMENT', 'a wave and a store')
    await rejectsCode(t, l.issue({ kind: 'prestage', action: 'prestage', bundleId: B3, waveId: 'po-nowave', by: 'ops' }), 'E_WAVE_UNKNOWN', 'unknown wave')
    await rejectsCode(t, l.issue({ kind: 'prestage', action: 'prestage', bundleId: B3, hubId: 'po-nostore', by: 'ops' }), 'E_STORE_UNKNOWN', 'unknown store')
    await rejectsCode(t, l.issue({ kind: 'prestage', action: 'prestage', bundleId: 'b3:zz', by: 'ops' }), 'E_INVALID_ARGUMENT', 'malformed bundle')
    await rejectsCode(t, l.issue({ kind: 'prestage', action: 'hold', bundleId: B3, by: 'ops' }), 'E_INVALID_ARGUMENT', 'a prestage order cannot hold')
  })
}

async function rejectsCode (t: Test, p: Promise<unknown>, code: string, what: string): Promise<void> {
  try {
    await p
    t.fail(`${what}: resolved`)
  } catch (err) {
    t.equal((err as { code?: string }).code, code, what)
  }
}
