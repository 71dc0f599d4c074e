/**
 * The embedded fleet database: PGlite (PostgreSQL compiled to WASM) in this process,
 * its files under one folder. Imported lazily so hubs and devices never load it; one
 * process at a time (dir-lock.ts), since PGlite itself takes no lock on its folder.
 */
import { mkdir } from 'node:fs/promises'
import type { SqlDb, SqlQueryable, SqlRow } from './sql.js'

interface PgliteLike {
  query<R>(sql: string, params?: unknown[]): Promise<{ rows: R[] }>
  exec(sql: string): Promise<unknown>
  transaction<T>(fn: (tx: PgliteLike) => Promise<T>): Promise<T>
  close(): Promise<void>
  waitReady: Promise<void>
}

function queryable (q: PgliteLike): SqlQueryable {
  return {
    async query<R extends SqlRow = SqlRow> (sql: string, params: readonly unknown[] = []): Promise<R[]> {
      return (await q.query<R>(sql, [...params])).rows
    },
    async exec (sql: string): Promise<void> { await q.exec(sql) }
  }
}

export async function openPglite (dir: string): Promise<SqlDb> {
  await mkdir(dir, { recursive: true })
  const { PGlite } = await import('@electric-sql/pglite')
  const pg = new PGlite(dir) as unknown as PgliteLike
  await pg.waitReady
  const base = queryable(pg)
  return {
    kind: 'pglite',
    where: dir,
    ...base,
    async transaction<T> (fn: (tx: SqlQueryable) => Promise<T>): Promise<T> {
      return await pg.transaction(async tx => await fn(queryable(tx)))
    },
    async close () { await pg.close() }
  }
}
