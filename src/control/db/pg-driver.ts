/**
 * The fleet database on a PostgreSQL server (`--db postgres://…`), through `pg`'s
 * pool. Several super hubs may share one database: every write the ledger makes is
 * one transaction that locks what it reads (fleet-ingest.ts). Imported lazily.
 */
import type { SqlDb, SqlQueryable, SqlRow } from './sql.js'

/** A connection that cannot be made in this long counts as the database being down. @default 5 s */
export const PG_CONNECT_TIMEOUT_MS = 5_000
/** No statement of ours should run this long; a stuck one fails rather than holding a report. @default 30 s */
export const PG_STATEMENT_TIMEOUT_MS = 30_000
/** Connections per process: reports from many hubs are ingested side by side, each waiting on round trips and its commit. @default 16 */
export const PG_POOL_MAX = 16

interface PgClientLike {
  query(sql: string, params?: unknown[]): Promise<{ rows: SqlRow[] }>
  release(err?: Error | boolean): void
}

function queryable (c: { query: PgClientLike['query'] }): SqlQueryable {
  return {
    async query<R extends SqlRow = SqlRow> (sql: string, params: readonly unknown[] = []): Promise<R[]> {
      return (await c.query(sql, [...params])).rows as R[]
    },
    async exec (sql: string): Promise<void> { await c.query(sql) }
  }
}

/** `postgres://user:secret@host:5432/db` → `host:5432/db`; a socket dir given as `?host=` is shown instead of an empty host. */
export function redactDbUrl (url: string): string {
  const m = /^postgres(?:ql)?:\/\/(?:[^@/?]*@)?([^/?]*)(\/[^?]*)?(?:\?(.*))?$/.exec(url)
  if (m === null) return 'postgres (unparsable url)'
  const params = new URLSearchParams(m[3] ?? '')
  const host = m[1] !== '' ? m[1]! : `${params.get('host') ?? 'localhost'}${params.get('port') !== null ? ':' + params.get('port')! : ''}`
  return `${host}${m[2] ?? '/'}`
}

export async function openPostgres (url: string, log?: (msg: string) => void): Promise<SqlDb> {
  const pg = (await import('pg')).default
  const pool = new pg.Pool({
    connectionString: url,
    max: PG_POOL_MAX,
    connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS,
    statement_timeout: PG_STATEMENT_TIMEOUT_MS
  })
  // an idle client whose server went away emits here; unhandled, it would end the process
  pool.on('error', (err) => { log?.(`fleet database connection lost: ${err.message}`) })
  const base = queryable(pool)
  // the first query proves the server is there and the url is right
  await pool.query('SELECT 1')
  return {
    kind: 'postgres',
    where: redactDbUrl(url),
    ...base,
    async transaction<T> (fn: (tx: SqlQueryable) => Promise<T>): Promise<T> {
      const client = await pool.connect() as unknown as PgClientLike
      try {
        await client.query('BEGIN')
        const out = await fn(queryable(client))
        await client.query('COMMIT')
        client.release()
        return out
      } catch (err) {
        // a broken connection is dropped from the pool rather than reused
        await client.query('ROLLBACK').then(() => { client.release() }, (e: Error) => { client.release(e) })
        throw err
      }
    },
    async close () { await pool.end() }
  }
}
