/**
 * Sample bundles for tests, made one way (the four makers that lived in store-fixture,
 * swarm/helpers, policy/fixtures and lan-fixture now call these):
 *
 * - signedBundle(): a signed bundle in memory from chunk bytes you choose (any sizes,
 *   chunk reuse across versions), without the chunker; the store and the swarm do not
 *   care how chunks were cut.
 * - makeBundle() / simpleBundle(): the same from whole artifacts cut at a fixed size,
 *   from deterministic bytes.
 * - writeBundleDir(): any of those as a bundle folder (bundle/layout.ts).
 * - buildSeededBundle(): a bundle folder made by the real builder (FastCDC, the
 *   streaming hasher), for the tests that run the CLI or import what `bundle build` makes.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { buildBundle } from '../../src/bundle/build.js'
import { signEnvelope } from '../../src/bundle/envelope.js'
import { blake3Hex, StreamHasher } from '../../src/bundle/hash.js'
import { signingKeyFromSeed, type PrivateSigningKey, type SigningKey } from '../../src/bundle/keys.js'
import { bundleJsonPath, chunkPathIn } from '../../src/bundle/layout.js'
import { bundleInfo, encodeManifest } from '../../src/bundle/manifest.js'
import type { ArtifactEntry, BundleInfo, ChunkingParams, ManifestBody, TrustOptions } from '../../src/interface/types.js'

/** Deterministic pseudo-random bytes (xorshift32); different seeds give different data. */
export function seededBytes (length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length)
  let x = (seed * 2654435761) >>> 0 || 1
  for (let i = 0; i < length; i++) {
    x ^= x << 13; x >>>= 0
    x ^= x >>> 17
    x ^= x << 5; x >>>= 0
    out[i] = x & 0xff
  }
  return out
}

export const FIXTURE_KEY: PrivateSigningKey = signingKeyFromSeed(new Uint8Array(32).fill(7))
export const FIXTURE_TRUST: TrustOptions = { keys: [{ keyid: FIXTURE_KEY.keyid, publicKey: FIXTURE_KEY.publicKey }] }

export interface FixtureArtifact {
  name: string
  bytes: Uint8Array
}

export interface FixtureBundle {
  info: BundleInfo
  artifacts: FixtureArtifact[]
  /** every unique chunk's bytes by hash */
  chunks: Map<string, Uint8Array>
}

export interface SignedBundleOptions {
  /** each artifact as its chunks, in order */
  artifacts: Array<{ name: string, chunks: Uint8Array[] }>
  /** @default [FIXTURE_KEY] */
  keys?: SigningKey[]
  /** manifest fields over the defaults (name pos-os, 1.0.0, class pos, expires 2099) */
  body?: Partial<ManifestBody>
}

/** A signed bundle whose artifacts are exactly the given chunks; artifact hashes are real. */
export function signedBundle (opts: SignedBundleOptions): FixtureBundle {
  const chunks = new Map<string, Uint8Array>()
  const artifacts: FixtureArtifact[] = []
  const entries: ArtifactEntry[] = opts.artifacts.map(a => {
    const whole = new StreamHasher()
    const refs = a.chunks.map(piece => {
      const hash = blake3Hex(piece)
      chunks.set(hash, piece)
      whole.update(piece)
      return { hash, size: piece.length }
    })
    artifacts.push({ name: a.name, bytes: Buffer.concat(a.chunks) })
    return { name: a.name, size: refs.reduce((s, r) => s + r.size, 0), blake3: whole.digestHex(), chunks: refs }
  })
  const largest = Math.max(64, ...[...chunks.values()].map(c => c.length))
  const body: ManifestBody = {
    type: 'storemesh/bundle',
    specVersion: 1,
    name: 'pos-os',
    version: '1.0.0',
    deviceClass: 'pos',
    created: '2026-01-01T00:00:00.000Z',
    expires: '2099-01-01T00:00:00.000Z',
    chunking: { algorithm: 'fastcdc', minBytes: 64, avgBytes: largest, maxBytes: largest },
    artifacts: entries,
    ...opts.body
  }
  return { info: bundleInfo(signEnvelope(body, opts.keys ?? [FIXTURE_KEY])), artifacts, chunks }
}

export interface FixtureOptions {
  artifacts: FixtureArtifact[]
  chunkBytes: number
  name?: string
  version?: string
  deviceClass?: string
  key?: PrivateSigningKey
}

/** Whole artifacts cut every `chunkBytes` into a signed bundle. */
export function makeBundle (opts: FixtureOptions): FixtureBundle {
  const size = Math.max(64, opts.chunkBytes)
  const made = signedBundle({
    artifacts: opts.artifacts.map(a => {
      const pieces: Uint8Array[] = []
      for (let off = 0; off < a.bytes.length; off += opts.chunkBytes) pieces.push(a.bytes.subarray(off, Math.min(off + opts.chunkBytes, a.bytes.length)))
      return { name: a.name, chunks: pieces }
    }),
    keys: [opts.key ?? FIXTURE_KEY],
    body: {
      ...(opts.name !== undefined ? { name: opts.name } : {}),
      ...(opts.version !== undefined ? { version: opts.version } : {}),
      ...(opts.deviceClass !== undefined ? { deviceClass: opts.deviceClass } : {}),
      chunking: { algorithm: 'fastcdc', minBytes: 64, avgBytes: size, maxBytes: size }
    }
  })
  return { ...made, artifacts: opts.artifacts }
}

/** A one-artifact bundle of `chunkCount` chunks of `chunkBytes` from `seed`. */
export function simpleBundle (seed: number, chunkCount: number, chunkBytes: number, extra: Partial<FixtureOptions> = {}): FixtureBundle {
  return makeBundle({ artifacts: [{ name: 'image.bin', bytes: seededBytes(chunkCount * chunkBytes, seed) }], chunkBytes, ...extra })
}

/** Writes `<dir>/bundle.json` and `<dir>/chunks/<2hex>/<hash>`. */
export async function writeBundleDir (dir: string, fixture: Pick<FixtureBundle, 'info' | 'chunks'>): Promise<void> {
  await mkdir(dir, { recursive: true })
  await writeFile(bundleJsonPath(dir), encodeManifest(fixture.info.manifest))
  for (const [hash, bytes] of fixture.chunks) {
    const p = chunkPathIn(dir, hash)
    await mkdir(dirname(p), { recursive: true })
    await writeFile(p, bytes)
  }
}

export interface SeededBuildOptions {
  /** artifact files written into `srcDir` first, then built in this order */
  artifacts: Array<{ name: string, bytes: Uint8Array | string }>
  srcDir: string
  outDir: string
  name: string
  version: string
  deviceClass: string
  /** @default [FIXTURE_KEY] */
  keys?: PrivateSigningKey[]
  /** @default 1 day */
  expiresInMs?: number
  chunking?: Partial<Omit<ChunkingParams, 'algorithm'>>
}

/** Writes the artifacts and runs the real builder on them; the folder is `outDir`. */
export async function buildSeededBundle (opts: SeededBuildOptions): Promise<BundleInfo> {
  await mkdir(opts.srcDir, { recursive: true })
  const paths: string[] = []
  for (const a of opts.artifacts) {
    const path = join(opts.srcDir, a.name)
    await writeFile(path, a.bytes)
    paths.push(path)
  }
  return await buildBundle({
    artifacts: paths,
    keys: opts.keys ?? [FIXTURE_KEY],
    outDir: opts.outDir,
    name: opts.name,
    version: opts.version,
    deviceClass: opts.deviceClass,
    expiresAt: new Date(Date.now() + (opts.expiresInMs ?? 24 * 3600_000)),
    ...(opts.chunking !== undefined ? { chunking: opts.chunking } : {})
  })
}
