/**
 * The bundle manifest: schema, limits, ids and verification (protocols/bundle/SPEC.md).
 * Everything from the network or disk passes through verifyManifest() or
 * decodeManifest(), which fail closed with a typed error.
 */
import semver from 'semver'
import { z } from 'zod'
import { StoremeshError } from '../interface/errors.js'
import { parseStrictJson } from '../interface/strict-json.js'
import type { BundleInfo, ChunkRef, ManifestBody, SignedManifest, TrustOptions } from '../interface/types.js'
import { canonicalize } from './canonical.js'
import { assertEnvelopeShape, verifyEnvelope } from './envelope.js'
import { blake3Bytes, BUNDLE_ID_PREFIX, HASH_HEX_RE } from './hash.js'

export const MANIFEST_TYPE = 'storemesh/bundle'
export const SPEC_VERSION = 1
/** A manifest of this size lists ~40k chunks, about 10 GiB at the default average. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024
export const MAX_ARTIFACTS = 256
export const MAX_CHUNK_BYTES_LIMIT = 16 * 1024 * 1024
export const INFO_HASH_BYTES = 20
export { BUNDLE_ID_PREFIX }

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

/** Relative path inside the bundle folder; `..`, `.`, empty segments, absolute paths and backslashes escape it. */
export function isSafeArtifactName (name: string): boolean {
  if (name.length === 0 || name.length > 255 || name.includes('\\') || name.includes('\0')) return false
  if (name.startsWith('/')) return false
  return name.split('/').every(seg => seg.length > 0 && seg !== '.' && seg !== '..')
}

const isoDate = z.string().max(40).refine(s => !Number.isNaN(Date.parse(s)), 'not an ISO 8601 date')

const chunkSchema = z.object({
  hash: z.string().regex(HASH_HEX_RE, 'not a 64-hex BLAKE3 hash'),
  size: z.number().int().min(1).max(MAX_CHUNK_BYTES_LIMIT)
}).strict()

const artifactSchema = z.object({
  name: z.string().max(255),
  size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  blake3: z.string().regex(HASH_HEX_RE, 'not a 64-hex BLAKE3 hash'),
  chunks: z.array(chunkSchema)
}).strict()

const bodySchema = z.object({
  type: z.literal(MANIFEST_TYPE),
  specVersion: z.literal(SPEC_VERSION),
  name: z.string().regex(NAME_RE),
  version: z.string().max(64).refine(v => semver.valid(v) !== null, 'not a semver version'),
  cycle: z.string().max(128).optional(),
  deviceClass: z.string().regex(NAME_RE),
  osVariant: z.string().max(128).optional(),
  requiresConfig: z.string().max(256).refine(r => semver.validRange(r) !== null, 'not a semver range').optional(),
  created: isoDate,
  expires: isoDate,
  chunking: z.object({
    algorithm: z.literal('fastcdc'),
    minBytes: z.number().int().min(64).max(MAX_CHUNK_BYTES_LIMIT),
    avgBytes: z.number().int().min(64).max(MAX_CHUNK_BYTES_LIMIT),
    maxBytes: z.number().int().min(64).max(MAX_CHUNK_BYTES_LIMIT)
  }).strict(),
  artifacts: z.array(artifactSchema).min(1).max(MAX_ARTIFACTS)
}).strict()

/** Validates a manifest body: schema, path safety, and that sizes agree with chunks. */
export function parseManifestBody (x: unknown): ManifestBody {
  const r = bodySchema.safeParse(x)
  if (!r.success) {
    const issue = r.error.issues[0]
    const path = issue?.path.join('.') ?? ''
    throw new StoremeshError('E_MANIFEST_INVALID', `manifest ${path}: ${issue?.message ?? 'invalid'}`, { field: path })
  }
  const body = r.data as ManifestBody
  const { minBytes, avgBytes, maxBytes } = body.chunking
  if (!(minBytes <= avgBytes && avgBytes <= maxBytes)) {
    throw new StoremeshError('E_MANIFEST_INVALID', 'chunking sizes must satisfy min <= avg <= max')
  }
  const names = new Set<string>()
  for (const a of body.artifacts) {
    if (!isSafeArtifactName(a.name)) {
      throw new StoremeshError('E_PATH_ESCAPE', `artifact name escapes the bundle folder: ${JSON.stringify(a.name)}`, { artifact: a.name })
    }
    if (names.has(a.name)) throw new StoremeshError('E_MANIFEST_INVALID', `duplicate artifact ${a.name}`, { artifact: a.name })
    names.add(a.name)
    let sum = 0
    for (const c of a.chunks) {
      if (c.size > maxBytes) {
        throw new StoremeshError('E_SIZE_MISMATCH', `chunk ${c.hash} is larger than the declared maxBytes`, { artifact: a.name })
      }
      sum += c.size
    }
    if (sum !== a.size) {
      throw new StoremeshError('E_SIZE_MISMATCH', `artifact ${a.name} declares ${a.size} bytes but its chunks sum to ${sum}`,
        { artifact: a.name, declared: a.size, chunks: sum })
    }
  }
  return body
}

export function bundleIdOf (env: SignedManifest): string {
  return BUNDLE_ID_PREFIX + Buffer.from(blake3Bytes(canonicalize(env.signed))).toString('hex')
}

export function infoHashOf (bundleId: string): Uint8Array {
  if (!bundleId.startsWith(BUNDLE_ID_PREFIX) || !HASH_HEX_RE.test(bundleId.slice(BUNDLE_ID_PREFIX.length))) {
    throw new StoremeshError('E_INVALID_ARGUMENT', `not a bundle id: ${bundleId}`)
  }
  return new Uint8Array(Buffer.from(bundleId.slice(BUNDLE_ID_PREFIX.length, BUNDLE_ID_PREFIX.length + INFO_HASH_BYTES * 2), 'hex'))
}

/** Unique chunks in first-appearance order: the swarm's pieces. */
export function uniqueChunks (body: ManifestBody): ChunkRef[] {
  const seen = new Set<string>()
  const out: ChunkRef[] = []
  for (const a of body.artifacts) {
    for (const c of a.chunks) {
      if (seen.has(c.hash)) continue
      seen.add(c.hash)
      out.push({ hash: c.hash, size: c.size })
    }
  }
  return out
}

/** Derives ids and pieces; does not check signatures (see verifyManifest). */
export function bundleInfo (env: SignedManifest): BundleInfo {
  const id = bundleIdOf(env)
  const pieces = uniqueChunks(env.signed)
  return {
    id,
    infoHash: infoHashOf(id),
    manifest: env,
    pieces,
    totalBytes: pieces.reduce((s, p) => s + p.size, 0)
  }
}

/** Schema, signatures against the trust keys, and expiry. */
export function verifyManifest (env: unknown, trust: TrustOptions): BundleInfo {
  assertEnvelopeShape(env, 'manifest')
  const signed = parseManifestBody(env.signed)
  const manifest: SignedManifest = { signed, signatures: env.signatures }
  verifyEnvelope(manifest, trust)
  const nowMs = trust.nowMs ?? Date.now()
  if (Date.parse(signed.expires) <= nowMs) {
    throw new StoremeshError('E_MANIFEST_EXPIRED', `manifest expired at ${signed.expires}`, { expires: signed.expires })
  }
  return bundleInfo(manifest)
}

export function parseManifestJson (bytes: Uint8Array): unknown {
  if (bytes.length > MAX_MANIFEST_BYTES) {
    throw new StoremeshError('E_MANIFEST_TOO_LARGE', `manifest is ${bytes.length} bytes, limit ${MAX_MANIFEST_BYTES}`)
  }
  return parseStrictJson(bytes, 'manifest', { code: 'E_MANIFEST_INVALID' })
}

/** Bytes from disk or the wire to a verified BundleInfo. */
export function decodeManifest (bytes: Uint8Array, trust: TrustOptions): BundleInfo {
  return verifyManifest(parseManifestJson(bytes), trust)
}

/** Serialised form for disk and wire: the envelope as JSON with the canonical body. */
export function encodeManifest (env: SignedManifest): Uint8Array {
  return canonicalize(env)
}
