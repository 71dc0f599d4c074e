/**
 * Reconstructs an artifact from the store: its chunks in manifest order, each verified
 * as it is read, and the whole-file BLAKE3 and size checked at the end. A consumer
 * sees every byte before a whole-file mismatch is known, so exportArtifact() writes
 * to a temporary name and renames only after the last check passed.
 */
import { basename, dirname } from 'node:path'
import { Readable } from 'node:stream'
import { StoremeshError } from '../interface/errors.js'
import type { ArtifactEntry, BundleInfo } from '../interface/types.js'
import { StreamHasher } from '../bundle/hash.js'
import { tempNameFor, writeFileDurable } from './chunk-files.js'
import { DEFAULT_READ_AHEAD_CHUNKS } from './constants.js'

export type ChunkRead =
  | { status: 'ok', bytes: Uint8Array }
  | { status: 'missing' }
  | { status: 'corrupt' }

/** What reconstruction needs from the store: verified reads that say why they failed. */
export interface VerifiedChunkReader {
  /** `scratch`: read into it when it is large enough (reuseBuffers) */
  readChunk(hash: string, scratch?: Uint8Array): Promise<ChunkRead>
}

export interface ArtifactStreamOptions {
  signal?: AbortSignal
  /** @default DEFAULT_READ_AHEAD_CHUNKS */
  readAheadChunks?: number
  /**
   * Read into a ring of readAheadChunks + 1 buffers of the largest chunk's size instead
   * of a new buffer per chunk: a yielded piece is valid only until the next one is
   * asked for. For consumers that only look (markVerified): re-reading a 64 MiB bundle
   * allocated 64 MiB outside V8's heap, which made it run 9 mark-compacts in 4 s on a
   * device at the end of every download (bench:lan --node-args --trace-gc).
   * @default false
   */
  reuseBuffers?: boolean
}

export function findArtifact (info: BundleInfo, name: string): ArtifactEntry {
  const art = info.manifest.signed.artifacts.find(a => a.name === name)
  if (art === undefined) {
    throw new StoremeshError('E_INVALID_ARGUMENT', `bundle ${info.id} has no artifact named ${name}`,
      { bundle: info.id, artifact: name })
  }
  return art
}

/** The artifact's bytes, chunk by chunk, verified; throws at the first failure. */
export async function * artifactChunks (
  reader: VerifiedChunkReader,
  info: BundleInfo,
  artifactName: string,
  options: ArtifactStreamOptions = {}
): AsyncGenerator<Uint8Array> {
  const art = findArtifact(info, artifactName)
  const readAhead = Math.max(1, options.readAheadChunks ?? DEFAULT_READ_AHEAD_CHUNKS)
  const hasher = new StreamHasher()
  const queue: Array<Promise<ChunkRead>> = []
  const ring = options.reuseBuffers === true ? scratchRing(art, readAhead + 1) : undefined
  let next = 0
  let total = 0
  const meta = (i: number): Record<string, string | number> =>
    ({ bundle: info.id, artifact: art.name, chunk: i, hash: art.chunks[i]?.hash ?? '' })
  for (let i = 0; i < art.chunks.length; i++) {
    options.signal?.throwIfAborted()
    while (queue.length < readAhead && next < art.chunks.length) {
      const p = reader.readChunk(art.chunks[next]!.hash, ring?.[next % ring.length])
      p.catch(() => {}) // read-ahead left behind by an early exit must not be an unhandled rejection
      queue.push(p)
      next++
    }
    const r = await queue.shift()!
    const c = art.chunks[i]!
    if (r.status === 'missing') {
      throw new StoremeshError('E_CHUNK_MISSING', `chunk ${i} of artifact ${art.name} in bundle ${info.id} is not in the store`, meta(i))
    }
    if (r.status === 'corrupt') {
      throw new StoremeshError('E_STORE_CORRUPT', `chunk ${i} of artifact ${art.name} in bundle ${info.id} failed verification and was dropped`, meta(i))
    }
    if (r.bytes.length !== c.size) {
      throw new StoremeshError('E_SIZE_MISMATCH', `chunk ${i} of artifact ${art.name} is ${r.bytes.length} bytes, the manifest says ${c.size}`, meta(i))
    }
    hasher.update(r.bytes)
    total += r.bytes.length
    yield r.bytes
  }
  if (total !== art.size) {
    throw new StoremeshError('E_SIZE_MISMATCH', `artifact ${art.name} is ${total} bytes, the manifest says ${art.size}`,
      { bundle: info.id, artifact: art.name })
  }
  const got = hasher.digestHex()
  if (got !== art.blake3) {
    throw new StoremeshError('E_ARTIFACT_HASH_MISMATCH', `artifact ${art.name} in bundle ${info.id} does not match its whole-file hash`,
      { bundle: info.id, artifact: art.name, expected: art.blake3, got })
  }
}

/** `count` buffers of the artifact's largest chunk (none for an empty artifact). */
function scratchRing (art: ArtifactEntry, count: number): Uint8Array[] | undefined {
  const maxBytes = art.chunks.reduce((m, c) => Math.max(m, c.size), 0)
  if (maxBytes === 0) return undefined
  return Array.from({ length: count }, () => Buffer.allocUnsafeSlow(maxBytes))
}

export function artifactReadable (reader: VerifiedChunkReader, info: BundleInfo, artifactName: string, options: ArtifactStreamOptions = {}): Readable {
  return Readable.from(artifactChunks(reader, info, artifactName, options), { objectMode: false })
}

/**
 * Writes the artifact to `outPath`: temp file beside it, fsync, rename, fsync of the
 * directory. On any failure (hash, missing chunk, disk full, abort) `outPath` is not
 * created or replaced and the temp file is removed.
 */
export async function exportArtifact (
  reader: VerifiedChunkReader,
  info: BundleInfo,
  artifactName: string,
  outPath: string,
  options: ArtifactStreamOptions = {}
): Promise<{ bytes: number, blake3: string }> {
  const art = findArtifact(info, artifactName)
  await writeFileDurable(outPath, dirname(outPath), artifactChunks(reader, info, artifactName, options), tempNameFor(basename(outPath)))
  return { bytes: art.size, blake3: art.blake3 }
}
