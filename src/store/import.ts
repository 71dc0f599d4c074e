/**
 * Imports a built bundle folder (`bundle.json` + `chunks/`, see bundle/layout.ts) into
 * the store: the manifest is verified against the caller's trust, every chunk is read,
 * size-checked and hashed before it is stored, and every artifact's whole-file hash is
 * checked in one pass. Only then is the bundle marked `verified`. Chunks the store
 * already holds are read from the store (verified) instead of the folder.
 */
import { StoremeshError } from '../interface/errors.js'
import { readRegularFile } from '../interface/regular-file.js'
import type { BundleInfo, ChunkRef, TrustOptions } from '../interface/types.js'
import { blake3Hex, StreamHasher } from '../bundle/hash.js'
import { bundleJsonPath, chunkPathIn } from '../bundle/layout.js'
import { decodeManifest, MAX_MANIFEST_BYTES } from '../bundle/manifest.js'
import type { BundleRecord } from './index-db.js'
import type { ChunkRead } from './reconstruct.js'

export interface ImportHost {
  addBundle(info: BundleInfo): Promise<BundleRecord>
  /** Stores bytes already checked against `hash`; false when the store held it already. */
  putVerified(hash: string, data: Uint8Array, signal?: AbortSignal): Promise<boolean>
  readChunk(hash: string): Promise<ChunkRead>
  /** Marks a complete bundle verified without re-reading it. */
  setVerified(id: string): Promise<BundleRecord>
}

export interface ImportResult {
  bundle: BundleRecord
  chunksWritten: number
  bytesWritten: number
  chunksAlreadyHeld: number
}

async function readSourceChunk (dir: string, c: ChunkRef, artifact: string, index: number): Promise<Uint8Array> {
  const path = chunkPathIn(dir, c.hash)
  const meta = { artifact, chunk: index, hash: c.hash, path }
  // a FIFO or device in place of a chunk is refused at open (E_FILE_NOT_REGULAR)
  const bytes = await readRegularFile(path, {
    what: `chunk ${index} of artifact ${artifact}`,
    maxBytes: c.size,
    codes: { missing: 'E_CHUNK_MISSING', tooLarge: 'E_SIZE_MISMATCH' }
  })
  if (bytes.length !== c.size) {
    throw new StoremeshError('E_SIZE_MISMATCH', `chunk ${index} of artifact ${artifact} is ${bytes.length} bytes, the manifest says ${c.size}`, meta)
  }
  if (blake3Hex(bytes) !== c.hash) {
    throw new StoremeshError('E_CHUNK_HASH_MISMATCH', `chunk ${index} of artifact ${artifact} does not match its hash`, meta)
  }
  return bytes
}

/** Reads and verifies `<dir>/bundle.json` against the trust keys. */
export async function readBundleDirManifest (dir: string, trust: TrustOptions): Promise<BundleInfo> {
  const path = bundleJsonPath(dir)
  const bytes = await readRegularFile(path, { what: 'bundle.json', maxBytes: MAX_MANIFEST_BYTES, codes: { tooLarge: 'E_MANIFEST_TOO_LARGE' } })
  return decodeManifest(bytes, trust)
}

export async function importBundleDir (
  host: ImportHost,
  dir: string,
  trust: TrustOptions,
  options: { signal?: AbortSignal } = {}
): Promise<ImportResult> {
  const info = await readBundleDirManifest(dir, trust)
  await host.addBundle(info)
  let chunksWritten = 0
  let bytesWritten = 0
  let chunksAlreadyHeld = 0
  for (const art of info.manifest.signed.artifacts) {
    const hasher = new StreamHasher()
    for (let i = 0; i < art.chunks.length; i++) {
      options.signal?.throwIfAborted()
      const c = art.chunks[i]!
      const held = await host.readChunk(c.hash)
      let bytes: Uint8Array
      if (held.status === 'ok' && held.bytes.length === c.size) {
        bytes = held.bytes
        chunksAlreadyHeld++
      } else {
        bytes = await readSourceChunk(dir, c, art.name, i)
        if (await host.putVerified(c.hash, bytes, options.signal)) {
          chunksWritten++
          bytesWritten += bytes.length
        }
      }
      hasher.update(bytes)
    }
    const got = hasher.digestHex()
    if (got !== art.blake3) {
      throw new StoremeshError('E_ARTIFACT_HASH_MISMATCH', `artifact ${art.name} in ${dir} does not match its whole-file hash`,
        { bundle: info.id, artifact: art.name, expected: art.blake3, got })
    }
  }
  const bundle = await host.setVerified(info.id)
  return { bundle, chunksWritten, bytesWritten, chunksAlreadyHeld }
}
