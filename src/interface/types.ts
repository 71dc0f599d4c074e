/**
 * Shared shapes of the bundle format (protocols/bundle/SPEC.md) and the seams that
 * the swarm, WAN, installer and operator plane use to reach the chunk store.
 * Hashes are lower-case hex BLAKE3-256 (64 characters); ids carry a `b3:` prefix.
 */

/** One chunk of an artifact: its BLAKE3-256 hash (hex) and its length in bytes. */
export interface ChunkRef {
  hash: string
  size: number
}

export interface ArtifactEntry {
  /** Relative file name inside the bundle folder; never absolute, never `..`. */
  name: string
  size: number
  /** BLAKE3-256 of the whole file, hex. */
  blake3: string
  chunks: ChunkRef[]
}

export interface ChunkingParams {
  algorithm: 'fastcdc'
  minBytes: number
  avgBytes: number
  maxBytes: number
}

/** The signed body of a bundle manifest (DESIGN.md section 3). */
export interface ManifestBody {
  type: 'storemesh/bundle'
  specVersion: 1
  name: string
  /** semver */
  version: string
  cycle?: string
  deviceClass: string
  osVariant?: string
  /** semver range the device's config version must satisfy */
  requiresConfig?: string
  /** ISO 8601 UTC */
  created: string
  /** ISO 8601 UTC */
  expires: string
  chunking: ChunkingParams
  artifacts: ArtifactEntry[]
}

export interface Signature {
  keyid: string
  /** base64 Ed25519 signature over the canonical bytes of `signed` */
  sig: string
}

/** TUF-style signed envelope, used for manifests and rollout policies alike. */
export interface Envelope<T> {
  signed: T
  signatures: Signature[]
}

export type SignedManifest = Envelope<ManifestBody>

/** A public key trusted to sign manifests and policies. */
export interface TrustedKey {
  keyid: string
  /** raw 32-byte Ed25519 public key */
  publicKey: Uint8Array
}

export interface TrustOptions {
  keys: TrustedKey[]
  /** signatures from distinct trusted keys required; default 1 */
  threshold?: number
  /** the clock for expiry checks; default Date.now() */
  nowMs?: number
}

/** What every layer knows about a bundle once its manifest verified. */
export interface BundleInfo {
  /** `b3:` + hex BLAKE3 of the canonical signed body */
  id: string
  /** first 20 bytes of the id's hash: the BitTorrent info-hash */
  infoHash: Uint8Array
  manifest: SignedManifest
  /** unique chunks in first-appearance order: the swarm's pieces */
  pieces: ChunkRef[]
  totalBytes: number
}

/** Link classes for byte accounting and metrics labels. */
export type Link = 'wan' | 'lan'

/**
 * The chunk store as the swarm, WAN and installer see it. Chunks are addressed by
 * hash alone, so a chunk held for one bundle counts for every bundle that lists it.
 */
export interface ChunkSource {
  has(hash: string): Promise<boolean>
  /** verified bytes, or undefined when not held */
  get(hash: string, options?: { signal?: AbortSignal }): Promise<Uint8Array | undefined>
}

export interface ChunkSink extends ChunkSource {
  /** Verifies the hash before anything is written; throws E_CHUNK_HASH_MISMATCH. */
  put(hash: string, data: Uint8Array, options?: { signal?: AbortSignal }): Promise<void>
}
