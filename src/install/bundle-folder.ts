/**
 * The lab layout of `storemesh policy explain`: a bundle kept as a folder,
 * `<data>/bundles/<id>/bundle.json` with its chunks beside it, read, signature-checked
 * and counted (an installed device keeps chunks in its store instead; see
 * src/roles/device-decision.ts).
 */
import { stat } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { MAX_MANIFEST_BYTES, parseManifestJson } from '../bundle/manifest.js'
import { blake3Hex } from '../bundle/hash.js'
import { bundleJsonPath, chunkPathIn } from '../bundle/layout.js'
import { StoremeshError } from '../interface/errors.js'
import { openRegularFile, readRegularFile } from '../interface/regular-file.js'
import type { ChunkRef, DeviceFacts, TrustOptions } from '../interface/types.js'
import { verifiedBundleFromJson, type VerifiedBundle } from '../policy/decide.js'
import { BUNDLES_DIR, readJsonIfPresent } from './facts.js'

/** Chunk presence (and, with verify, their BLAKE3) in a bundle folder; a bad chunk counts as missing. */
export async function checkBundleFolder (dir: string, pieces: readonly ChunkRef[], opts: { verify?: boolean, signal?: AbortSignal } = {}): Promise<DeviceFacts['bundle']> {
  const verify = opts.verify ?? true
  let missing = 0
  for (const p of pieces) {
    if (opts.signal?.aborted === true) throw new StoremeshError('E_ABORTED', 'bundle check aborted')
    const path = chunkPathIn(dir, p.hash)
    try {
      // a FIFO or device in place of a chunk is refused at open, never read
      const { fh, sizeBytes } = await openRegularFile(path)
      await fh.close()
      if (sizeBytes !== p.size) { missing++; continue }
      if (verify && blake3Hex(await readRegularFile(path, { maxBytes: p.size })) !== p.hash) missing++
    } catch {
      missing++
    }
  }
  const complete = missing === 0
  return { complete, verified: complete && verify, missingChunks: missing, totalChunks: pieces.length }
}

/** `<data>/bundles/<b3:hex>/bundle.json`, or `<data>/bundles/<hex>/bundle.json`; the first that exists. */
export async function findBundleJson (dataDir: string, bundleId: string): Promise<string | undefined> {
  for (const name of [bundleId, bundleId.replace(/^b3:/, '')]) {
    const p = bundleJsonPath(join(dataDir, BUNDLES_DIR, name))
    try {
      await stat(p)
      return p
    } catch {}
  }
  return undefined
}

export interface BundleFolder {
  /** parsed, hashed and signature-checked once */
  bundle: VerifiedBundle
  manifestPath: string
  /** chunk presence beside the manifest; undefined when not asked for */
  state?: DeviceFacts['bundle'] | undefined
}

export interface ReadBundleFolderOptions {
  /** a bundle.json the operator named (must exist); default: the policy's bundle under `<data>/bundles/` */
  manifestPath?: string | undefined
  /** check the chunks beside the manifest (default true) */
  checkChunks?: boolean | undefined
  signal?: AbortSignal | undefined
}

/**
 * The lab layout of `policy explain`: the bundle the policy names as a folder
 * (`<data>/bundles/<id>/bundle.json` and chunks/), or the bundle.json named. undefined
 * when there is none.
 */
export async function readBundleFolder (dataDir: string, bundleId: string | undefined, trust: TrustOptions,
  opts: ReadBundleFolderOptions = {}): Promise<BundleFolder | undefined> {
  const manifestPath = opts.manifestPath ?? (bundleId !== undefined ? await findBundleJson(dataDir, bundleId) : undefined)
  if (manifestPath === undefined) return undefined
  const raw = await readJsonIfPresent(manifestPath, parseManifestJson,
    { maxBytes: MAX_MANIFEST_BYTES, tooLarge: 'E_MANIFEST_TOO_LARGE' }, opts.manifestPath !== undefined)
  if (raw === undefined) return undefined
  const bundle = verifiedBundleFromJson(raw, trust)
  if (opts.checkChunks === false) return { bundle, manifestPath }
  const state = await checkBundleFolder(dirname(resolve(manifestPath)), bundle.info.pieces, { signal: opts.signal })
  return { bundle, manifestPath, state }
}
