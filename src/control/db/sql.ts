/**
 * The fleet ledger's view of a SQL database: one dialect (PostgreSQL's) over two
 * drivers, `pg` for a server (`--db postgres://…`) and PGlite embedded under
 * `<data>/fleet-db`. Callers write `$1`-style parameters and read rows whose int8
 * columns may come back as number (PGlite) or string (pg): read them with num().
 */
import { StoremeshError } from '../../interface/errors.js'

export type SqlRow = Record<string, unknown>

export interface SqlQueryable {
  query<R extends SqlRow = SqlRow>(sql: string, params?: readonly unknown[]): Promise<R[]>
  /** several statements, no parameters (migrations) */
  exec(sql: string): Promise<void>
}

export type SqlDriverKind = 'pglite' | 'postgres'

export interface SqlDb extends SqlQueryable {
  readonly kind: SqlDriverKind
  /** where it is, with no password: a folder or host:port/database */
  readonly where: string
  /** runs fn in one transaction: committed when it resolves, rolled back when it throws */
  transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T>
  close(): Promise<void>
}

/** An int8 / numeric column as a JS number (both drivers; null stays undefined). */
export function num (v: unknown): number {
  if (typeof v === 'number') return v
  if (typeof v === 'bigint' || typeof v === 'string') return Number(v)
  throw new StoremeshError('E_LEDGER', `expected a number from the fleet database, got ${typeof v}`)
}

export function optNum (v: unknown): number | undefined {
  return v === null || v === undefined ? undefined : num(v)
}

export function optStr (v: unknown): string | undefined {
  return v === null || v === undefined ? undefined : String(v)
}

/**
 * True for an error that says the server cannot be reached or went away (not a SQL
 * error of ours): connection refused, socket gone, admin shutdown, class 08 / 57P.
 */
export function isConnectionError (err: unknown): boolean {
  const e = err as { code?: unknown, message?: unknown } | null
  const code = typeof e?.code === 'string' ? e.code : ''
  if (/^(ECONNREFUSED|ECONNRESET|ENOENT|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN)$/.test(code)) return true
  if (/^(08...|57P0[1-3]|53300)$/.test(code)) return true
  const msg = typeof e?.message === 'string' ? e.message : ''
  return /Connection terminated|connection timeout|Client has encountered a connection error|not queryable|timeout exceeded when trying to connect/i.test(msg)
}
