/**
 * Real pre-staging against the fleet ledger, on both drivers (wave-runner-pglite.test.ts,
 * wave-runner-postgres.test.ts): a store is pre-staged when its hub's holdings list the
 * wave's bundle complete, the runner's prestage step writes prestage orders that go down
 * the store's 1.2.0 answers, and a store not pre-staged when its window opens is late
 * in the status, with the reason. The clock is a variable; nothing sleeps.
 */
import type { Test } from 'tap'
import { FleetLedger, type SqlDb } from '../../../src/control/index.js'
import { runnerDoc, WaveRunner } from '../../../src/control/wave-runner.js'
import { startWaveFromPolicy } from '../../../src/control/wave-start.js'
import { effectiveRollout } from '../../../src/control/waves/index.js'
import type { FleetOrderWire, Holdings, LedgerDelta } from '../../../src/ledger/report/index.js'
import { parsePolicy } from '../../../src/policy/schema.js'

const E1 = '3'.repeat(32)
const HOUR = 3_600_000
const T0 = Date.UTC(2026, 11, 7, 12, 0, 0)
const BUNDLE = 'b3:' + 'e7'.repeat(32)

export function wavePrestageCases (t: Test, getDb: () => SqlDb): void {
  t.test('pre-staging: from the hubs\' holdings, ordered prestageHours before the window, late stores shown with why', async t => {
    const db = getDb()
    let now = T0
    const ledger = await FleetLedger.over(db, { via: 'super-a', now: () => now })
    const runner = new WaveRunner({ db: () => db, now: () => now, via: 'super-a' })
    t.teardown(async () => { await runner.stop(); await ledger.close() })
    const p = parsePolicy({
      apiVersion: 'storemesh/v1',
      kind: 'RolloutPolicy',
      metadata: { name: 'ps', wave: 9301 },
      spec: {
        bundle: { id: BUNDLE, version: '2.0.0' },
        targets: { percentage: 100 },
        // the window opens at 02:00 UTC, 14 h after T0: pre-staging starts 2 h before, at 00:00
        schedule: { maintenanceWindow: '02:00-04:00', timezone: 'UTC', prestageHours: 2 },
        rollout: { batchDelayMinutes: 0, haltOnRollbackRatio: 0.5, minOutcomesForHalt: 1 }
      }
    })
    await startWaveFromPolicy(db, p, effectiveRollout(p), 'ops', now)
    const seq = new Map<string, number>()
    const report = async (hubId: string, devices: Array<[string, LedgerDelta['state']]>, holdings?: Holdings): Promise<FleetOrderWire[]> => {
      const entries = devices.map(([deviceId, state]) => {
        const s = (seq.get(hubId) ?? 0) + 1
        seq.set(hubId, s)
        return { seq: s, waveId: '9301', deviceId, state, version: s, atMs: now }
      })
      const ack = await ledger.acceptHubBatch({ type: 'hub-ledger', hubId, epoch: E1, entries }, { poll: holdings !== undefined ? { holdings } : {} })
      return (ack.fleetOrders ?? []).filter(o => o.action === 'prestage')
    }
    const partial = (atMs: number): Holdings => ({ atMs, bundles: [{ bundleId: BUNDLE, heldChunks: 3, totalChunks: 8, complete: false }] })
    const complete = (atMs: number): Holdings => ({ atMs, bundles: [{ bundleId: BUNDLE, heldChunks: 8, totalChunks: 8, complete: true }] })
    // ps-a reports holdings (a new hub); ps-b never does (a hub from before them)
    await report('ps-a', [['ps-a1', 'pending']], partial(1))
    await report('ps-b', [['ps-b1', 'pending']])
    await runner.stepAll()
    let doc = (await runnerDoc(db, '9301'))!
    t.equal(doc.state.phase, 'prestaging')
    t.notOk(doc.state.stores['ps-a']!.prestaged, 'devices reported, bundle partial on the hub: not pre-staged')
    t.ok(doc.state.stores['ps-b']!.prestaged, 'a hub that reports no holdings: the devices-reported stand-in')
    t.same(await report('ps-a', []), [], 'no prestage order before prestageHours before the window')

    now = T0 + 12 * HOUR
    await runner.stepAll()
    const orders = await report('ps-a', [])
    t.equal(orders.length, 1, 'prestageHours before the window: a prestage order to the store')
    t.match(orders[0], { action: 'prestage', bundleId: BUNDLE })
    t.match((await db.query("SELECT source, issued_by, hub_id FROM orders WHERE kind = 'prestage' AND order_id = $1", [orders[0]!.orderId]))[0], { source: 'auto', issued_by: 'super-a', hub_id: 'ps-a' })
    await runner.stepAll()
    t.equal(Number((await db.query("SELECT count(*) AS n FROM orders WHERE kind = 'prestage' AND bundle_id = $1 AND hub_id = 'ps-a'", [BUNDLE]))[0]!.n), 1, 'written once')
    t.same(await report('ps-b', []), [], 'the other store is pre-staged already: no order to it')
    t.same((await ledger.status('9301')).waves[0]!.prestageLate, [], 'not late before the window opens')

    now = T0 + 14 * HOUR + 1
    await runner.stepAll()
    const late = (await ledger.status('9301')).waves[0]!.prestageLate
    t.same(late.map(l => [l.storeId, l.heldChunks, l.totalChunks]), [['ps-a', 3, 8]], 'the window opened without the bundle: late')
    t.match(late[0]!.reason, /not pre-staged when its window opened .*holds 3 of 8 chunks/)
    t.equal((await runnerDoc(db, '9301'))!.state.phase, 'prestaging', 'batch 1 waits for its stores')

    // an older holdings list (a late copy) does not count; the newer complete one does
    await report('ps-a', [], complete(2))
    await runner.stepAll()
    doc = (await runnerDoc(db, '9301'))!
    t.ok(doc.state.stores['ps-a']!.prestaged, 'the hub holds the bundle complete: pre-staged')
    t.equal(doc.state.phase, 'installing', 'batch 1 starts')
    t.same((await ledger.status('9301')).waves[0]!.prestageLate, [], 'no longer late')
    await report('ps-a', [], { atMs: 1, bundles: [] })
    t.equal((await db.query("SELECT complete FROM hub_holdings WHERE hub_id = 'ps-a' AND bundle_id = $1", [BUNDLE]))[0]!.complete, true, 'a late older list changes nothing')
  })
}
