/**
 * `bundle verify`: a bundle folder checked end to end. Manifest and trust problems
 * throw (exit 3: E_SIGNATURE_*, E_MANIFEST_*, E_PATH_ESCAPE); content problems are
 * collected, each naming artifact, chunk index and hash (exit 2): a chunk whose bytes
 * do not hash to its id, a missing chunk, a chunk file of the wrong size, and a
 * whole-file hash that the chunks, joined in order, do not give, and a chunk path that
 * is a FIFO, device or directory (E_FILE_NOT_REGULAR, refused without reading).
 */
import { blake3, Blake3Hasher } from '@napi-rs/blake-hash'
import { isStoremeshError } from '../interface/errors.js'
import { openRegularFile, readRegularFile, type OpenedRegularFile } from '../interface/regular-file.js'
import type { BundleInfo, TrustOptions } from '../interface/types.js'
import { bundleJsonPath, chunkPathIn } from './layout.js'
import { decodeManifest, MAX_MANIFEST_BYTES } from './manifest.js'

/** Reads kept in flight while the previous chunk is hashed. */
const READ_AHEAD = 4
/** Listing stops here; a folder this broken needs no longer list. */
export const MAX_PROBLEMS = 1000

export type VerifyProblemCode = 'E_CHUNK_HASH_MISMATCH' | 'E_CHUNK_MISSING' | 'E_SIZE_MISMATCH' | 'E_ARTIFACT_HASH_MISMATCH' | 'E_FILE_NOT_REGULAR'

export interface VerifyProblem {
  code: VerifyProblemCode
  artifact: string
  /** index of the chunk within its artifact, when the problem is a chunk's */
  chunk?: number
  hash?: string
  message: string
}

export interface VerifyResult {
  info: BundleInfo
  problems: VerifyProblem[]
  /** chunk occurrences and bytes checked */
  checkedChunks: number
  checkedBytes: number
}

export interface VerifyOptions {
  signal?: AbortSignal
  onProgress?: (doneBytes: number, totalBytes: number) => void
}

/**
 * Reads `bundle.json` within the manifest size limit. A directory, FIFO or device in
 * its place is refused at open (E_FILE_NOT_REGULAR), never read.
 */
export async function readBundleJson (dir: string): Promise<Uint8Array> {
  const path = bundleJsonPath(dir)
  return await readRegularFile(path, {
    what: 'bundle.json',
    maxBytes: MAX_MANIFEST_BYTES,
    codes: { missing: 'E_BUNDLE_NOT_FOUND', tooLarge: 'E_MANIFEST_TOO_LARGE' }
  })
}

type ChunkRead = { kind: 'ok', bytes: Uint8Array } | { kind: 'missing' } | { kind: 'size', actual: number } | { kind: 'special', what: string }

async function readChunk (path: string, size: number, buf: Buffer): Promise<ChunkRead> {
  let opened: OpenedRegularFile
  try {
    opened = await openRegularFile(path, { what: 'chunk file' })
  } catch (err) {
    if (isStoremeshError(err, 'E_FILE_NOT_FOUND')) return { kind: 'missing' }
    if (isStoremeshError(err, 'E_FILE_NOT_REGULAR')) return { kind: 'special', what: String(err.meta.kind ?? 'special file') }
    throw err
  }
  const { fh, sizeBytes } = opened
  try {
    if (sizeBytes !== size) return { kind: 'size', actual: sizeBytes }
    let n = 0
    while (n < size) {
      const { bytesRead } = await fh.read(buf, n, size - n, n)
      if (bytesRead === 0) return { kind: 'size', actual: n }
      n += bytesRead
    }
    return { kind: 'ok', bytes: buf.subarray(0, size) }
  } finally {
    await fh.close()
  }
}

/** Verifies the manifest (throws) and then every chunk and artifact (problems). */
export async function verifyBundleDir (dir: string, trust: TrustOptions, options: VerifyOptions = {}): Promise<VerifyResult> {
  const { signal, onProgress } = options
  const info = decodeManifest(await readBundleJson(dir), trust)
  const body = info.manifest.signed
  const problems: VerifyProblem[] = []
  const add = (p: VerifyProblem): void => { if (problems.length < MAX_PROBLEMS) problems.push(p) }
  const totalBytes = body.artifacts.reduce((s, a) => s + a.size, 0)
  const maxChunk = body.artifacts.reduce((m, a) => a.chunks.reduce((mm, c) => Math.max(mm, c.size), m), 0)
  const buffers = Array.from({ length: READ_AHEAD }, () => Buffer.allocUnsafe(maxChunk))
  let checkedChunks = 0
  let checkedBytes = 0

  for (const a of body.artifacts) {
    const fileHasher = new Blake3Hasher()
    let intact = true
    const reads: Array<Promise<ChunkRead>> = []
    const start = (j: number): void => {
      const c = a.chunks[j]
      if (c === undefined) return
      const p = readChunk(chunkPathIn(dir, c.hash), c.size, buffers[j % READ_AHEAD] as Buffer)
      p.catch(() => {}) // awaited in order below
      reads[j % READ_AHEAD] = p
    }
    for (let j = 0; j < READ_AHEAD; j++) start(j)
    try {
      for (const [j, c] of a.chunks.entries()) {
        signal?.throwIfAborted()
        const r = await (reads[j % READ_AHEAD] as Promise<ChunkRead>)
        const where = `chunk ${j} of artifact ${a.name} (${c.hash})`
        if (r.kind === 'missing') {
          intact = false
          add({ code: 'E_CHUNK_MISSING', artifact: a.name, chunk: j, hash: c.hash, message: `${where} is missing` })
        } else if (r.kind === 'special') {
          // refused at open, never read: a FIFO would block and a device never end
          intact = false
          add({ code: 'E_FILE_NOT_REGULAR', artifact: a.name, chunk: j, hash: c.hash, message: `${where} is a ${r.what}, not a regular file` })
        } else if (r.kind === 'size') {
          intact = false
          add({ code: 'E_SIZE_MISMATCH', artifact: a.name, chunk: j, hash: c.hash, message: `${where} is ${r.actual} bytes, the manifest says ${c.size}` })
        } else {
          const got = blake3(r.bytes).toString('hex')
          if (got !== c.hash) {
            intact = false
            add({ code: 'E_CHUNK_HASH_MISMATCH', artifact: a.name, chunk: j, hash: c.hash, message: `${where} hashes to ${got}` })
          }
          if (intact) fileHasher.update(r.bytes)
          checkedBytes += c.size
        }
        checkedChunks++
        start(j + READ_AHEAD) // this chunk's buffer is free again
        onProgress?.(checkedBytes, totalBytes)
      }
    } finally {
      await Promise.allSettled(reads)
    }
    if (intact) {
      const got = fileHasher.digestBuffer().toString('hex')
      if (got !== a.blake3) {
        add({ code: 'E_ARTIFACT_HASH_MISMATCH', artifact: a.name, message: `artifact ${a.name} hashes to ${got}, the manifest says ${a.blake3}` })
      }
    }
  }
  return { info, problems, checkedChunks, checkedBytes }
}
