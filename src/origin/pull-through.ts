/**
 * The super hub's pull-through from an origin (DESIGN.md 9b, protocols/origin/SPEC.md
 * "Pull-through"): a ChunkSource for the WAN pull server and a manifest lookup, both
 * answered from the local chunk store when it holds the object and from the origin
 * when not.
 *
 * - Chunks: any hash a store hub asks for (it may have read the manifest from another
 *   super hub), sized by the manifests we read when we have one; an origin 404 for a
 *   hash is remembered for a while so a store hub cannot make us ask again and again;
 *   concurrent requests for one chunk share one origin read;
 *   every chunk's BLAKE3 is checked before it is stored or served, a corrupt one is
 *   counted and read again (the fetcher's bounded retries). The store is opened with a
 *   quota and least-recently-used eviction (store/quota.ts): the cache stays bounded,
 *   and a chunk that does not fit is still served from memory, never dropped.
 * - Manifests: by id from `manifests/<hex>.json`; by class from the signed index
 *   (cached for `indexTtlMs`, an older `version` than the last read is refused), then
 *   the newest bundle's manifest. Each manifest is verified and recorded in the store.
 *
 * The super hub keeps nothing else of the origin, so super hubs can be added or
 * removed without moving data: each fills its own cache on demand.
 */
import { blake3Hex } from '../bundle/hash.js'
import { decodeManifest, encodeManifest } from '../bundle/manifest.js'
import { StoremeshError, isStoremeshError, toStoremeshError } from '../interface/errors.js'
import type { Log } from '../interface/log.js'
import type { BundleInfo, ChunkSource, TrustOptions } from '../interface/types.js'
import { servableManifest, type ChunkStore, type ManifestQuery } from '../store/index.js'
import { DEFAULT_INDEX_TTL_MS, DEFAULT_NOT_FOUND_TTL_MS, DEFAULT_ORIGIN_CONCURRENCY, MAX_NOT_FOUND_ENTRIES, MAX_INDEX_BYTES, MAX_ORIGIN_CHUNK_BYTES, MAX_ORIGIN_MANIFEST_BYTES } from './constants.js'
import type { OriginFetcher } from './fetcher.js'
import { chunkKey, indexKey, manifestKey } from './layout.js'
import { decodeIndex, newestEntry, type OriginIndexBody } from './origin-index.js'
import { Semaphore } from './semaphore.js'

export interface PullThroughInit {
  fetcher: OriginFetcher
  /** the cache: open it with a quotaBytes and evictIncomplete (bundles read through stay partial) */
  store: ChunkStore
  trust: TrustOptions
  /** @default DEFAULT_ORIGIN_CONCURRENCY */
  concurrency?: number
  /** @default DEFAULT_INDEX_TTL_MS */
  indexTtlMs?: number
  nowMs?: () => number
  log?: Log
}

export interface OriginStats {
  /** chunk bytes read from the origin that passed their check (one copy per chunk fetched) */
  chunkBytesFetched: number
  chunksFetched: number
  /** chunks served from the local cache */
  cacheHits: number
  /** of those, answered with bytes another reader still held (no read of its own) */
  sharedReads: number
  /** requests that joined a read already in flight */
  coalesced: number
  /** chunks the origin sent with a wrong hash (refused, never stored or served) */
  corruptRefused: number
  /** failed tries of any object (each one retried or given up) */
  failedReads: number
  /** failed tries followed by another try (after a back-off) */
  retries: number
  /** failed tries by stable code (a fixed set: fetcher.ts) */
  failuresByCode: Record<string, number>
  /** chunks given up after every retry (the store hub asks again or another super hub) */
  chunksUnavailable: number
  manifestsFetched: number
}

export class PullThrough implements ChunkSource {
  readonly stats: OriginStats = {
    chunkBytesFetched: 0, chunksFetched: 0, cacheHits: 0, sharedReads: 0, coalesced: 0, corruptRefused: 0, failedReads: 0, retries: 0, failuresByCode: {}, chunksUnavailable: 0, manifestsFetched: 0
  }

  readonly #init: PullThroughInit
  readonly #sizes = new Map<string, number>()
  /** hash → when the origin said 404 (insertion order: oldest first) */
  readonly #notFound = new Map<string, number>()
  readonly #chunkReads = new Map<string, Promise<Uint8Array | undefined>>()
  readonly #manifestReads = new Map<string, Promise<BundleInfo | undefined>>()
  readonly #indexes = new Map<string, { body: OriginIndexBody, readMs: number }>()
  readonly #slots: Semaphore
  readonly #controller = new AbortController()
  /**
   * Chunks some reader still holds, by hash: the next reader of the same chunk shares
   * those bytes instead of reading (and verifying) a copy of its own. Store hubs of one
   * wave ask for the same chunks at about the same time, so with 50 of them the super
   * hub held 50 copies of each chunk in flight (the largest part of its RSS per store
   * hub). Weak: the bytes go when the last reader is done. Nothing mutates them (the
   * pull server writes slices of them; encryption writes new buffers).
   */
  readonly #live = new Map<string, { ref: WeakRef<Uint8Array>, removals: number }>()
  readonly #dropLive = new FinalizationRegistry<string>(hash => {
    if (this.#live.get(hash)?.ref.deref() === undefined) this.#live.delete(hash)
  })
  /** store reads in flight, joined by concurrent readers of the same chunk */
  readonly #storeReads = new Map<string, Promise<Uint8Array | undefined>>()

  constructor (init: PullThroughInit) {
    this.#init = init
    this.#slots = new Semaphore(init.concurrency ?? DEFAULT_ORIGIN_CONCURRENCY)
  }

  /** Learns the chunk sizes of every bundle the cache already knows (after a restart). */
  async start (): Promise<void> {
    for (const rec of this.#init.store.listBundles()) this.#learn(await this.#init.store.bundleInfo(rec.id))
  }

  stop (): void {
    this.#controller.abort(new StoremeshError('E_ABORTED', 'super hub stopping'))
  }

  #learn (info: BundleInfo): void {
    for (const p of info.pieces) this.#sizes.set(p.hash, p.size)
  }

  #now (): number {
    return this.#init.nowMs?.() ?? Date.now()
  }

  /** The chunk's size as a manifest read through lists it (sizes the server's in-flight grant). */
  sizeOf (hash: string): number | undefined {
    return this.#sizes.get(hash)
  }

  /** Whether we would try to serve it: every hash is fetched on demand unless the origin just said it has none. */
  async has (hash: string): Promise<boolean> {
    return !this.#notFound.has(hash) || await this.#init.store.has(hash)
  }

  /** Verified bytes from the cache or the origin; undefined when the chunk is not ours or the origin failed. */
  async get (hash: string, options: { signal?: AbortSignal } = {}): Promise<Uint8Array | undefined> {
    // only while the cache holds it: an evicted chunk is read through again, as any other miss.
    // Asked of the index only when the store removed a chunk since these bytes were read:
    // a has() per request was ~5 % of the super hub's CPU serving 10 store hubs (bench:origin --cpu-prof)
    const entry = this.#live.get(hash)
    const live = entry?.ref.deref()
    if (live !== undefined && (entry?.removals === this.#removals() || await this.#init.store.has(hash))) { this.stats.cacheHits++; this.stats.sharedReads++; return live }
    const held = await this.#readStore(hash, options)
    if (held !== undefined) { this.stats.cacheHits++; return held }
    const missingSinceMs = this.#notFound.get(hash)
    if (missingSinceMs !== undefined) {
      if (this.#now() - missingSinceMs < DEFAULT_NOT_FOUND_TTL_MS) return undefined
      this.#notFound.delete(hash)
    }
    const size = this.#sizes.get(hash)
    let read = this.#chunkReads.get(hash)
    // a read that finished while we looked in the store has stored the chunk: look again, then join or start
    if (read === undefined && await this.#init.store.has(hash)) return await this.get(hash, options)
    read ??= this.#chunkReads.get(hash)
    if (read !== undefined) this.stats.coalesced++
    else {
      read = this.#readChunk(hash, size).finally(() => { this.#chunkReads.delete(hash) })
      this.#chunkReads.set(hash, read)
    }
    return await raceSignal(read, options.signal)
  }

  /** One store read per chunk at a time; its bytes are shared while anyone holds them. */
  async #readStore (hash: string, options: { signal?: AbortSignal }): Promise<Uint8Array | undefined> {
    let read = this.#storeReads.get(hash)
    const joined = read !== undefined
    if (read === undefined) {
      read = this.#init.store.get(hash).then(bytes => {
        if (bytes !== undefined) this.#share(hash, bytes)
        return bytes
      }).finally(() => { this.#storeReads.delete(hash) })
      this.#storeReads.set(hash, read)
    }
    const bytes = await raceSignal(read, options.signal)
    // a joined read of a chunk the cache lacks shared nothing: it goes on to the origin
    if (joined && bytes !== undefined) this.stats.sharedReads++
    return bytes
  }

  /** Chunks the store has removed so far (evicted or dropped as corrupt): a change means a held chunk may be gone. */
  #removals (): number {
    const s = this.#init.store.stats()
    return s.evictedChunks + s.corruptDropped
  }

  #share (hash: string, bytes: Uint8Array): void {
    this.#live.set(hash, { ref: new WeakRef(bytes), removals: this.#removals() })
    this.#dropLive.register(bytes, hash)
  }

  async #readChunk (hash: string, size: number | undefined): Promise<Uint8Array | undefined> {
    const signal = this.#controller.signal
    const bytes = await this.#slots.run(async () => await this.#init.fetcher.fetch(chunkKey(hash), {
      maxBytes: MAX_ORIGIN_CHUNK_BYTES,
      ...(size !== undefined ? { expectedBytes: size } : {}),
      signal,
      check: (b) => {
        if (blake3Hex(b) !== hash) {
          this.stats.corruptRefused++
          throw new StoremeshError('E_CHUNK_HASH_MISMATCH', `origin sent chunk ${hash} with a wrong hash`, { hash })
        }
      }
    }), signal).catch((err: unknown) => {
      const e = toStoremeshError(err)
      if (e.code === 'E_ORIGIN_NOT_FOUND') this.#rememberNotFound(hash)
      if (e.code !== 'E_ABORTED') {
        this.stats.chunksUnavailable++
        this.#init.log?.warn({ hash, code: e.code }, `origin chunk ${hash} unavailable: ${e.toLine()}`)
      }
      return undefined
    })
    if (bytes === undefined) return undefined
    this.stats.chunksFetched++
    this.stats.chunkBytesFetched += bytes.byteLength
    // hashed just above: stored without a second pass; a full cache still serves from memory
    const cached = await this.#init.store.putVerified(hash, bytes, signal).then(() => true, (err: unknown) => {
      const e = toStoremeshError(err)
      if (e.code !== 'E_STORE_CLOSED' && e.code !== 'E_ABORTED') this.#init.log?.warn({ hash, code: e.code }, `chunk ${hash} served but not cached: ${e.toLine()}`)
      return false
    })
    // shared once stored (the removals count then includes what this put evicted); a chunk the cache refused is not shared
    if (cached) this.#share(hash, bytes)
    return bytes
  }

  #rememberNotFound (hash: string): void {
    this.#notFound.set(hash, this.#now())
    while (this.#notFound.size > MAX_NOT_FOUND_ENTRIES) {
      const oldest = this.#notFound.keys().next().value
      if (oldest === undefined) break
      this.#notFound.delete(oldest)
    }
  }

  /** Counts a failed try (the fetcher's onFailure). */
  noteFailedRead (code: string, retried: boolean): void {
    this.stats.failedReads++
    if (retried) this.stats.retries++
    this.stats.failuresByCode[code] = (this.stats.failuresByCode[code] ?? 0) + 1
  }

  /** The manifest service's lookup: the canonical signed manifest, or undefined when neither the origin nor the cache has one. */
  async lookup (query: ManifestQuery): Promise<Uint8Array | undefined> {
    const info = 'bundleId' in query ? await this.#manifestById(query.bundleId) : await this.#newestOfClass(query.deviceClass)
    return info !== undefined ? encodeManifest(info.manifest) : undefined
  }

  async #newestOfClass (deviceClass: string): Promise<BundleInfo | undefined> {
    let index: OriginIndexBody | undefined
    try {
      index = await this.#index(deviceClass)
    } catch (err) {
      // origin down or a replayed older index: the last index read stands; without one,
      // answer from what the cache holds whole, as a super hub with a folder would
      this.#init.log?.warn({ deviceClass }, `origin index of ${deviceClass} unreadable, answering from the last one read or the cache: ${toStoremeshError(err).toLine()}`)
      const last = this.#indexes.get(deviceClass)?.body
      const entry = last !== undefined ? newestEntry(last, this.#now()) : undefined
      if (entry !== undefined) return await this.#manifestById(entry.id)
      const bytes = await servableManifest(this.#init.store, { deviceClass })
      return bytes !== undefined ? decodeManifest(bytes, this.#init.trust) : undefined
    }
    const entry = index !== undefined ? newestEntry(index, this.#now()) : undefined
    return entry !== undefined ? await this.#manifestById(entry.id) : undefined
  }

  async #index (deviceClass: string): Promise<OriginIndexBody | undefined> {
    const cached = this.#indexes.get(deviceClass)
    if (cached !== undefined && this.#now() - cached.readMs < (this.#init.indexTtlMs ?? DEFAULT_INDEX_TTL_MS)) return cached.body
    let bytes: Uint8Array
    try {
      bytes = await this.#init.fetcher.fetch(indexKey(deviceClass), { maxBytes: MAX_INDEX_BYTES, signal: this.#controller.signal })
    } catch (err) {
      if (isStoremeshError(err, 'E_ORIGIN_NOT_FOUND')) return undefined
      throw err
    }
    const body = decodeIndex(bytes, this.#init.trust, deviceClass)
    if (cached !== undefined && body.version < cached.body.version) {
      throw new StoremeshError('E_VERSION_ROLLBACK', `origin index of ${deviceClass} is version ${body.version}, older than ${cached.body.version} read before`, { deviceClass })
    }
    this.#indexes.set(deviceClass, { body, readMs: this.#now() })
    return body
  }

  async #manifestById (id: string): Promise<BundleInfo | undefined> {
    if (this.#init.store.getBundle(id) !== undefined) {
      const info = await this.#init.store.bundleInfo(id)
      this.#learn(info)
      return info
    }
    let read = this.#manifestReads.get(id)
    if (read === undefined) {
      read = this.#readManifest(id).finally(() => { this.#manifestReads.delete(id) })
      this.#manifestReads.set(id, read)
    }
    return await read
  }

  async #readManifest (id: string): Promise<BundleInfo | undefined> {
    let bytes: Uint8Array
    try {
      bytes = await this.#init.fetcher.fetch(manifestKey(id), { maxBytes: MAX_ORIGIN_MANIFEST_BYTES, signal: this.#controller.signal })
    } catch (err) {
      if (isStoremeshError(err, 'E_ORIGIN_NOT_FOUND')) return undefined
      throw err
    }
    const info = decodeManifest(bytes, this.#init.trust)
    if (info.id !== id) throw new StoremeshError('E_MANIFEST_INVALID', `origin's ${manifestKey(id)} holds bundle ${info.id}`, { bundle: id })
    this.stats.manifestsFetched++
    await this.#init.store.addBundle(info)
    this.#learn(info)
    return info
  }
}

/** Waits for `p` unless `signal` aborts first (the shared read goes on for the others). */
async function raceSignal<T> (p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return await p
  signal.throwIfAborted()
  return await new Promise<T>((resolve, reject) => {
    const onAbort = (): void => { reject(new StoremeshError('E_ABORTED', 'aborted')) }
    signal.addEventListener('abort', onAbort, { once: true })
    p.then(resolve, reject).finally(() => { signal.removeEventListener('abort', onAbort) })
  })
}
