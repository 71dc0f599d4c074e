/**
 * The signed index of one device class's bundles (protocols/origin/SPEC.md "Index"):
 * the same `{signed, signatures}` envelope as a manifest, over a body that lists the
 * bundles newest first. A super hub answers "newest bundle for class X" from it, and
 * refuses an index older than one it has read (`version` only grows), so a stale CDN
 * copy cannot roll a class back.
 */
import semver from 'semver'
import { z } from 'zod'
import { canonicalize } from '../bundle/canonical.js'
import { assertEnvelopeShape, signEnvelope, verifyEnvelope } from '../bundle/envelope.js'
import type { SigningKey } from '../bundle/keys.js'
import { StoremeshError } from '../interface/errors.js'
import { BUNDLE_ID_RE } from '../interface/ids.js'
import type { BundleInfo, Envelope, TrustOptions } from '../interface/types.js'
import { MAX_INDEX_BUNDLES, MAX_INDEX_BYTES, ORIGIN_INDEX_SPEC_VERSION, ORIGIN_INDEX_TYPE } from './constants.js'

const entrySchema = z.strictObject({
  id: z.string().regex(BUNDLE_ID_RE),
  name: z.string().max(128),
  version: z.string().max(64).refine(v => semver.valid(v) !== null, 'not a semver version'),
  created: z.string().max(40),
  expires: z.string().max(40),
  totalBytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)
})

const bodySchema = z.strictObject({
  type: z.literal(ORIGIN_INDEX_TYPE),
  specVersion: z.literal(ORIGIN_INDEX_SPEC_VERSION),
  deviceClass: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/),
  version: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  bundles: z.array(entrySchema).max(MAX_INDEX_BUNDLES)
})

export type IndexEntry = z.infer<typeof entrySchema>
export type OriginIndexBody = z.infer<typeof bodySchema>
export type SignedOriginIndex = Envelope<OriginIndexBody>

/** Newest first: higher semver, then later `created`, then id (a total order, so publishing is deterministic). */
export function compareEntries (a: IndexEntry, b: IndexEntry): number {
  return semver.rcompare(a.version, b.version) || b.created.localeCompare(a.created) || a.id.localeCompare(b.id)
}

export function entryOf (info: BundleInfo): IndexEntry {
  const s = info.manifest.signed
  return { id: info.id, name: s.name, version: s.version, created: s.created, expires: s.expires, totalBytes: info.totalBytes }
}

/**
 * The index after adding `info`: undefined when it lists the bundle already (publishing
 * again changes nothing, so the file is not rewritten).
 */
export function indexWith (previous: OriginIndexBody | undefined, info: BundleInfo): OriginIndexBody | undefined {
  if (previous?.bundles.some(b => b.id === info.id) === true) return undefined
  const bundles = [...(previous?.bundles ?? []), entryOf(info)].sort(compareEntries).slice(0, MAX_INDEX_BUNDLES)
  return {
    type: ORIGIN_INDEX_TYPE,
    specVersion: ORIGIN_INDEX_SPEC_VERSION,
    deviceClass: info.manifest.signed.deviceClass,
    version: (previous?.version ?? 0) + 1,
    bundles
  }
}

export function signIndex (body: OriginIndexBody, keys: SigningKey[]): Uint8Array {
  return canonicalize(signEnvelope(body, keys))
}

/** Bytes to a parsed index without checking signatures (the publisher reads its own). */
export function parseIndex (bytes: Uint8Array): SignedOriginIndex {
  if (bytes.byteLength > MAX_INDEX_BYTES) {
    throw new StoremeshError('E_MANIFEST_TOO_LARGE', `origin index is ${bytes.byteLength} bytes, limit ${MAX_INDEX_BYTES}`)
  }
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch (err) {
    throw new StoremeshError('E_MANIFEST_INVALID', 'origin index is not valid UTF-8 JSON', {}, { cause: err })
  }
  assertEnvelopeShape(json)
  const r = bodySchema.safeParse(json.signed)
  if (!r.success) {
    const issue = r.error.issues[0]
    throw new StoremeshError('E_MANIFEST_INVALID', `origin index ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`)
  }
  return { signed: r.data, signatures: json.signatures }
}

/** Parses and checks the signatures against the trust keys; `deviceClass` must be the one asked for. */
export function decodeIndex (bytes: Uint8Array, trust: TrustOptions, deviceClass: string): OriginIndexBody {
  const env = parseIndex(bytes)
  verifyEnvelope(env, trust)
  if (env.signed.deviceClass !== deviceClass) {
    throw new StoremeshError('E_MANIFEST_INVALID', `origin index names class ${env.signed.deviceClass}, asked for ${deviceClass}`)
  }
  return env.signed
}

/** The newest bundle the index lists that has not expired at `nowMs`. */
export function newestEntry (body: OriginIndexBody, nowMs: number): IndexEntry | undefined {
  return [...body.bundles].filter(b => Date.parse(b.expires) > nowMs).sort(compareEntries)[0]
}
