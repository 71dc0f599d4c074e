/**
 * `<data>/super-ledger.json`: the super hub's wave totals and store hubs, rewritten
 * every few seconds for readers outside the process (the SuperLedger's level db is
 * single-process: `storemesh demo` and the lab read this file while the super hub
 * holds the db's lock).
 */
import type { Log } from '../interface/log.js'
import { join } from 'node:path'
import { writeFileAtomic } from '../interface/atomic-file.js'
import { StoremeshError, toStoremeshError } from '../interface/errors.js'
import { parseStrictJson } from '../interface/strict-json.js'
import { readRegularFileIfExists } from '../interface/regular-file.js'
import type { HubRecord, SuperLedger, SuperWaveSummary } from './super-ledger.js'

export const SUPER_LEDGER_STATUS_FILE = 'super-ledger.json'
export const DEFAULT_LEDGER_STATUS_INTERVAL_MS = 1000
/** The totals of a few thousand hubs and waves; anything far larger is not ours. */
const MAX_LEDGER_STATUS_BYTES = 4 * 1024 * 1024

/** The fleet database behind the ledger (src/control/): whether it answers, and since when. */
export interface FleetDbStatus {
  kind: string
  where: string
  up: boolean
  error?: string
  sinceMs: number
}

export interface SuperLedgerStatus {
  updatedAt: string
  hubs: Array<HubRecord & { hubId: string }>
  waves: SuperWaveSummary[]
  /** present when the ledger is the fleet database (src/control/) */
  fleetDb?: FleetDbStatus
}

/** What the status is read from: the level SuperLedger, or the fleet ledger's view (src/control/status-view.ts). */
export type SuperLedgerStatusSource = Pick<SuperLedger, 'hubs' | 'waves'> & { health?: () => FleetDbStatus }

/** Writes the ledger's totals now (not fsynced: the next tick rewrites it, the db is the record). */
export async function writeSuperLedgerStatus (dataDir: string, ledger: SuperLedgerStatusSource): Promise<void> {
  const body: SuperLedgerStatus = { updatedAt: new Date().toISOString(), hubs: await ledger.hubs(), waves: await ledger.waves() }
  if (ledger.health !== undefined) body.fleetDb = ledger.health()
  await writeFileAtomic(join(dataDir, SUPER_LEDGER_STATUS_FILE), JSON.stringify(body, null, 2) + '\n', { durable: false })
}

/** The last totals a super hub wrote; undefined before its first write. */
export async function readSuperLedgerStatus (dataDir: string): Promise<SuperLedgerStatus | undefined> {
  const path = join(dataDir, SUPER_LEDGER_STATUS_FILE)
  const bytes = await readRegularFileIfExists(path, { what: 'super ledger status file', maxBytes: MAX_LEDGER_STATUS_BYTES, codes: { tooLarge: 'E_CONFIG_INVALID' } })
  if (bytes === undefined) return undefined
  try {
    const x = parseStrictJson(bytes, 'super ledger status file', { code: 'E_CONFIG_INVALID' }) as Partial<SuperLedgerStatus> | null
    if (x === null || typeof x !== 'object') throw new Error('not an object')
    if (!Array.isArray(x.waves) || !Array.isArray(x.hubs)) throw new Error('no waves or hubs')
    return x as SuperLedgerStatus
  } catch (err) {
    throw new StoremeshError('E_CONFIG_INVALID', `${path} is not a super ledger status file`, { file: path }, { cause: err })
  }
}

export interface SuperLedgerStatusWriterInit {
  dataDir: string
  ledger: SuperLedgerStatusSource
  /** @default DEFAULT_LEDGER_STATUS_INTERVAL_MS */
  intervalMs?: number
  /** a failed write is logged and retried on the next tick, never thrown */
  log?: Log
}

/**
 * Rewrites the status file on an interval, from the moment it is built until stop(),
 * which writes the final totals. One write at a time: on a slow disk a tick that finds
 * the last write still busy is skipped.
 */
export class SuperLedgerStatusWriter {
  readonly #init: SuperLedgerStatusWriterInit
  readonly #timer: NodeJS.Timeout
  #busy = true
  #writing: Promise<void>

  constructor (init: SuperLedgerStatusWriterInit) {
    this.#init = init
    this.#writing = this.#write().finally(() => { this.#busy = false })
    this.#timer = setInterval(() => {
      if (this.#busy) return
      this.#busy = true
      this.#writing = this.#write().finally(() => { this.#busy = false })
    }, init.intervalMs ?? DEFAULT_LEDGER_STATUS_INTERVAL_MS)
    this.#timer.unref()
  }

  /** Stops the interval and writes the last totals; call it before the ledger closes. */
  async stop (): Promise<void> {
    clearInterval(this.#timer)
    await this.#writing
    await this.#write()
  }

  async #write (): Promise<void> {
    await writeSuperLedgerStatus(this.#init.dataDir, this.#init.ledger).catch((err: unknown) => {
      this.#init.log?.warn(`cannot write ${SUPER_LEDGER_STATUS_FILE}: ${toStoremeshError(err).toLine()}`)
    })
  }
}
