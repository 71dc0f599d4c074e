/**
 * Versioned schema migrations of the fleet database: numbered steps, each applied once
 * in its own transaction together with its row in `schema_migrations`, under an
 * advisory lock so two super hubs starting on one database do not both apply it.
 * A database newer than this code (a step it does not know) is refused.
 */
import { StoremeshError } from '../../interface/errors.js'
import { FLEET_LEDGER_V1 } from './migrations/0001-fleet-ledger.js'
import { WAVE_RUNNER_V2 } from './migrations/0002-wave-runner.js'
import { HOLDINGS_PRESTAGE_V3 } from './migrations/0003-holdings-prestage.js'
import { num, type SqlDb } from './sql.js'

export interface Migration {
  version: number
  name: string
  sql: string
}

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'fleet-ledger', sql: FLEET_LEDGER_V1 },
  { version: 2, name: 'wave-runner', sql: WAVE_RUNNER_V2 },
  { version: 3, name: 'holdings-prestage', sql: HOLDINGS_PRESTAGE_V3 }
]

/** Any constant works; it only has to be the same for every storemesh process. */
const MIGRATION_LOCK_KEY = 0x5703e5

/** Applies what is missing; returns the versions applied now (empty when up to date). */
export async function migrate (db: SqlDb, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  await db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`)
  const applied: number[] = []
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    const done = await db.transaction(async tx => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY])
      const have = await tx.query('SELECT 1 FROM schema_migrations WHERE version = $1', [m.version])
      if (have.length > 0) return false
      await tx.exec(m.sql)
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name])
      return true
    })
    if (done) applied.push(m.version)
  }
  const newest = await db.query<{ v: unknown }>('SELECT max(version) AS v FROM schema_migrations')
  const known = Math.max(0, ...migrations.map(m => m.version))
  const v = newest[0]?.v
  if (v !== null && v !== undefined && num(v) > known) {
    throw new StoremeshError('E_LEDGER', `the fleet database ${db.where} is at schema version ${num(v)}; this storemesh knows up to ${known}: upgrade it`, { version: num(v) })
  }
  return applied
}
