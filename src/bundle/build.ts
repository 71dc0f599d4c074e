/**
 * `bundle build`: artifacts in, a signed bundle folder out (protocols/bundle/SPEC.md).
 * Each artifact streams through FastCDC and BLAKE3 in bounded memory (file-chunker.ts);
 * every unique chunk lands in `chunks/`; `bundle.json` is written last, so a folder
 * with a manifest is a finished one.
 */
import { open, mkdir } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { writeFileAtomic } from '../interface/atomic-file.js'
import { StoremeshError } from '../interface/errors.js'
import type { ArtifactEntry, BundleInfo, ChunkingParams, ManifestBody, SignedManifest } from '../interface/types.js'
import { ChunkDirWriter } from './chunk-writer.js'
import { signEnvelope } from './envelope.js'
import { chunkingParams } from './fastcdc.js'
import { FileChunker, type FileChunkerOptions } from './file-chunker.js'
import type { SigningKey } from './keys.js'
import { BUNDLE_JSON } from './layout.js'
import {
  bundleInfo, encodeManifest, isSafeArtifactName, MANIFEST_TYPE, MAX_ARTIFACTS, MAX_MANIFEST_BYTES,
  parseManifestBody, SPEC_VERSION
} from './manifest.js'

export interface BuildProgress {
  artifact: string
  /** bytes of this artifact done, and its size */
  artifactBytes: number
  artifactTotalBytes: number
  /** bytes of all artifacts done, and their sum */
  doneBytes: number
  totalBytes: number
}

export interface ManifestFields {
  name: string
  version: string
  deviceClass: string
  cycle?: string
  osVariant?: string
  requiresConfig?: string
  /** ISO 8601 or a Date */
  expiresAt: Date | string
}

export interface BuildOptions extends ManifestFields {
  /** artifact files; each is named in the bundle by its base name */
  artifacts: string[]
  keys: SigningKey[]
  outDir: string
  chunking?: Partial<Omit<ChunkingParams, 'algorithm'>>
  onProgress?: (p: BuildProgress) => void
  signal?: AbortSignal
  /** the manifest's `created` time; tests and test vectors fix it. @default new Date() */
  now?: Date
  /** tuning of the streaming chunker (read size, slots, hash worker) */
  chunker?: Omit<FileChunkerOptions, 'chunking'>
}

function isoOf (d: Date | string, what: string): string {
  const ms = typeof d === 'string' ? Date.parse(d) : d.getTime()
  if (Number.isNaN(ms)) throw new StoremeshError('E_INVALID_ARGUMENT', `${what} is not a valid date: ${String(d)}`)
  return new Date(ms).toISOString()
}

/** The manifest body for these fields and artifacts; validated like a received one. */
export function manifestBodyOf (fields: ManifestFields, chunking: ChunkingParams, artifacts: ArtifactEntry[],
  created: Date): ManifestBody {
  const body: ManifestBody = {
    type: MANIFEST_TYPE,
    specVersion: SPEC_VERSION,
    name: fields.name,
    version: fields.version,
    ...(fields.cycle !== undefined ? { cycle: fields.cycle } : {}),
    deviceClass: fields.deviceClass,
    ...(fields.osVariant !== undefined ? { osVariant: fields.osVariant } : {}),
    ...(fields.requiresConfig !== undefined ? { requiresConfig: fields.requiresConfig } : {}),
    created: created.toISOString(),
    expires: isoOf(fields.expiresAt, 'expiresAt'),
    chunking,
    artifacts
  }
  return parseManifestBody(body)
}

/** Names as they will appear in the manifest; refuses escapes and duplicates. */
export function artifactNames (paths: string[]): string[] {
  if (paths.length === 0) throw new StoremeshError('E_USAGE', 'at least one artifact is needed')
  if (paths.length > MAX_ARTIFACTS) throw new StoremeshError('E_USAGE', `at most ${MAX_ARTIFACTS} artifacts`)
  const seen = new Set<string>()
  return paths.map(p => {
    const name = basename(p)
    if (!isSafeArtifactName(name) || name === '.' || name === '..') {
      throw new StoremeshError('E_PATH_ESCAPE', `artifact name would escape the bundle folder: ${JSON.stringify(name)}`, { path: p })
    }
    if (seen.has(name)) throw new StoremeshError('E_INVALID_ARGUMENT', `two artifacts named ${name}`, { artifact: name })
    seen.add(name)
    return name
  })
}

export async function buildBundle (opts: BuildOptions): Promise<BundleInfo> {
  const { signal } = opts
  if (opts.keys.length === 0) throw new StoremeshError('E_USAGE', 'at least one signing key is needed')
  const names = artifactNames(opts.artifacts)
  const params = chunkingParams(opts.chunking)
  const created = opts.now ?? new Date()
  // Check every field before hours of hashing: a placeholder artifact stands in.
  const probe = manifestBodyOf(opts, params, [{ name: names[0] as string, size: 0, blake3: '0'.repeat(64), chunks: [] }], created)
  if (Date.parse(probe.expires) <= created.getTime()) {
    throw new StoremeshError('E_INVALID_ARGUMENT', `expiry ${probe.expires} is not after the build time ${probe.created}`)
  }

  const sizes: number[] = []
  for (const p of opts.artifacts) {
    const fh = await open(p, 'r').catch((err: unknown) => {
      throw new StoremeshError('E_FILE_NOT_FOUND', `cannot open artifact ${p}`, { path: p }, { cause: err })
    })
    try {
      const st = await fh.stat()
      if (!st.isFile()) throw new StoremeshError('E_INVALID_ARGUMENT', `${p} is not a regular file`, { path: p })
      sizes.push(st.size)
    } finally {
      await fh.close()
    }
  }
  const totalBytes = sizes.reduce((a, b) => a + b, 0)

  await mkdir(opts.outDir, { recursive: true })
  const writer = new ChunkDirWriter(opts.outDir)
  await writer.init()
  const chunker = new FileChunker({ ...opts.chunker, chunking: params })
  const artifacts: ArtifactEntry[] = []
  let doneBytes = 0
  try {
    for (const [i, path] of opts.artifacts.entries()) {
      const name = names[i] as string
      const artifactTotalBytes = sizes[i] as number
      let artifactBytes = 0
      const r = await chunker.chunkFile(path, {
        signal,
        onChunk: async c => await writer.write(c.hash, c.data),
        onBytes: n => {
          artifactBytes += n
          doneBytes += n
          opts.onProgress?.({ artifact: name, artifactBytes, artifactTotalBytes, doneBytes, totalBytes })
        }
      })
      artifacts.push({ name, size: r.size, blake3: r.blake3, chunks: r.chunks })
    }
  } finally {
    await chunker.close()
  }

  signal?.throwIfAborted()
  const body = manifestBodyOf(opts, params, artifacts, created)
  const env: SignedManifest = signEnvelope(body, opts.keys)
  const bytes = encodeManifest(env)
  if (bytes.length > MAX_MANIFEST_BYTES) {
    throw new StoremeshError('E_MANIFEST_TOO_LARGE',
      `the manifest would be ${bytes.length} bytes, over the ${MAX_MANIFEST_BYTES} limit: use fewer or larger chunks`)
  }
  await writeFileAtomic(join(opts.outDir, BUNDLE_JSON), bytes)
  return bundleInfo(env)
}
