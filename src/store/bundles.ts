/**
 * Bundle bookkeeping of the store: the records (state, pins, device class), the set of
 * missing pieces of every `partial` bundle, and the state transitions a chunk arriving
 * or leaving causes. Every change is planned into an IndexBatch; the returned `apply`
 * updates memory only after the batch is written, so memory never runs ahead of disk.
 * Callers hold the store's index lock around plan, write and apply.
 */
import semver from 'semver'
import { StoremeshError } from '../interface/errors.js'
import type { BundleInfo, SignedManifest } from '../interface/types.js'
import { assertEnvelopeShape } from '../bundle/envelope.js'
import { bundleIdOf, bundleInfo, encodeManifest, parseManifestBody, parseManifestJson } from '../bundle/manifest.js'
import { EXCLUSIVE_PIN_REASONS, type BundleRecord, type IndexBatch, type IndexDb, type PinReason } from './index-db.js'

/** Parsed manifests kept in memory; a manifest can list tens of thousands of chunks. */
export const INFO_CACHE_ENTRIES = 8

export type Apply = () => void
const noop: Apply = () => {}

export class BundleTable {
  private readonly records = new Map<string, BundleRecord>()
  /** Missing piece hashes of each `partial` bundle. */
  private readonly missing = new Map<string, Set<string>>()
  private readonly infos = new Map<string, BundleInfo>()

  constructor (private readonly index: IndexDb) {}

  /**
   * Loads records, drops chunks that startup recovery removed from complete bundles,
   * and rebuilds missing sets; a partial bundle whose pieces all arrived (its state
   * write was lost in a crash) becomes complete. Returns ids whose manifest was unreadable.
   */
  async load (droppedHashes: Iterable<string>): Promise<string[]> {
    const unreadable: string[] = []
    for (const rec of await this.index.listBundles()) this.records.set(rec.id, rec)
    const batch = this.index.batch()
    for (const hash of droppedHashes) {
      for (const id of await this.index.bundlesOfChunk(hash)) {
        const rec = this.records.get(id)
        if (rec !== undefined && (rec.state === 'complete' || rec.state === 'verified')) {
          const next: BundleRecord = { ...rec, state: 'partial' }
          delete next.verifiedMs
          this.records.set(id, next)
          batch.putBundle(next)
        }
      }
    }
    for (const rec of [...this.records.values()]) {
      if (rec.state !== 'partial') continue
      let info: BundleInfo
      try {
        info = await this.info(rec.id)
      } catch {
        unreadable.push(rec.id)
        continue
      }
      const held = await this.index.hasChunks(info.pieces.map(p => p.hash))
      const miss = new Set(info.pieces.filter((_, i) => held[i] !== true).map(p => p.hash))
      if (miss.size === 0) {
        const next: BundleRecord = { ...rec, state: 'complete' }
        this.records.set(rec.id, next)
        batch.putBundle(next)
      } else {
        this.missing.set(rec.id, miss)
      }
    }
    await batch.write({ sync: true })
    return unreadable
  }

  get (id: string): BundleRecord | undefined {
    return this.records.get(id)
  }

  list (): BundleRecord[] {
    return [...this.records.values()].sort((a, b) => a.addedMs - b.addedMs || (a.id < b.id ? -1 : 1))
  }

  require (id: string): BundleRecord {
    const rec = this.records.get(id)
    if (rec === undefined) throw new StoremeshError('E_BUNDLE_NOT_FOUND', `bundle ${id} is not in the store`, { bundle: id })
    return rec
  }

  /** The parsed manifest of a stored bundle (it was verified when it was added). */
  async info (id: string): Promise<BundleInfo> {
    const cached = this.infos.get(id)
    if (cached !== undefined) {
      this.infos.delete(id)
      this.infos.set(id, cached)
      return cached
    }
    this.require(id)
    const json = await this.index.getManifestJson(id)
    if (json === undefined) throw new StoremeshError('E_STORE_CORRUPT', `manifest of bundle ${id} is missing from the index`, { bundle: id })
    const env = parseManifestJson(Buffer.from(json, 'utf8'))
    assertEnvelopeShape(env)
    const manifest: SignedManifest = { signed: parseManifestBody(env.signed), signatures: env.signatures }
    if (bundleIdOf(manifest) !== id) throw new StoremeshError('E_STORE_CORRUPT', `stored manifest does not hash to bundle ${id}`, { bundle: id })
    const info = bundleInfo(manifest)
    this.cacheInfo(info)
    return info
  }

  private cacheInfo (info: BundleInfo): void {
    this.infos.set(info.id, info)
    while (this.infos.size > INFO_CACHE_ENTRIES) {
      const oldest = this.infos.keys().next().value
      if (oldest === undefined) break
      this.infos.delete(oldest)
    }
  }

  missingOf (id: string): ReadonlySet<string> | undefined {
    return this.missing.get(id)
  }

  /** Whether eviction may take a chunk listed by these bundles. */
  evictable (refs: string[], evictIncomplete: boolean): boolean {
    for (const id of refs) {
      const rec = this.records.get(id)
      if (rec === undefined) continue
      if (rec.pins.length > 0) return false
      if (rec.state === 'partial' && !evictIncomplete) return false
    }
    return true
  }

  /**
   * Adds (or re-wants) a bundle. `held` answers which of its pieces are in the store.
   * The id is recomputed from the manifest: the caller's `id` field is not trusted.
   */
  async planAdd (batch: IndexBatch, given: BundleInfo, nowMs: number): Promise<{ record: BundleRecord, apply: Apply }> {
    const info = bundleInfo(given.manifest)
    const existing = this.records.get(info.id)
    if (existing !== undefined && existing.state !== 'evicted') return { record: existing, apply: noop }
    const held = await this.index.hasChunks(info.pieces.map(p => p.hash))
    const miss = new Set(info.pieces.filter((_, i) => held[i] !== true).map(p => p.hash))
    const s = info.manifest.signed
    const record: BundleRecord = existing !== undefined
      ? { ...existing, state: miss.size === 0 ? 'complete' : 'partial' }
      : {
          id: info.id,
          name: s.name,
          version: s.version,
          deviceClass: s.deviceClass,
          ...(s.cycle !== undefined ? { cycle: s.cycle } : {}),
          state: miss.size === 0 ? 'complete' : 'partial',
          pins: [],
          addedMs: nowMs,
          pieceCount: info.pieces.length,
          totalBytes: info.totalBytes
        }
    delete record.verifiedMs
    if (existing === undefined) {
      batch.putManifest(info.id, Buffer.from(encodeManifest(info.manifest)).toString('utf8'))
      for (const p of info.pieces) batch.putRef(p.hash, info.id)
    }
    batch.putBundle(record)
    return {
      record,
      apply: () => {
        this.records.set(info.id, record)
        if (miss.size > 0) this.missing.set(info.id, miss)
        else this.missing.delete(info.id)
        this.cacheInfo(info)
      }
    }
  }

  /** A verified chunk was indexed: partial bundles waiting for it may become complete. */
  planChunkAdded (batch: IndexBatch, hash: string, refs: string[]): Apply {
    const done: BundleRecord[] = []
    const touched: string[] = []
    for (const id of refs) {
      const miss = this.missing.get(id)
      const rec = this.records.get(id)
      if (miss === undefined || rec === undefined || !miss.has(hash)) continue
      touched.push(id)
      if (miss.size === 1) {
        const next: BundleRecord = { ...rec, state: 'complete' }
        batch.putBundle(next)
        done.push(next)
      }
    }
    return () => {
      for (const id of touched) this.missing.get(id)?.delete(hash)
      for (const rec of done) {
        this.records.set(rec.id, rec)
        this.missing.delete(rec.id)
      }
    }
  }

  /**
   * A chunk left the index. Evicted: complete bundles become `evicted` (no longer
   * wanted). Lost (corrupt or vanished): complete bundles become `partial` again so
   * that the swarm fetches the chunk anew. Partial bundles miss one more piece.
   */
  planChunkRemoved (batch: IndexBatch, hash: string, refs: string[], cause: 'evicted' | 'lost'): Apply {
    const changed: BundleRecord[] = []
    const missAdd: string[] = []
    for (const id of refs) {
      const rec = this.records.get(id)
      if (rec === undefined) continue
      if (rec.state === 'partial') {
        missAdd.push(id)
      } else if (rec.state === 'complete' || rec.state === 'verified') {
        const next: BundleRecord = { ...rec, state: cause === 'evicted' ? 'evicted' : 'partial' }
        delete next.verifiedMs
        batch.putBundle(next)
        changed.push(next)
        if (next.state === 'partial') missAdd.push(id)
      }
    }
    return () => {
      for (const rec of changed) this.records.set(rec.id, rec)
      for (const id of missAdd) {
        const miss = this.missing.get(id) ?? new Set<string>()
        miss.add(hash)
        this.missing.set(id, miss)
      }
    }
  }

  planVerified (batch: IndexBatch, id: string, nowMs: number): Apply {
    const rec = this.require(id)
    if (rec.state !== 'complete' && rec.state !== 'verified') {
      throw new StoremeshError('E_CHUNK_MISSING', `bundle ${id} is ${rec.state}, not complete`, { bundle: id, state: rec.state })
    }
    const next: BundleRecord = { ...rec, state: 'verified', verifiedMs: nowMs }
    batch.putBundle(next)
    return () => { this.records.set(id, next) }
  }

  /**
   * Pins `active`, `installing` and `last-known-good` are exclusive per device class:
   * pinning bundle B as the class's `active` bundle takes that pin off whichever bundle
   * of the same class held it, in the same batch. `manual` pins add up.
   */
  planPin (batch: IndexBatch, id: string, reason: PinReason): Apply {
    const rec = this.require(id)
    const changed: BundleRecord[] = []
    for (const other of this.records.values()) {
      if (EXCLUSIVE_PIN_REASONS.has(reason) && other.id !== id && other.deviceClass === rec.deviceClass && other.pins.includes(reason)) {
        changed.push({ ...other, pins: other.pins.filter(p => p !== reason) })
      }
    }
    if (!rec.pins.includes(reason)) changed.push({ ...rec, pins: [...rec.pins, reason].sort() })
    for (const r of changed) batch.putBundle(r)
    return () => { for (const r of changed) this.records.set(r.id, r) }
  }

  planUnpin (batch: IndexBatch, id: string, reason?: PinReason): Apply {
    const rec = this.require(id)
    const next: BundleRecord = { ...rec, pins: reason === undefined ? [] : rec.pins.filter(p => p !== reason) }
    batch.putBundle(next)
    return () => { this.records.set(id, next) }
  }

  /** Forgets a bundle (its chunks stay, unreferenced and evictable). Pinned bundles are refused. */
  async planRemove (batch: IndexBatch, id: string): Promise<Apply> {
    const rec = this.require(id)
    if (rec.pins.length > 0) {
      throw new StoremeshError('E_BUNDLE_PINNED', `bundle ${id} (${rec.name} ${rec.version}) is pinned (${rec.pins.join(', ')}); unpin it first`, { bundle: id, pins: rec.pins.join(',') })
    }
    const info = await this.info(id)
    for (const p of info.pieces) batch.delRef(p.hash, id)
    batch.delBundle(id)
    return () => {
      this.records.delete(id)
      this.missing.delete(id)
      this.infos.delete(id)
    }
  }

  /** Highest semver version of a device class (ties: added last). */
  newestForClass (deviceClass: string, options: { requireComplete?: boolean } = {}): BundleRecord | undefined {
    let best: BundleRecord | undefined
    for (const rec of this.records.values()) {
      if (rec.deviceClass !== deviceClass) continue
      if (options.requireComplete === true && rec.state !== 'complete' && rec.state !== 'verified') continue
      if (best === undefined) { best = rec; continue }
      const c = semver.compare(rec.version, best.version)
      if (c > 0 || (c === 0 && rec.addedMs > best.addedMs)) best = rec
    }
    return best
  }
}
