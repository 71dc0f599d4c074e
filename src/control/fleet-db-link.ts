/**
 * The fleet ledger's hold on its database: opening (now, behind, or lazily at first
 * use), reconnecting with back-off while the server is away, probing a PostgreSQL
 * server so health() notices a cut before a report does, and turning a lost server
 * into E_DB_UNAVAILABLE. The ledger (fleet-ledger.ts) only says what to run.
 */
import { StoremeshError, isStoremeshError, toStoremeshError } from '../interface/errors.js'
import { backoffDelayMs } from '../interface/backoff.js'
import type { Log } from '../interface/log.js'
import { openFleetDb } from './db/open.js'
import type { FleetDbHealth } from './fleet-ledger-types.js'
import { DB_PROBE_INTERVAL_MS, DB_RETRY } from './fleet-ledger-constants.js'
import { isConnectionError, type SqlDb, type SqlDriverKind } from './db/sql.js'

export interface FleetDbLinkOptions {
  dbUrl?: string
  dataDir?: string
  log: Log
  now: () => number
  /** run on every fresh open, before the link counts as up (the ledger reads its orders) */
  onOpen: (db: SqlDb) => Promise<unknown>
}

export class FleetDbLink {
  readonly kind: SqlDriverKind
  readonly #o: FleetDbLinkOptions
  readonly #closing = new AbortController()
  #db: SqlDb | undefined
  /** false over a database its caller owns */
  readonly #ownsDb: boolean
  #opening: Promise<void> | undefined
  /** nothing opened until the first use that opens, or ready() */
  #lazy = false
  #health: FleetDbHealth
  #probe: NodeJS.Timeout | undefined

  constructor (options: FleetDbLinkOptions, db?: SqlDb) {
    this.#o = options
    this.kind = db?.kind ?? (options.dbUrl !== undefined ? 'postgres' : 'pglite')
    this.#db = db
    this.#ownsDb = db === undefined
    this.#health = { kind: this.kind, where: db?.where ?? (options.dbUrl !== undefined ? 'postgres' : `${options.dataDir ?? '.'}/fleet-db`), up: db !== undefined, sinceMs: options.now() }
  }

  /** See FleetLedger.open: the same choices, for the database alone. */
  async open (open: { waitForDb?: boolean, background?: boolean, lazy?: boolean }): Promise<void> {
    if (open.background === true || open.lazy === true) {
      this.#health = { ...this.#health, up: false, error: open.lazy === true ? 'not opened yet (opens at the first report or order)' : 'opening', sinceMs: this.#o.now() }
      if (open.lazy === true) this.#lazy = true
      else this.#openBehind()
    } else {
      try {
        await this.#connect()
      } catch (err) {
        if (open.waitForDb === true || !isStoremeshError(err, 'E_DB_UNAVAILABLE')) throw err
        this.#down(err)
        this.#opening = this.#reconnectLoop()
      }
    }
    this.#startProbe()
  }

  #openBehind (): void {
    this.#lazy = false
    this.#health = { ...this.#health, error: 'opening' }
    this.#opening = this.#connect().catch(async (err: unknown) => {
      this.#down(err)
      await this.#reconnectLoop()
    })
  }

  /** Resolves once the database is open (at once when it is), or when the link closes; opens a lazy one. */
  async ready (): Promise<boolean> {
    if (this.#lazy) this.#openBehind()
    await this.#opening
    return this.#db !== undefined
  }

  /** Opens a lazy link behind (a first report or order arrived). */
  wake (): void {
    if (this.#lazy) this.#openBehind()
  }

  async #connect (): Promise<void> {
    const db = await openFleetDb({
      ...(this.#o.dbUrl !== undefined ? { url: this.#o.dbUrl } : {}),
      ...(this.#o.dataDir !== undefined ? { dataDir: this.#o.dataDir } : {}),
      log: (msg) => { this.#o.log.warn(msg) }
    })
    if (this.#closing.signal.aborted) {
      await db.close()
      return
    }
    this.#db = db
    this.#health = { kind: db.kind, where: db.where, up: true, sinceMs: this.#o.now() }
    await this.#o.onOpen(db)
  }

  async #reconnectLoop (): Promise<void> {
    for (let failures = 1; this.#db === undefined && !this.#closing.signal.aborted; failures++) {
      await new Promise(resolve => setTimeout(resolve, backoffDelayMs(failures, DB_RETRY)).unref())
      if (this.#closing.signal.aborted) return
      try {
        await this.#connect()
        this.#o.log.info(`fleet database ${this.#health.where} is up`)
      } catch (err) {
        if (!isStoremeshError(err, 'E_DB_UNAVAILABLE')) this.#o.log.error(`opening the fleet database: ${toStoremeshError(err).toLine()}`)
        this.#down(err)
      }
    }
  }

  #startProbe (): void {
    if (this.kind !== 'postgres') return
    this.#probe = setInterval(() => {
      const db = this.#db
      if (db === undefined) return
      db.query('SELECT 1').then(() => { this.#up() }, (err: unknown) => { if (isConnectionError(err)) this.#down(err) })
    }, DB_PROBE_INTERVAL_MS)
    this.#probe.unref()
  }

  #up (): void {
    if (this.#health.up) return
    this.#health = { kind: this.#health.kind, where: this.#health.where, up: true, sinceMs: this.#o.now() }
    this.#o.log.info(`fleet database ${this.#health.where} is back`)
  }

  #down (err: unknown): void {
    const error = (err as Error).message ?? String(err)
    if (this.#health.up || this.#health.error === 'opening') this.#o.log.warn(`fleet database ${this.#health.where} is down: ${error}; hub reports stay unacknowledged until it is back`)
    this.#health = { kind: this.#health.kind, where: this.#health.where, up: false, error, sinceMs: this.#health.up ? this.#o.now() : this.#health.sinceMs }
  }

  /** Runs fn on the database; a lost server becomes E_DB_UNAVAILABLE and marks it down. */
  async run<T> (what: string, fn: (db: SqlDb) => Promise<T>, options: { opens?: boolean } = {}): Promise<T> {
    if (options.opens === true) this.wake()
    const db = this.#db
    if (db === undefined) throw new StoremeshError('E_DB_UNAVAILABLE', `the fleet database ${this.#health.where} is not reachable (${this.#health.error ?? 'not open'})`)
    try {
      const out = await fn(db)
      this.#up()
      return out
    } catch (err) {
      if (isStoremeshError(err)) throw err
      if (isConnectionError(err)) {
        this.#down(err)
        throw new StoremeshError('E_DB_UNAVAILABLE', `${what}: the fleet database ${db.where} is not reachable: ${(err as Error).message}`, {}, { cause: err })
      }
      throw new StoremeshError('E_LEDGER', `${what}: ${(err as Error).message}`, {}, { cause: err })
    }
  }

  /** Not open yet and not failed: lazy or its first open under way. */
  get opening (): boolean {
    return this.#db === undefined && (this.#lazy || this.#health.error === 'opening')
  }

  health (): FleetDbHealth {
    return { ...this.#health }
  }

  /** The database itself; undefined while down. */
  get db (): SqlDb | undefined {
    return this.#db
  }

  async close (): Promise<void> {
    this.#closing.abort()
    if (this.#probe !== undefined) clearInterval(this.#probe)
    await this.#opening?.catch(() => {})
    const db = this.#db
    this.#db = undefined
    if (this.#ownsDb) await db?.close().catch((err: unknown) => { this.#o.log.warn(`closing the fleet database: ${toStoremeshError(err).toLine()}`) })
  }
}
