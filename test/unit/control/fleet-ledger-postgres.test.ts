import t from 'tap'
import { FleetLedger } from '../../../src/control/index.js'
import { fleetPostgres } from './fleet-pg.js'
import { fleetLedgerCases, rejectsWith } from './fleet-ledger-cases.js'
import { fleetHaltCheckCases } from './fleet-halt-check-cases.js'
import { fleetHoldingsCases, fleetPrestageOrderCases } from './fleet-holdings-cases.js'

const fixture = await fleetPostgres(t, 'fleet')
if (fixture !== undefined) {
  const { pg, url, db: shared } = fixture
  // the other super hub: its own process's pool on the same database
  fleetLedgerCases(t, () => ({ db: shared, other: async () => await FleetLedger.open({ dbUrl: url, haltOnRollbackRatio: 1, via: 'super-b' }, { waitForDb: true }) }))
  fleetHoldingsCases(t, () => shared)
  fleetPrestageOrderCases(t, () => shared)
  fleetHaltCheckCases(t, () => shared, true)

  t.test('database down: reports are refused (the hub resends), health says so, nothing is lost', async t => {
    const server = pg
    const l = await FleetLedger.open({ dbUrl: url, haltOnRollbackRatio: 1 })
    t.teardown(async () => { await l.close() })
    const entries = [{ seq: 1, waveId: 'dd1', deviceId: 'pos-1', state: 'updated' as const, version: 1, atMs: 1 }]
    await server.stopServer()
    await rejectsWith(t, l.acceptHubBatch({ type: 'hub-ledger', hubId: 'dd-1', epoch: '1'.repeat(32), entries }), 'E_DB_UNAVAILABLE', 'a report while the server is down')
    t.match(l.health(), { kind: 'postgres', up: false })
    await server.startServer()
    const ack = await l.acceptHubBatch({ type: 'hub-ledger', hubId: 'dd-1', epoch: '1'.repeat(32), entries })
    t.equal(ack.ackedSeq, 1, 'the resend after the server is back is applied')
    t.equal(l.health().up, true)
    t.equal((await l.waveTotals('dd1')).updated, 1)
  })

  t.test('a super hub started while the server is down comes up when it returns', async t => {
    const server = pg
    await server.stopServer()
    const l = await FleetLedger.open({ dbUrl: url, haltOnRollbackRatio: 1 })
    t.teardown(async () => { await l.close() })
    t.equal(l.health().up, false, 'down at start, and started anyway')
    await rejectsWith(t, l.acceptHubBatch({ type: 'hub-ledger', hubId: 'dd-2', epoch: '1'.repeat(32), entries: [] }), 'E_DB_UNAVAILABLE', 'reports wait')
    await server.startServer()
    const deadline = Date.now() + 30_000
    while (!l.health().up && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 200))
    t.equal(l.health().up, true, 'reconnected in the background')
    t.equal((await l.acceptHubBatch({ type: 'hub-ledger', hubId: 'dd-2', epoch: '1'.repeat(32), entries: [] })).ackedSeq, 0)
  })
}
