/**
 * `storemesh bundle publish`: copies a built bundle folder into an origin folder
 * (protocols/origin/SPEC.md "Publishing"). Order makes a killed publish harmless and
 * the next run complete it: chunks first, then the manifest, then the class index,
 * each file written to a temporary name and renamed, so a reader never sees a torn
 * file, and an index never names a bundle whose manifest and chunks are not all there.
 * A chunk already present with its size is not rewritten (content addressing: same
 * name, same bytes), so publishing again, or a new version sharing chunks, copies only
 * what is new.
 */
import { open, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { assertEnvelopeShape } from '../bundle/envelope.js'
import type { SigningKey } from '../bundle/keys.js'
import { chunkPathIn } from '../bundle/layout.js'
import { blake3Hex } from '../bundle/hash.js'
import { bundleInfo, encodeManifest, parseManifestBody, parseManifestJson, verifyManifest } from '../bundle/manifest.js'
import { readBundleJson } from '../bundle/verify.js'
import { writeFileAtomic } from '../interface/atomic-file.js'
import { StoremeshError } from '../interface/errors.js'
import type { BundleInfo, TrustOptions } from '../interface/types.js'
import { chunkKey, indexKey, manifestKey } from './layout.js'
import { indexWith, parseIndex, signIndex } from './origin-index.js'

export interface PublishOptions {
  /** signs the class index (SPEC "Index") */
  keys: SigningKey[]
  /** when given, the bundle's manifest must verify against it before anything is copied */
  trust?: TrustOptions
  signal?: AbortSignal
  /** after each chunk, copied or found present */
  onProgress?: (doneBytes: number, totalBytes: number) => void
}

export interface PublishResult {
  id: string
  deviceClass: string
  chunks: number
  chunksWritten: number
  chunksPresent: number
  bytesWritten: number
  manifestWritten: boolean
  /** the index's version after this publish */
  indexVersion: number
  indexWritten: boolean
}

async function sizeOf (path: string): Promise<number | undefined> {
  return await stat(path).then(s => (s.isFile() ? s.size : undefined), () => undefined)
}

/** Reads a chunk file of the bundle folder: a regular file of exactly `size` bytes whose BLAKE3 is `hash`. */
async function readSourceChunk (dir: string, hash: string, size: number): Promise<Uint8Array> {
  const path = chunkPathIn(dir, hash)
  let fh
  try {
    fh = await open(path, 'r')
  } catch (err) {
    throw new StoremeshError('E_CHUNK_MISSING', `bundle folder lacks chunk ${hash}`, { path }, { cause: err })
  }
  try {
    const st = await fh.stat()
    if (!st.isFile() || st.size !== size) {
      throw new StoremeshError('E_SIZE_MISMATCH', `chunk ${hash} in the bundle folder is ${st.size} bytes, the manifest says ${size}`, { path })
    }
    const buf = Buffer.alloc(size)
    const { bytesRead } = await fh.read(buf, 0, size, 0)
    if (bytesRead !== size || blake3Hex(buf) !== hash) {
      throw new StoremeshError('E_CHUNK_HASH_MISMATCH', `chunk ${hash} in the bundle folder does not match its hash`, { path })
    }
    return buf
  } finally {
    await fh.close()
  }
}

async function readManifest (dir: string, trust: TrustOptions | undefined): Promise<BundleInfo> {
  const json = parseManifestJson(await readBundleJson(dir))
  if (trust !== undefined) return verifyManifest(json, trust)
  assertEnvelopeShape(json)
  return bundleInfo({ signed: parseManifestBody(json.signed), signatures: json.signatures })
}

async function readFileIfAny (path: string): Promise<Uint8Array | undefined> {
  const fh = await open(path, 'r').catch(() => undefined)
  if (fh === undefined) return undefined
  try {
    return await fh.readFile()
  } finally {
    await fh.close()
  }
}

export async function publishBundle (bundleDir: string, originDir: string, options: PublishOptions): Promise<PublishResult> {
  if (options.keys.length === 0) throw new StoremeshError('E_KEY_INVALID', 'publishing signs the class index: give at least one key')
  const info = await readManifest(bundleDir, options.trust)
  const deviceClass = info.manifest.signed.deviceClass
  let chunksWritten = 0
  let bytesWritten = 0
  let doneBytes = 0
  for (const piece of info.pieces) {
    options.signal?.throwIfAborted()
    const target = join(originDir, chunkKey(piece.hash))
    if (await sizeOf(target) !== piece.size) {
      // no fsync per chunk: the rename is atomic, and the manifest and index written after are
      await writeFileAtomic(target, await readSourceChunk(bundleDir, piece.hash, piece.size), { durable: false })
      chunksWritten++
      bytesWritten += piece.size
    }
    doneBytes += piece.size
    options.onProgress?.(doneBytes, info.totalBytes)
  }
  const manifestPath = join(originDir, manifestKey(info.id))
  const manifestBytes = encodeManifest(info.manifest)
  const heldManifest = await readFileIfAny(manifestPath)
  const manifestWritten = heldManifest === undefined || !Buffer.from(heldManifest).equals(manifestBytes)
  if (manifestWritten) await writeFileAtomic(manifestPath, manifestBytes)
  const indexPath = join(originDir, indexKey(deviceClass))
  const heldIndex = await readFileIfAny(indexPath)
  const previous = heldIndex !== undefined ? parseIndex(heldIndex).signed : undefined
  const next = indexWith(previous, info)
  if (next !== undefined) await writeFileAtomic(indexPath, signIndex(next, options.keys))
  return {
    id: info.id,
    deviceClass,
    chunks: info.pieces.length,
    chunksWritten,
    chunksPresent: info.pieces.length - chunksWritten,
    bytesWritten,
    manifestWritten,
    indexVersion: (next ?? previous)?.version ?? 0,
    indexWritten: next !== undefined
  }
}
