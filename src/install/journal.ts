/**
 * The device's local journal: every installer transition and policy decision, in a
 * level database at `<data>/journal`, numbered with a monotonic sequence so the
 * ledger can send them upstream exactly once: it reads from the first unacked
 * sequence, the receiver keeps the highest (device, seq) it stored, and the sender
 * acks after the receiver confirmed. Acked entries are deleted with the ack.
 *
 * Keys: `e!<seq, 16 digits>` → JSON entry; `m!next` → next seq; `m!acked` → watermark.
 * An entry and the counter move in one atomic batch, so a crash never reuses a seq.
 */
import { join } from 'node:path'
import { Level } from 'level'
import { StoremeshError } from '../interface/errors.js'
import type { JournalEntry } from '../interface/types.js'
import { JOURNAL_DIR_NAME, MAX_JOURNAL_ENTRY_BYTES } from './constants.js'
import { Serial } from './serial.js'

export type { JournalEntry }
export type JournalEvent = Omit<JournalEntry, 'seq' | 'at'>

const ENTRY_PREFIX = 'e!'
const KEY_NEXT = 'm!next'
const KEY_ACKED = 'm!acked'
/** `<installId> <step>` of the newest transition, so a restart can tell whether it was journaled */
const KEY_LAST_INSTALL = 'm!install'
const SEQ_DIGITS = 16
/** readFrom() returns at most this many entries per call. */
export const DEFAULT_JOURNAL_READ_LIMIT = 1000

function entryKey (seq: number): string {
  return ENTRY_PREFIX + String(seq).padStart(SEQ_DIGITS, '0')
}

export function journalDirOf (dataDir: string): string {
  return join(dataDir, JOURNAL_DIR_NAME)
}

export interface JournalOptions {
  now?: () => number
}

export class Journal {
  private readonly serial = new Serial()
  private readonly now: () => number

  private constructor (private readonly db: Level<string, string>, options: JournalOptions) {
    this.now = options.now ?? Date.now
  }

  /** Opens `<dataDir>/journal`; a second process on the same dir gets E_DATA_DIR_IN_USE. */
  static async open (dataDir: string, options: JournalOptions = {}): Promise<Journal> {
    const db = new Level<string, string>(journalDirOf(dataDir), { keyEncoding: 'utf8', valueEncoding: 'utf8' })
    try {
      await db.open()
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause
      if (cause?.code === 'LEVEL_LOCKED') {
        throw new StoremeshError('E_DATA_DIR_IN_USE', `another storemesh process holds the journal in ${dataDir}`, { path: journalDirOf(dataDir) }, { cause: err })
      }
      throw new StoremeshError('E_JOURNAL', `cannot open the journal in ${dataDir}`, { path: journalDirOf(dataDir) }, { cause: err })
    }
    return new Journal(db, options)
  }

  async close (): Promise<void> {
    await this.db.close()
  }

  private async counter (key: string, fallback: number): Promise<number> {
    const v = await this.db.get(key)
    if (v === undefined) return fallback
    const n = Number(v)
    if (!Number.isSafeInteger(n) || n < 0) throw new StoremeshError('E_JOURNAL', `journal counter ${key} is corrupt`, { key })
    return n
  }

  /** Appends one event; returns it with its sequence number and time. */
  async append (event: JournalEvent): Promise<JournalEntry> {
    return await this.serial.run(async () => {
      const seq = await this.counter(KEY_NEXT, 1)
      const entry: JournalEntry = { seq, at: new Date(this.now()).toISOString(), ...event }
      const text = JSON.stringify(entry)
      if (Buffer.byteLength(text) > MAX_JOURNAL_ENTRY_BYTES) {
        throw new StoremeshError('E_JOURNAL', `journal entry is larger than ${MAX_JOURNAL_ENTRY_BYTES} bytes`, { kind: event.kind })
      }
      const ops = [
        { type: 'put' as const, key: entryKey(seq), value: text },
        { type: 'put' as const, key: KEY_NEXT, value: String(seq + 1) }
      ]
      if (event.installId !== undefined && event.step !== undefined) {
        ops.push({ type: 'put', key: KEY_LAST_INSTALL, value: `${event.installId} ${event.step}` })
      }
      await this.db.batch(ops)
      return entry
    })
  }

  /** Entries with seq >= `seq` that are not acked yet, oldest first, at most `limit`. */
  async readFrom (seq: number, options: { limit?: number } = {}): Promise<JournalEntry[]> {
    const acked = await this.counter(KEY_ACKED, 0)
    const from = Math.max(seq, acked + 1, 1)
    const out: JournalEntry[] = []
    for await (const value of this.db.values({ gte: entryKey(from), lt: ENTRY_PREFIX + '~', limit: options.limit ?? DEFAULT_JOURNAL_READ_LIMIT })) {
      out.push(decode(value))
    }
    return out
  }

  /** The newest entry, acked or not deleted yet; undefined on an empty journal. */
  async last (): Promise<JournalEntry | undefined> {
    for await (const value of this.db.values({ gte: ENTRY_PREFIX, lt: ENTRY_PREFIX + '~', reverse: true, limit: 1 })) {
      return decode(value)
    }
    return undefined
  }

  /** The step of the newest journaled transition of this install, or undefined. */
  async lastInstallStep (installId: string): Promise<number | undefined> {
    const v = await this.db.get(KEY_LAST_INSTALL)
    if (v === undefined) return undefined
    const [id, step] = v.split(' ')
    return id === installId && step !== undefined ? Number(step) : undefined
  }

  /** Highest sequence handed out so far (0 when none). */
  async lastSeq (): Promise<number> {
    return (await this.counter(KEY_NEXT, 1)) - 1
  }

  /** Highest sequence the upstream confirmed (0 when none). */
  async ackedSeq (): Promise<number> {
    return await this.counter(KEY_ACKED, 0)
  }

  /**
   * Everything up to and including `seq` reached the upstream: raise the watermark
   * and delete those entries. Idempotent; an ack below the watermark does nothing,
   * an ack beyond the last sequence is refused.
   */
  async ack (seq: number): Promise<void> {
    await this.serial.run(async () => {
      const acked = await this.counter(KEY_ACKED, 0)
      if (seq <= acked) return
      const last = (await this.counter(KEY_NEXT, 1)) - 1
      if (seq > last) throw new StoremeshError('E_JOURNAL', `cannot ack seq ${seq}: the journal ends at ${last}`, { seq, last })
      const ops: Array<{ type: 'del', key: string } | { type: 'put', key: string, value: string }> = []
      for await (const key of this.db.keys({ gte: entryKey(acked + 1), lte: entryKey(seq) })) {
        ops.push({ type: 'del', key })
      }
      ops.push({ type: 'put', key: KEY_ACKED, value: String(seq) })
      await this.db.batch(ops)
    })
  }
}

function decode (value: string): JournalEntry {
  try {
    const e = JSON.parse(value) as JournalEntry
    if (typeof e.seq !== 'number' || typeof e.kind !== 'string') throw new Error('missing seq or kind')
    return e
  } catch (err) {
    throw new StoremeshError('E_JOURNAL', 'journal entry is corrupt', {}, { cause: err })
  }
}
