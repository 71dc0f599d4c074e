import t from 'tap'
import { openFleetDb, type SqlDb } from '../../../src/control/index.js'
import { postgresSkipReason, startPostgres, type TestPostgres } from '../../support/postgres.js'
import { waveRunnerCases } from './wave-runner-cases.js'
import { wavePrestageCases } from './wave-prestage-cases.js'

const skip = postgresSkipReason()
if (skip !== undefined) {
  t.plan(0, skip)
} else {
  let pg: TestPostgres | undefined
  const dbs: SqlDb[] = []
  t.teardown(async () => {
    for (const d of dbs) await d.close()
    await pg?.close()
  })
  pg = await startPostgres()
  const url = await pg.createDatabase('runner')
  const db = await openFleetDb({ url })
  dbs.push(db)
  // the other super hub: its own pool on the same database, so the row lock is really contended
  waveRunnerCases(t, () => ({ db, otherDb: async () => { const o = await openFleetDb({ url }); dbs.push(o); return o } }))
  wavePrestageCases(t, () => db)
}
