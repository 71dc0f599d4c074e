import t from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openFleetDb, type SqlDb } from '../../../src/control/index.js'
import { waveRunnerCases } from './wave-runner-cases.js'
import { wavePrestageCases } from './wave-prestage-cases.js'

let db: SqlDb | undefined
const dir = await mkdtemp(join(tmpdir(), 'storemesh-runner-'))
t.teardown(async () => {
  await db?.close()
  await rm(dir, { recursive: true, force: true })
})
db = await openFleetDb({ dataDir: dir })
const shared = db
// PGlite belongs to one process: the other super hub's runner shares the instance (its transactions queue)
waveRunnerCases(t, () => ({ db: shared, otherDb: async () => shared }))
wavePrestageCases(t, () => shared)
