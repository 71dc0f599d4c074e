/**
 * The manifests a store answers for, in one place: the manifest service of every role
 * (store hub, device, super hub) and the chunk protocol's "which bundle is info-hash H?"
 * read them from here, so a peer never answers one question with two rules.
 *
 * Two states matter, each named for the question it answers:
 * - **servable** (`complete` or `verified`): every chunk is held. The manifest protocol
 *   answers only for these, by id as by device class: a peer that says "here is
 *   bundle X" can hand out all of X. A super hub with a half-imported bundle (its
 *   folder gone before the import finished) says "not found", and a store hub's WAN
 *   puller asks another super hub instead of waiting on chunks no one will send; a
 *   class query must never name a bundle that cannot be installed.
 * - **held** (any state but `evicted`): the store knows the bundle and serves what it
 *   has of it. The chunk protocol joins such a swarm, since a partial bundle's chunks
 *   are worth swapping; an evicted record is a name without its chunks.
 */
import { encodeManifest, infoHashOf } from '../bundle/manifest.js'
import type { BundleInfo } from '../interface/types.js'
import type { BundleState } from './index-db.js'
import type { ChunkStore } from './store.js'

/** What the manifest protocol asks (net/manifest/messages.ts `ManifestRequest`). */
export type ManifestQuery = { bundleId: string } | { deviceClass: string }

/** Every chunk of the bundle is in the store. */
export function isServable (state: BundleState | undefined): boolean {
  return state === 'complete' || state === 'verified'
}

/** The store knows the bundle and has not evicted it. */
export function isHeld (state: BundleState | undefined): boolean {
  return state !== undefined && state !== 'evicted'
}

/**
 * The canonical signed manifest the store serves for a query: the bundle by id, or the
 * newest servable bundle of a class; undefined when it has no servable answer.
 */
export async function servableManifest (store: ChunkStore, query: ManifestQuery): Promise<Uint8Array | undefined> {
  const rec = 'bundleId' in query ? store.getBundle(query.bundleId) : store.newestForClass(query.deviceClass, { requireComplete: true })
  if (rec === undefined || !isServable(rec.state)) return undefined
  return encodeManifest((await store.bundleInfo(rec.id)).manifest)
}

/** The manifest service's lookup, answered by this store (a ManifestLookup). */
export function storeManifestLookup (store: ChunkStore): (query: ManifestQuery) => Promise<Uint8Array | undefined> {
  return async (query) => await servableManifest(store, query)
}

/** The held bundle whose info-hash (the first 20 bytes of its id) is `infoHash`. */
export async function heldBundleByInfoHash (store: ChunkStore, infoHash: Uint8Array): Promise<BundleInfo | undefined> {
  const key = Buffer.from(infoHash).toString('hex')
  for (const rec of store.listBundles()) {
    if (isHeld(rec.state) && Buffer.from(infoHashOf(rec.id)).toString('hex') === key) return await store.bundleInfo(rec.id)
  }
  return undefined
}
