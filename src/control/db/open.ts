/**
 * Opens the fleet database the options name, migrated: `--db postgres://…` (a server
 * several super hubs share) or, by default, PGlite under `<data>/fleet-db` (this
 * process only). Both drivers are imported only here, lazily.
 */
import { join } from 'node:path'
import { StoremeshError, isStoremeshError } from '../../interface/errors.js'
import { takeDirLock } from './dir-lock.js'
import { migrate } from './migrations.js'
import { isConnectionError, type SqlDb } from './sql.js'

export const FLEET_DB_DIR_NAME = 'fleet-db'
export const FLEET_DB_LOCK_FILE = 'fleet-db.lock'

export interface FleetDbOptions {
  /** `postgres://…` / `postgresql://…`; absent: PGlite under `<dataDir>/fleet-db` */
  url?: string
  dataDir?: string
  /** connection trouble after open (pg's idle clients) */
  log?: (msg: string) => void
}

export function checkDbUrl (url: string): string {
  if (!/^postgres(ql)?:\/\//.test(url)) throw new StoremeshError('E_USAGE', 'the fleet database must be a postgres:// or postgresql:// url')
  return url
}

export async function openFleetDb (options: FleetDbOptions): Promise<SqlDb> {
  let db: SqlDb
  if (options.url !== undefined) {
    const { openPostgres, redactDbUrl } = await import('./pg-driver.js')
    try {
      db = await openPostgres(checkDbUrl(options.url), options.log)
    } catch (err) {
      if (isStoremeshError(err)) throw err
      throw new StoremeshError(isConnectionError(err) ? 'E_DB_UNAVAILABLE' : 'E_LEDGER',
        `cannot reach the fleet database ${redactDbUrl(options.url)}: ${(err as Error).message}`, {}, { cause: err })
    }
  } else {
    if (options.dataDir === undefined) throw new StoremeshError('E_USAGE', 'the fleet database needs --db postgres://… or a --data folder')
    const dir = join(options.dataDir, FLEET_DB_DIR_NAME)
    const lock = await takeDirLock(join(options.dataDir, FLEET_DB_LOCK_FILE), `the fleet database ${dir}`)
    const { openPglite } = await import('./pglite-driver.js')
    try {
      const inner = await openPglite(dir)
      db = { ...inner, async close () { try { await inner.close() } finally { await lock.release() } } }
    } catch (err) {
      await lock.release()
      throw new StoremeshError('E_LEDGER', `cannot open the fleet database ${dir}: ${(err as Error).message}`, { path: dir }, { cause: err })
    }
  }
  try {
    await migrate(db)
  } catch (err) {
    await db.close().catch(() => {})
    if (isStoremeshError(err)) throw err
    throw new StoremeshError(isConnectionError(err) ? 'E_DB_UNAVAILABLE' : 'E_LEDGER', `migrating the fleet database ${db.where}: ${(err as Error).message}`, {}, { cause: err })
  }
  return db
}
