/**
 * The chunk store as other layers use it: StoreCore's chunks (ChunkSink) plus bundles
 * (state, pieces, bitfields, pins), import of a built bundle folder, and artifact
 * reconstruction. Bundle state changes are planned by BundleTable and written as one
 * atomic index batch under the index lock.
 */
import type { Readable } from 'node:stream'
import { StoremeshError } from '../interface/errors.js'
import type { BundleInfo, TrustOptions } from '../interface/types.js'
import type { StoreOptions } from './constants.js'
import { StoreCore } from './core.js'
import { importBundleDir, type ImportResult } from './import.js'
import type { BundleRecord, BundleState, PinReason } from './index-db.js'
import { artifactChunks, artifactReadable, exportArtifact, type ArtifactStreamOptions } from './reconstruct.js'
import { assertQuotaHolds, distinctBytes, type SizedBundle } from './quota-spec.js'

/** What evicting a bundle freed (or, on a dry run, would free). */
export interface BundleEviction {
  bundle: BundleRecord
  /** chunks no other bundle lists: removed with the bundle */
  chunks: number
  bytes: number
  dryRun: boolean
}

export interface MissingPiece {
  /** index in BundleInfo.pieces (the swarm's piece index) */
  index: number
  hash: string
  size: number
}

/** BitTorrent wire order: piece i is bit (7 - i % 8) of byte i / 8. */
export function toBitfield (held: boolean[]): Uint8Array {
  const bits = new Uint8Array(Math.ceil(held.length / 8))
  held.forEach((h, i) => { if (h) bits[i >> 3]! |= 0x80 >> (i & 7) })
  return bits
}

export class ChunkStore extends StoreCore {
  // ---- bundles ------------------------------------------------------------------

  /** Records a bundle whose manifest the caller verified (verifyManifest/decodeManifest). */
  async addBundle (info: BundleInfo): Promise<BundleRecord> {
    return await this.track(async () => await this.mutate(async batch => {
      const { record, apply } = await this.parts().bundles.planAdd(batch, info, this.opts.nowMs())
      return { apply, result: record }
    }))
  }

  /** Forgets a bundle; its chunks stay until evicted. Pinned bundles are refused. */
  async removeBundle (id: string): Promise<void> {
    await this.track(async () => await this.mutate(async batch => ({ apply: await this.parts().bundles.planRemove(batch, id), result: undefined })))
  }

  async importBundleDir (dir: string, trust: TrustOptions, options: { signal?: AbortSignal } = {}): Promise<ImportResult> {
    return await importBundleDir(this, dir, trust, { signal: this.signal(options.signal) })
  }

  /** Marks a complete bundle verified after import checked it end to end. */
  async setVerified (id: string): Promise<BundleRecord> {
    return await this.track(async () => await this.mutate(async batch => {
      const { bundles } = this.parts()
      const apply = bundles.planVerified(batch, id, this.opts.nowMs())
      return { apply, result: undefined }
    }).then(() => this.parts().bundles.require(id)))
  }

  /** Re-reads every artifact (chunk hashes and whole-file hashes), then marks the bundle verified. */
  async markVerified (id: string, options: { signal?: AbortSignal } = {}): Promise<BundleRecord> {
    const rec = this.parts().bundles.require(id)
    if (rec.state === 'partial' || rec.state === 'evicted') {
      throw new StoremeshError('E_CHUNK_MISSING', `bundle ${id} is ${rec.state}: pieces are missing`, { bundle: id, state: rec.state })
    }
    const info = await this.bundleInfo(id)
    for (const art of info.manifest.signed.artifacts) {
      // only looked at: a ring of scratch buffers, not a new one per chunk
      for await (const piece of artifactChunks(this, info, art.name, { signal: this.signal(options.signal), reuseBuffers: true })) void piece
    }
    return await this.setVerified(id)
  }

  getBundle (id: string): BundleRecord | undefined {
    return this.parts().bundles.get(id)
  }

  bundleState (id: string): BundleState | undefined {
    return this.parts().bundles.get(id)?.state
  }

  listBundles (): BundleRecord[] {
    return this.parts().bundles.list()
  }

  async bundleInfo (id: string): Promise<BundleInfo> {
    return await this.track(async () => await this.parts().bundles.info(id))
  }

  newestForClass (deviceClass: string, options: { requireComplete?: boolean } = {}): BundleRecord | undefined {
    return this.parts().bundles.newestForClass(deviceClass, options)
  }

  /** Which pieces (BundleInfo.pieces order) are held; a chunk held for any bundle counts. */
  async heldPieces (id: string): Promise<boolean[]> {
    return await this.track(async () => {
      const info = await this.parts().bundles.info(id)
      return await this.parts().index.hasChunks(info.pieces.map(p => p.hash))
    })
  }

  /** BitTorrent wire bitfield: piece i is bit (7 - i % 8) of byte i / 8. */
  async bitfield (id: string): Promise<Uint8Array> {
    return toBitfield(await this.heldPieces(id))
  }

  async missingPieces (id: string): Promise<MissingPiece[]> {
    const info = await this.bundleInfo(id)
    const held = await this.heldPieces(id)
    const out: MissingPiece[] = []
    info.pieces.forEach((p, i) => { if (held[i] !== true) out.push({ index: i, hash: p.hash, size: p.size }) })
    return out
  }

  /** Keeps the bundle's chunks from eviction; exclusive per device class and reason. */
  async pin (id: string, reason: PinReason): Promise<BundleRecord> {
    await this.track(async () => await this.mutate(async batch => ({ apply: this.parts().bundles.planPin(batch, id, reason), result: undefined })))
    return this.parts().bundles.require(id)
  }

  /** Removes one pin reason, or all when none is given. */
  async unpin (id: string, reason?: PinReason): Promise<BundleRecord> {
    await this.track(async () => await this.mutate(async batch => ({ apply: this.parts().bundles.planUnpin(batch, id, reason), result: undefined })))
    return this.parts().bundles.require(id)
  }

  /** Distinct chunk bytes of a bundle: what it takes in the store when complete. */
  async bundleBytes (id: string): Promise<number> {
    return distinctBytes((await this.bundleInfo(id)).pieces)
  }

  /** Every bundle still wanted (not evicted) with its distinct chunk bytes. */
  async sizedBundles (): Promise<SizedBundle[]> {
    const out: SizedBundle[] = []
    for (const r of this.listBundles()) {
      if (r.state !== 'evicted') out.push({ id: r.id, name: r.name, version: r.version, bytes: await this.bundleBytes(r.id) })
    }
    return out
  }

  /**
   * Evicts a whole bundle: forgets it and removes the chunks no other bundle lists
   * (chunks shared with a kept bundle stay). A pinned bundle is refused with
   * E_BUNDLE_PINNED: nothing the installer may roll back to is ever evicted.
   * `dryRun` answers what would be freed and changes nothing.
   */
  async evictBundle (id: string, options: { dryRun?: boolean } = {}): Promise<BundleEviction> {
    const rec = this.parts().bundles.require(id)
    if (rec.pins.length > 0) {
      throw new StoremeshError('E_BUNDLE_PINNED', `bundle ${id} (${rec.name} ${rec.version}) is pinned (${rec.pins.join(', ')}); unpin it first`,
        { bundle: id, pins: rec.pins.join(',') })
    }
    const info = await this.bundleInfo(id)
    const hashes = [...new Set(info.pieces.map(p => p.hash))]
    const dryRun = options.dryRun === true
    if (dryRun) {
      return await this.track(async () => {
        const { index } = this.parts()
        let chunks = 0
        let bytes = 0
        for (const hash of hashes) {
          const c = await index.getChunk(hash)
          const refs = await index.bundlesOfChunk(hash)
          if (c !== undefined && refs.every(r => r === id)) { chunks++; bytes += c.size }
        }
        return { bundle: rec, chunks, bytes, dryRun }
      })
    }
    await this.removeBundle(id)
    let chunks = 0
    let bytes = 0
    for (const hash of hashes) {
      const freed = await this.track(async () => await this.evictChunk(hash, { unreferenced: true }))
      if (typeof freed === 'number' && freed > 0) { chunks++; bytes += freed }
    }
    return { bundle: rec, chunks, bytes, dryRun }
  }

  // ---- reconstruction -------------------------------------------------------------

  /** The artifact's bytes in order, each chunk verified; whole-file mismatch throws at the end. */
  async * artifactStream (bundleId: string, artifactName: string, options: ArtifactStreamOptions = {}): AsyncGenerator<Uint8Array> {
    const info = await this.bundleInfo(bundleId)
    yield * artifactChunks(this, info, artifactName, { ...options, signal: this.signal(options.signal) })
  }

  async artifactReadable (bundleId: string, artifactName: string, options: ArtifactStreamOptions = {}): Promise<Readable> {
    const info = await this.bundleInfo(bundleId)
    return artifactReadable(this, info, artifactName, { ...options, signal: this.signal(options.signal) })
  }

  /** Writes the artifact to outPath (temp + fsync + rename); outPath appears only when it verified. */
  async exportArtifact (bundleId: string, artifactName: string, outPath: string, options: ArtifactStreamOptions = {}): Promise<{ bytes: number, blake3: string }> {
    const info = await this.bundleInfo(bundleId)
    return await exportArtifact(this, info, artifactName, outPath, { ...options, signal: this.signal(options.signal) })
  }

}

/** Opens a store: creates the data dir, takes its lock, recovers from any crash. */
export async function openStore (options: StoreOptions): Promise<ChunkStore> {
  const store = new ChunkStore(options)
  await store.start()
  if (options.quotaBytes !== undefined) {
    try {
      // a quota that cannot hold a bundle it must keep is refused now, not after days of churn
      assertQuotaHolds(options.quotaBytes, await store.sizedBundles())
    } catch (err) {
      await store.stop().catch(() => {})
      throw err
    }
  }
  return store
}
