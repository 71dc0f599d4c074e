/**
 * Small signed bundles for chunk-store tests: fixed-size chunks (the store does not
 * care how chunks were cut), deterministic bytes from a seed, a real Ed25519
 * signature, and an optional bundle folder in the layout of src/bundle/layout.ts.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { signEnvelope } from '../../src/bundle/envelope.js'
import { blake3Hex } from '../../src/bundle/hash.js'
import { signingKeyFromSeed, type PrivateSigningKey } from '../../src/bundle/keys.js'
import { bundleJsonPath, chunkPathIn } from '../../src/bundle/layout.js'
import { bundleInfo, encodeManifest } from '../../src/bundle/manifest.js'
import type { ArtifactEntry, BundleInfo, ManifestBody, TrustOptions } from '../../src/interface/types.js'

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

export interface FixtureOptions {
  artifacts: FixtureArtifact[]
  chunkBytes: number
  name?: string
  version?: string
  deviceClass?: string
  key?: PrivateSigningKey
}

export function makeBundle (opts: FixtureOptions): FixtureBundle {
  const chunks = new Map<string, Uint8Array>()
  const entries: ArtifactEntry[] = opts.artifacts.map(a => {
    const refs = []
    for (let off = 0; off < a.bytes.length; off += opts.chunkBytes) {
      const piece = a.bytes.subarray(off, Math.min(off + opts.chunkBytes, a.bytes.length))
      const hash = blake3Hex(piece)
      chunks.set(hash, piece)
      refs.push({ hash, size: piece.length })
    }
    return { name: a.name, size: a.bytes.length, blake3: blake3Hex(a.bytes), chunks: refs }
  })
  const chunkSize = Math.max(64, opts.chunkBytes)
  const body: ManifestBody = {
    type: 'storemesh/bundle',
    specVersion: 1,
    name: opts.name ?? 'pos-os',
    version: opts.version ?? '1.0.0',
    deviceClass: opts.deviceClass ?? 'pos',
    created: '2026-01-01T00:00:00.000Z',
    expires: '2099-01-01T00:00:00.000Z',
    chunking: { algorithm: 'fastcdc', minBytes: 64, avgBytes: chunkSize, maxBytes: chunkSize },
    artifacts: entries
  }
  const env = signEnvelope(body, [opts.key ?? FIXTURE_KEY])
  return { info: bundleInfo(env), artifacts: opts.artifacts, chunks }
}

/** A one-artifact bundle of `chunkCount` chunks of `chunkBytes` from `seed`. */
export function simpleBundle (seed: number, chunkCount: number, chunkBytes: number, extra: Partial<FixtureOptions> = {}): FixtureBundle {
  return makeBundle({ artifacts: [{ name: 'image.bin', bytes: seededBytes(chunkCount * chunkBytes, seed) }], chunkBytes, ...extra })
}

/** Writes `<dir>/bundle.json` and `<dir>/chunks/<2hex>/<hash>`. */
export async function writeBundleDir (dir: string, fixture: FixtureBundle): Promise<void> {
  await mkdir(dir, { recursive: true })
  await writeFile(bundleJsonPath(dir), encodeManifest(fixture.info.manifest))
  for (const [hash, bytes] of fixture.chunks) {
    const p = chunkPathIn(dir, hash)
    await mkdir(dirname(p), { recursive: true })
    await writeFile(p, bytes)
  }
}

/** A fresh temp dir removed at teardown (t.testdir() returns one dir per test, wiped on each call). */
export async function tempDir (t: { teardown: (fn: () => Promise<void>) => void }, prefix = 'storemesh-store-'): Promise<string> {
  const { mkdtemp, rm } = await import('node:fs/promises')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const dir = await mkdtemp(join(tmpdir(), prefix))
  t.teardown(async () => await rm(dir, { recursive: true, force: true }))
  return dir
}
