/**
 * The level index of the chunk store. One LevelDB, string keys with a one-letter
 * prefix per table, JSON values; every change that spans tables is one atomic batch.
 *
 *   c!<hash>                 chunk record {size, lastUsedMs}        (chunk is held and was verified on put)
 *   l!<ms, 15 digits>!<hash> ''                                     (least-recently-used order)
 *   r!<hash>!<bundleId>      ''                                     (bundle lists chunk; from its manifest)
 *   b!<bundleId>             bundle record (state, pins, class, ...)
 *   m!<bundleId>             the manifest envelope, canonical JSON  (verified when added)
 *
 * A chunk is indexed only after its file is durable, so an indexed chunk is never
 * half-written; chunk batches are not synced (a lost tail of the log only loses
 * index entries whose files are re-adopted at the next open).
 */
import { Level } from 'level'
import { StoremeshError } from '../interface/errors.js'

export type BundleState = 'partial' | 'complete' | 'verified' | 'evicted'
/**
 * Why a bundle is kept from eviction. `active` (the running version), `installing`
 * (being written to the inactive slot) and `last-known-good` (what a rollback returns
 * to) are exclusive per device class; `manual` (an operator's `hub cache pin`) is not,
 * nor `device` (on a hub: some device of the store runs, installs or would roll back to it).
 */
export type PinReason = 'active' | 'installing' | 'last-known-good' | 'manual' | 'device'
export const PIN_REASONS: readonly PinReason[] = ['active', 'installing', 'last-known-good', 'manual', 'device']
/** Pin reasons held by at most one bundle of a device class at a time. */
export const EXCLUSIVE_PIN_REASONS: ReadonlySet<PinReason> = new Set(['active', 'installing', 'last-known-good'])

export interface ChunkRecord {
  size: number
  lastUsedMs: number
}

export interface BundleRecord {
  id: string
  name: string
  version: string
  deviceClass: string
  cycle?: string
  /**
   * partial: some pieces missing, wanted (its chunks are kept from eviction);
   * complete: every piece held, each verified when stored;
   * verified: complete, and every artifact re-read end to end against its whole-file hash;
   * evicted: was complete, lost pieces to the quota; not wanted until added again.
   */
  state: BundleState
  pins: PinReason[]
  addedMs: number
  verifiedMs?: number
  pieceCount: number
  totalBytes: number
}

const MS_DIGITS = 15
const HI = '\xff'

const chunkKey = (hash: string): string => `c!${hash}`
const lruKey = (ms: number, hash: string): string => `l!${String(Math.max(0, Math.floor(ms))).padStart(MS_DIGITS, '0')}!${hash}`
const refKey = (hash: string, bundleId: string): string => `r!${hash}!${bundleId}`
const bundleKey = (id: string): string => `b!${id}`
const manifestKey = (id: string): string => `m!${id}`

type Op = { type: 'put', key: string, value: string } | { type: 'del', key: string }

function parseJson<T> (key: string, value: string): T {
  try {
    return JSON.parse(value) as T
  } catch (err) {
    throw new StoremeshError('E_STORE_CORRUPT', `index entry ${key} is not valid JSON`, { key }, { cause: err })
  }
}

/** Collects the operations of one atomic index update. */
export class IndexBatch {
  readonly ops: Op[] = []

  constructor (private readonly db: Level<string, string>) {}

  putChunk (hash: string, rec: ChunkRecord, prev?: ChunkRecord): this {
    if (prev !== undefined && prev.lastUsedMs !== rec.lastUsedMs) this.ops.push({ type: 'del', key: lruKey(prev.lastUsedMs, hash) })
    this.ops.push({ type: 'put', key: chunkKey(hash), value: JSON.stringify(rec) })
    this.ops.push({ type: 'put', key: lruKey(rec.lastUsedMs, hash), value: '' })
    return this
  }

  delChunk (hash: string, rec: ChunkRecord): this {
    this.ops.push({ type: 'del', key: chunkKey(hash) }, { type: 'del', key: lruKey(rec.lastUsedMs, hash) })
    return this
  }

  putRef (hash: string, bundleId: string): this {
    this.ops.push({ type: 'put', key: refKey(hash, bundleId), value: '' })
    return this
  }

  delRef (hash: string, bundleId: string): this {
    this.ops.push({ type: 'del', key: refKey(hash, bundleId) })
    return this
  }

  putBundle (rec: BundleRecord): this {
    this.ops.push({ type: 'put', key: bundleKey(rec.id), value: JSON.stringify(rec) })
    return this
  }

  delBundle (id: string): this {
    this.ops.push({ type: 'del', key: bundleKey(id) }, { type: 'del', key: manifestKey(id) })
    return this
  }

  putManifest (id: string, canonicalJson: string): this {
    this.ops.push({ type: 'put', key: manifestKey(id), value: canonicalJson })
    return this
  }

  get length (): number {
    return this.ops.length
  }

  async write (options: { sync?: boolean } = {}): Promise<void> {
    if (this.ops.length === 0) return
    await this.db.batch(this.ops, { sync: options.sync ?? false })
  }
}

export class IndexDb {
  private constructor (private readonly db: Level<string, string>, readonly path: string) {}

  /** Opens (creating) the index; a data dir held by another process is E_DATA_DIR_IN_USE. */
  static async open (path: string, dataDir: string): Promise<IndexDb> {
    const db = new Level<string, string>(path, { valueEncoding: 'utf8' })
    try {
      await db.open()
    } catch (err) {
      const e = err as { code?: string, cause?: { code?: string } }
      if (e.code === 'LEVEL_DATABASE_NOT_OPEN' && e.cause?.code === 'LEVEL_LOCKED') {
        throw new StoremeshError('E_DATA_DIR_IN_USE', `data dir ${dataDir} is in use by another storemesh process`,
          { dataDir }, { cause: err })
      }
      throw err
    }
    return new IndexDb(db, path)
  }

  async close (): Promise<void> {
    await this.db.close()
  }

  batch (): IndexBatch {
    return new IndexBatch(this.db)
  }

  async getChunk (hash: string): Promise<ChunkRecord | undefined> {
    const v = await this.db.get(chunkKey(hash))
    return v === undefined ? undefined : parseJson<ChunkRecord>(chunkKey(hash), v)
  }

  async getChunks (hashes: string[]): Promise<Array<ChunkRecord | undefined>> {
    if (hashes.length === 0) return []
    const vs = await this.db.getMany(hashes.map(chunkKey))
    return vs.map((v, i) => v === undefined ? undefined : parseJson<ChunkRecord>(chunkKey(hashes[i] ?? ''), v))
  }

  async hasChunk (hash: string): Promise<boolean> {
    return await this.db.has(chunkKey(hash))
  }

  async hasChunks (hashes: string[]): Promise<boolean[]> {
    if (hashes.length === 0) return []
    return await this.db.hasMany(hashes.map(chunkKey))
  }

  /** Chunk records whose hash starts with `prefix` (a fan-out directory's worth). */
  async chunksWithPrefix (prefix: string): Promise<Map<string, ChunkRecord>> {
    const out = new Map<string, ChunkRecord>()
    for await (const [k, v] of this.db.iterator({ gte: chunkKey(prefix), lt: chunkKey(prefix) + HI })) {
      out.set(k.slice(2), parseJson<ChunkRecord>(k, v))
    }
    return out
  }

  /** Every chunk record, in hash order. */
  async * chunks (): AsyncGenerator<[string, ChunkRecord]> {
    for await (const [k, v] of this.db.iterator({ gte: 'c!', lt: 'c!' + HI })) {
      yield [k.slice(2), parseJson<ChunkRecord>(k, v)]
    }
  }

  /** Chunk hashes, least recently used first. */
  async * lru (): AsyncGenerator<string> {
    for await (const k of this.db.keys({ gte: 'l!', lt: 'l!' + HI })) {
      yield k.slice(3 + MS_DIGITS)
    }
  }

  /** Ids of the bundles whose manifest lists this chunk. */
  async bundlesOfChunk (hash: string): Promise<string[]> {
    const out: string[] = []
    const start = refKey(hash, '')
    for await (const k of this.db.keys({ gte: start, lt: start + HI })) out.push(k.slice(start.length))
    return out
  }

  async listBundles (): Promise<BundleRecord[]> {
    const out: BundleRecord[] = []
    for await (const [k, v] of this.db.iterator({ gte: 'b!', lt: 'b!' + HI })) out.push(parseJson<BundleRecord>(k, v))
    return out
  }

  async getManifestJson (id: string): Promise<string | undefined> {
    return await this.db.get(manifestKey(id))
  }
}
