import t from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FleetLedger, openFleetDb, type SqlDb } from '../../../src/control/index.js'
import { fleetLedgerCases, rejectsWith } from './fleet-ledger-cases.js'
import { fleetHaltCheckCases } from './fleet-halt-check-cases.js'
import { fleetHoldingsCases, fleetPrestageOrderCases } from './fleet-holdings-cases.js'

let db: SqlDb
const dir = await mkdtemp(join(tmpdir(), 'storemesh-fleet-'))
t.teardown(async () => {
  await db?.close()
  await rm(dir, { recursive: true, force: true })
})
db = await openFleetDb({ dataDir: dir })

// PGlite belongs to one process: the "other super hub" is a second ledger over the same database
fleetLedgerCases(t, () => ({ db, other: async () => await FleetLedger.over(db, { haltOnRollbackRatio: 1, via: 'super-b' }) }))
fleetHoldingsCases(t, () => db)
fleetPrestageOrderCases(t, () => db)
fleetHaltCheckCases(t, () => db, false)

t.test('a second process cannot open the same embedded database', async t => {
  await rejectsWith(t, openFleetDb({ dataDir: dir }), 'E_DATA_DIR_IN_USE', 'the folder is locked while open')
})
