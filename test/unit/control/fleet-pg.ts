/**
 * The fleet ledger's PostgreSQL fixture for a test file: a server started in a temp dir
 * and one fleet database on it, both closed when the file's tests end.
 */
import type { Test } from 'tap'
import { openFleetDb, type SqlDb } from '../../../src/control/index.js'
import { postgresSkipReason, startPostgres, type TestPostgres } from '../../support/postgres.js'

export interface FleetPg { pg: TestPostgres, url: string, db: SqlDb }

/** undefined when no server can run here: the file is then planned 0, with the reason */
export async function fleetPostgres (t: Test, dbName: string): Promise<FleetPg | undefined> {
  const skip = postgresSkipReason()
  if (skip !== undefined) {
    t.plan(0, skip)
    return undefined
  }
  let pg: TestPostgres | undefined
  let db: SqlDb | undefined
  t.teardown(async () => {
    await db?.close()
    await pg?.close()
  })
  pg = await startPostgres()
  const url = await pg.createDatabase(dbName)
  db = await openFleetDb({ url })
  return { pg, url, db }
}
