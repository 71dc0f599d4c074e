/**
 * The ban list survives a restart: `<data dir>/bans.json`, written atomically
 * (interface/atomic-file.ts) after every change and read back at start. Bounded: the
 * BanList keeps at most maxRecords records and a file over MAX_BAN_FILE_BYTES is
 * refused. A file that cannot be read or parsed is reported and ignored (the node
 * starts with an empty list rather than not at all); a malformed record is skipped.
 *
 *   { "schema": "storemesh/bans/v1", "records": [{ key, peerId, untilMs, sinceMs, offence, reason }] }
 */
import { readFileLimited, writeFileAtomic } from '../interface/atomic-file.js'
import { toStoremeshError, type StoremeshError } from '../interface/errors.js'
import { MAX_BAN_FILE_BYTES } from './constants.js'
import type { BanList, BanRecord } from './scoring.js'

export const BAN_FILE_SCHEMA = 'storemesh/bans/v1'
/** a reason longer than this is cut when loaded (it is only shown) */
const MAX_REASON_CHARS = 512

function recordOf (v: unknown): BanRecord | undefined {
  if (typeof v !== 'object' || v === null) return undefined
  const r = v as Record<string, unknown>
  const num = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x)
  if (typeof r.key !== 'string' || typeof r.peerId !== 'string' || typeof r.reason !== 'string') return undefined
  if (!num(r.untilMs) || !num(r.sinceMs) || !num(r.offence) || r.offence < 1) return undefined
  return { key: r.key, peerId: r.peerId, untilMs: r.untilMs, sinceMs: r.sinceMs, offence: Math.floor(r.offence), reason: r.reason.slice(0, MAX_REASON_CHARS) }
}

/** Parses a ban file's bytes; throws on a wrong schema, skips malformed records. */
export function parseBanFile (bytes: Uint8Array): BanRecord[] {
  const doc = JSON.parse(Buffer.from(bytes).toString('utf8')) as { schema?: unknown, records?: unknown }
  if (doc?.schema !== BAN_FILE_SCHEMA || !Array.isArray(doc.records)) throw new Error(`not a ${BAN_FILE_SCHEMA} file`)
  return doc.records.map(recordOf).filter((r): r is BanRecord => r !== undefined)
}

export interface BanFileInit {
  bans: BanList
  path: string
  /** a load or save failure (never thrown) */
  onError?: (err: StoremeshError) => void
}

/** Loads the list once, then saves it after every change until stop(). */
export class BanFile {
  readonly #init: BanFileInit
  #writing: Promise<void> = Promise.resolve()
  #dirty = false
  #stopped = false
  readonly #onChange = (): void => { this.#schedule() }

  constructor (init: BanFileInit) {
    this.#init = init
  }

  /** Restores the saved records (if any) and starts saving changes. Returns how many were loaded. */
  async start (): Promise<number> {
    let loaded = 0
    try {
      const bytes = await readFileLimited(this.#init.path, MAX_BAN_FILE_BYTES)
      if (bytes !== undefined) {
        const records = parseBanFile(bytes)
        this.#init.bans.restore(records)
        loaded = records.length
      }
    } catch (err) {
      this.#init.onError?.(toStoremeshError(err))
    }
    this.#init.bans.on('change', this.#onChange)
    return loaded
  }

  /** Waits for pending writes, then stops saving. */
  async stop (): Promise<void> {
    this.#init.bans.off('change', this.#onChange)
    await this.flush()
    this.#stopped = true
  }

  /** Resolves once every change so far is on disk. */
  async flush (): Promise<void> {
    while (this.#dirty) await this.#writing
    await this.#writing
  }

  /** One write at a time; changes during a write are saved by the next. */
  #schedule (): void {
    if (this.#stopped) return
    if (this.#dirty) return
    this.#dirty = true
    this.#writing = this.#writing.then(async () => {
      this.#dirty = false
      const doc = { schema: BAN_FILE_SCHEMA, records: this.#init.bans.records() }
      try {
        await writeFileAtomic(this.#init.path, JSON.stringify(doc) + '\n')
      } catch (err) {
        this.#init.onError?.(toStoremeshError(err))
      }
    })
  }
}
