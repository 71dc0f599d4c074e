/**
 * The level database both ledgers keep: string keys with a short prefix per table,
 * JSON values, atomic batches written with `sync` so that an ack always follows a
 * durable write (an ack is a promise that the sender may delete its copy).
 */
import { Level } from 'level'
import { StoremeshError } from '../interface/errors.js'

export type LedgerDb = Level<string, string>
export type Op = { type: 'put', key: string, value: string } | { type: 'del', key: string }

const SEQ_DIGITS = 16

/** Fixed-width decimal, so keys sort by number. */
export function seqPart (seq: number): string {
  return String(seq).padStart(SEQ_DIGITS, '0')
}

/** Opens `path`; a second process on it gets E_DATA_DIR_IN_USE, anything else E_LEDGER. */
export async function openLedgerDb (path: string, what: string): Promise<LedgerDb> {
  const db = new Level<string, string>(path, { keyEncoding: 'utf8', valueEncoding: 'utf8' })
  try {
    await db.open()
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause
    if (cause?.code === 'LEVEL_LOCKED') {
      throw new StoremeshError('E_DATA_DIR_IN_USE', `another storemesh process holds the ${what} in ${path}`, { path }, { cause: err })
    }
    throw new StoremeshError('E_LEDGER', `cannot open the ${what} in ${path}`, { path }, { cause: err })
  }
  return db
}

export function parseRecord<T> (key: string, value: string): T {
  try {
    return JSON.parse(value) as T
  } catch (err) {
    throw new StoremeshError('E_LEDGER', `ledger record ${key} is corrupt`, { key }, { cause: err })
  }
}

export async function getRecord<T> (db: LedgerDb, key: string): Promise<T | undefined> {
  const v = await db.get(key)
  return v === undefined ? undefined : parseRecord<T>(key, v)
}

export async function getCounter (db: LedgerDb, key: string): Promise<number> {
  const v = await db.get(key)
  if (v === undefined) return 0
  const n = Number(v)
  if (!Number.isSafeInteger(n) || n < 0) throw new StoremeshError('E_LEDGER', `ledger counter ${key} is corrupt`, { key })
  return n
}

export function put (key: string, value: unknown): Op {
  return { type: 'put', key, value: typeof value === 'string' ? value : JSON.stringify(value) }
}

export function del (key: string): Op {
  return { type: 'del', key }
}

/** One atomic, fsynced batch. */
export async function commit (db: LedgerDb, ops: Op[]): Promise<void> {
  if (ops.length === 0) return
  await db.batch(ops, { sync: true })
}

/**
 * A batch that needs no fsync: only for what may be lost to a crash without breaking
 * an ack (a device's last-seen time), so that an idle store's report polls do not
 * fdatasync the flash every few seconds.
 */
export async function writeUnsynced (db: LedgerDb, ops: Op[]): Promise<void> {
  if (ops.length === 0) return
  await db.batch(ops)
}

/** Every [key, record] under `prefix`, in key order. */
export async function * scan<T> (db: LedgerDb, prefix: string, options: { gt?: string, limit?: number } = {}): AsyncGenerator<[string, T]> {
  const lower = options.gt !== undefined && options.gt >= prefix ? { gt: options.gt } : { gte: prefix }
  const range = { ...lower, lt: prefix + '\xff', limit: options.limit ?? -1 }
  for await (const [key, value] of db.iterator(range)) yield [key, parseRecord<T>(key, value)]
}
