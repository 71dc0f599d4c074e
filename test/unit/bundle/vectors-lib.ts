/**
 * Computes the bundle format's test vectors (protocols/bundle/vectors.json) from the
 * recipe in protocols/bundle/SPEC.md section "Test vectors". `make-vectors.ts` writes
 * them; vectors.test.ts recomputes them and compares.
 */
import { canonicalize, canonicalString } from '../../../src/bundle/canonical.js'
import { signEnvelope } from '../../../src/bundle/envelope.js'
import { chunkSizes, GEAR, GEAR_SEED, masksFor } from '../../../src/bundle/fastcdc.js'
import { blake3Bytes, blake3Hex } from '../../../src/bundle/hash.js'
import { signingKeyFromSeed } from '../../../src/bundle/keys.js'
import { bundleIdOf, encodeManifest, infoHashOf } from '../../../src/bundle/manifest.js'
import { manifestBodyOf } from '../../../src/bundle/build.js'
import type { ArtifactEntry, ChunkingParams } from '../../../src/interface/types.js'

export const FIXTURE_DOMAIN = 'storemesh/test-vector/v1'
/** The test key's Ed25519 seed: bytes 0x00, 0x01, ..., 0x1f. */
export const VECTOR_KEY_SEED = Uint8Array.from({ length: 32 }, (_, i) => i)
export const VECTOR_CREATED = '2025-01-01T00:00:00.000Z'
export const VECTOR_EXPIRES = '2035-01-01T00:00:00.000Z'

export interface FixtureSpec { kind: 'blake3-counter' | 'zeros', label: string, sizeBytes: number }

export interface VectorCase {
  name: string
  fixture: FixtureSpec
  chunking: ChunkingParams
  /** the artifact entry of the fixture: name, size, whole-file blake3, chunks */
  artifact: ArtifactEntry
}

/**
 * 'blake3-counter': block i (i = 0, 1, ...) is BLAKE3(utf8(FIXTURE_DOMAIN + ":" + label)
 * || u32le(i)), 32 bytes; the fixture is the blocks joined, cut to sizeBytes.
 * 'zeros': sizeBytes zero bytes.
 */
export function fixtureBytes (f: FixtureSpec): Uint8Array {
  const out = new Uint8Array(f.sizeBytes)
  if (f.kind === 'zeros') return out
  const prefix = new TextEncoder().encode(`${FIXTURE_DOMAIN}:${f.label}`)
  const input = new Uint8Array(prefix.length + 4)
  input.set(prefix)
  const view = new DataView(input.buffer)
  for (let i = 0, off = 0; off < f.sizeBytes; i++, off += 32) {
    view.setUint32(prefix.length, i, true)
    out.set(blake3Bytes(input).subarray(0, Math.min(32, f.sizeBytes - off)), off)
  }
  return out
}

export function artifactOf (name: string, bytes: Uint8Array, chunking: ChunkingParams): ArtifactEntry {
  const chunks = []
  let off = 0
  for (const size of chunkSizes(bytes, chunking)) {
    chunks.push({ hash: blake3Hex(bytes.subarray(off, off + size)), size })
    off += size
  }
  return { name, size: bytes.length, blake3: blake3Hex(bytes), chunks }
}

const SMALL_CHUNKING: ChunkingParams = { algorithm: 'fastcdc', minBytes: 1024, avgBytes: 4096, maxBytes: 16384 }
const DEFAULT_CHUNKING: ChunkingParams = { algorithm: 'fastcdc', minBytes: 65536, avgBytes: 262144, maxBytes: 1048576 }

export const CASES: Array<{ name: string, fixture: FixtureSpec, chunking: ChunkingParams }> = [
  { name: 'small.bin', fixture: { kind: 'blake3-counter', label: 'small', sizeBytes: 65536 }, chunking: SMALL_CHUNKING },
  { name: 'default.bin', fixture: { kind: 'blake3-counter', label: 'default', sizeBytes: 3 * 1024 * 1024 + 12345 }, chunking: DEFAULT_CHUNKING },
  { name: 'zeros.bin', fixture: { kind: 'zeros', label: 'zeros', sizeBytes: 2 * 1024 * 1024 + 100 }, chunking: DEFAULT_CHUNKING }
]

function u32hex (n: number): string {
  return '0x' + (n >>> 0).toString(16).padStart(8, '0')
}

export function computeVectors (): Record<string, unknown> {
  const gearLe = new Uint8Array(1024)
  const gv = new DataView(gearLe.buffer)
  GEAR.forEach((g, i) => gv.setInt32(i * 4, g, true))

  const cases: VectorCase[] = CASES.map(c => ({
    name: c.name,
    fixture: c.fixture,
    chunking: c.chunking,
    artifact: artifactOf(c.name, fixtureBytes(c.fixture), c.chunking)
  }))

  // The manifest vector: the 'small' artifact alone, so the bundle's chunking matches.
  const key = signingKeyFromSeed(VECTOR_KEY_SEED)
  const fields = {
    name: 'vector-app',
    version: '1.0.0',
    deviceClass: 'pos',
    cycle: '2025.01',
    requiresConfig: '>=12.4.1',
    expiresAt: VECTOR_EXPIRES
  }
  const small = cases[0] as VectorCase
  const body = manifestBodyOf(fields, small.chunking, [small.artifact], new Date(VECTOR_CREATED))
  const env = signEnvelope(body, [key])
  const bundleId = bundleIdOf(env)
  const bundleJson = encodeManifest(env)

  return {
    description: 'Test vectors of protocols/bundle/SPEC.md; regenerate with `node --import tsx test/unit/bundle/make-vectors.ts`.',
    gear: {
      seed: GEAR_SEED,
      first8: Array.from(GEAR.subarray(0, 8), u32hex),
      last: u32hex(GEAR[255] as number),
      tableLeBlake3: blake3Hex(gearLe)
    },
    masks: [256, 4096, 65536, 262144, 1048576].map(avgBytes => {
      const m = masksFor(avgBytes)
      return { avgBytes, maskS: u32hex(m.maskS), maskL: u32hex(m.maskL) }
    }),
    key: {
      seedHex: Buffer.from(VECTOR_KEY_SEED).toString('hex'),
      publicKeyHex: Buffer.from(key.publicKey).toString('hex'),
      keyid: key.keyid
    },
    cases,
    manifest: {
      fields,
      created: VECTOR_CREATED,
      artifactCase: small.name,
      canonicalSignedBody: canonicalString(body),
      canonicalSignedBodyBlake3: blake3Hex(canonicalize(body)),
      signatures: env.signatures,
      bundleId,
      infoHashHex: Buffer.from(infoHashOf(bundleId)).toString('hex'),
      bundleJsonBlake3: blake3Hex(bundleJson),
      bundleJsonBytes: bundleJson.length
    }
  }
}
