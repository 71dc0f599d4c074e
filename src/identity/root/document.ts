/**
 * Root documents (protocols/root/SPEC.md "Root document"): the keys trusted per role,
 * a threshold per role, a version and an expiry, in the same TUF-style envelope and
 * canonical JSON as manifests. Building, signing and strict decoding live here; what
 * a node accepts (the chain rules) is chain.ts.
 */
import { z } from 'zod'
import { canonicalize } from '../../bundle/canonical.js'
import { keyIdOf, type SigningKey } from '../../bundle/keys.js'
import { isStoremeshError, StoremeshError } from '../../interface/errors.js'
import { parseStrictJson } from '../../interface/strict-json.js'
import type { Envelope, Signature, TrustedKey } from '../../interface/types.js'
import { parseWireMessage } from '../../net/json-message.js'
import { isoTimeSchema } from '../certificate.js'
import { timeMs } from '../signed.js'
import {
  MAX_ROOT_BYTES, MAX_ROOT_KEYS, MAX_ROOT_LIFETIME_MS, MAX_ROOT_SIGNATURES, ROOT_ROLES, ROOT_SPEC_VERSION, ROOT_TYPE, type RootRole
} from './constants.js'

export interface RootKey {
  keyid: string
  /** base64 (canonical, padded) of the raw 32-byte Ed25519 public key */
  publicKey: string
}

export interface RoleKeys {
  /** sorted, unique, each listed in `keys` */
  keyids: string[]
  threshold: number
}

export interface RootBody {
  type: typeof ROOT_TYPE
  specVersion: typeof ROOT_SPEC_VERSION
  version: number
  issuedAt: string
  expiresAt: string
  /** sorted by keyid */
  keys: RootKey[]
  roles: Record<RootRole, RoleKeys>
}

export type RootDocument = Envelope<RootBody>

const KEYID_RE = /^[0-9a-f]{32}$/
/** Base64 of 32 bytes: 43 characters, the last with its 2 unused bits zero, then `=`. */
const PUBLIC_KEY_B64_RE = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/
/** Base64 of 64 bytes: 86 characters, the last with its 4 unused bits zero, then `==`. */
const SIG_B64_RE = /^[A-Za-z0-9+/]{85}[AQgw]==$/

const sortedUnique = (xs: string[]): boolean => xs.every((x, i) => i === 0 || (xs[i - 1] as string) < x)

const roleSchema = z.strictObject({
  keyids: z.array(z.string().regex(KEYID_RE, 'malformed key id')).min(1, 'at least one key').max(MAX_ROOT_KEYS)
    .refine(sortedUnique, 'must be sorted and unique'),
  threshold: z.number().int().min(1).max(MAX_ROOT_KEYS)
}).refine(r => r.threshold <= r.keyids.length, { message: 'more than the role has keys', path: ['threshold'] })

const rootKeySchema = z.strictObject({
  keyid: z.string().regex(KEYID_RE, 'malformed key id'),
  publicKey: z.string().regex(PUBLIC_KEY_B64_RE, 'must be canonical base64 of 32 bytes')
}).refine(k => keyIdOf(new Uint8Array(Buffer.from(k.publicKey, 'base64'))) === k.keyid, { message: 'does not name this key', path: ['keyid'] })

const rolesSchema = z.strictObject(Object.fromEntries(ROOT_ROLES.map(r => [r, roleSchema])) as Record<RootRole, typeof roleSchema>)

/** Exactly the members of SPEC.md "Root document", each well formed and consistent. */
export const rootBodySchema: z.ZodType<RootBody> = z.strictObject({
  type: z.literal(ROOT_TYPE),
  specVersion: z.literal(ROOT_SPEC_VERSION),
  version: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  issuedAt: isoTimeSchema,
  expiresAt: isoTimeSchema,
  keys: z.array(rootKeySchema).min(1).max(MAX_ROOT_KEYS).refine(ks => sortedUnique(ks.map(k => k.keyid)), 'must be sorted by key id and unique'),
  roles: rolesSchema
}).superRefine((b, ctx) => {
  if (timeMs(b.expiresAt) <= timeMs(b.issuedAt)) ctx.addIssue({ code: 'custom', message: 'must be after issuedAt', path: ['expiresAt'] })
  const listed = new Set(b.keys.map(k => k.keyid))
  const used = new Set<string>()
  for (const role of ROOT_ROLES) {
    for (const id of b.roles[role].keyids) {
      used.add(id)
      if (!listed.has(id)) ctx.addIssue({ code: 'custom', message: `key ${id} is not in keys`, path: ['roles', role, 'keyids'] })
    }
  }
  // an unused key is extraneous: it changes nothing a verifier decides, so it is malleability
  for (const id of listed) if (!used.has(id)) ctx.addIssue({ code: 'custom', message: `key ${id} serves no role`, path: ['keys'] })
}) as unknown as z.ZodType<RootBody>

const signatureSchema = z.strictObject({
  keyid: z.string().regex(KEYID_RE, 'malformed key id'),
  sig: z.string().regex(SIG_B64_RE, 'must be canonical base64 of 64 bytes')
})

/** Signatures may be none while a root is passed between signers (`root sign`); verifying needs thresholds. */
export const rootDocumentSchema: z.ZodType<RootDocument> = z.strictObject({
  signed: rootBodySchema,
  signatures: z.array(signatureSchema).max(MAX_ROOT_SIGNATURES)
    .refine(ss => new Set(ss.map(s => s.keyid)).size === ss.length, 'one signature per key')
}) as unknown as z.ZodType<RootDocument>

/** A value against `schema`, E_ROOT_INVALID naming the first problem. */
export function parseRootValue<T> (schema: z.ZodType<T>, value: unknown, label: string): T {
  try {
    return parseWireMessage(schema, value, label)
  } catch (err) {
    if (!isStoremeshError(err, 'E_WIRE_MALFORMED')) throw err
    throw new StoremeshError('E_ROOT_INVALID', err.message, err.meta)
  }
}

/** Size limit, then strict JSON (no BOM, no trailing data), as E_ROOT_INVALID. */
export function parseRootJson (bytes: Uint8Array, maxBytes: number, label: string): unknown {
  if (bytes.byteLength > maxBytes) {
    throw new StoremeshError('E_ROOT_INVALID', `${label} of ${bytes.byteLength} bytes, limit ${maxBytes}`, { bytes: bytes.byteLength, maxBytes })
  }
  try {
    return parseStrictJson(bytes, label)
  } catch (err) {
    if (!isStoremeshError(err)) throw err
    throw new StoremeshError('E_ROOT_INVALID', err.message, err.meta)
  }
}

export function parseRoot (value: unknown): RootDocument {
  return parseRootValue(rootDocumentSchema, value, 'root')
}

/** Bytes to a well-formed root; trusts nothing yet. E_ROOT_INVALID. */
export function decodeRoot (bytes: Uint8Array): RootDocument {
  return parseRoot(parseRootJson(bytes, MAX_ROOT_BYTES, 'root'))
}

/** Canonical JSON of the envelope: the bytes of a file and of the wire. */
export function encodeRoot (root: RootDocument): Uint8Array {
  return canonicalize(root)
}

/** The trusted keys of one role. */
export function roleKeysOf (body: RootBody, role: RootRole): TrustedKey[] {
  const byId = new Map(body.keys.map(k => [k.keyid, k]))
  return body.roles[role].keyids.map(id => ({ keyid: id, publicKey: new Uint8Array(Buffer.from((byId.get(id) as RootKey).publicKey, 'base64')) }))
}

export interface RootFields {
  version: number
  /** per role: the public keys and the threshold */
  roles: Record<RootRole, { keys: readonly TrustedKey[], threshold: number }>
  /** @default now */
  issuedAt?: Date
  expiresAt: Date
}

/** A root body from keys per role; refuses what a verifier would refuse as malformed. */
export function buildRootBody (fields: RootFields): RootBody {
  const issuedAt = fields.issuedAt ?? new Date()
  if (fields.expiresAt.getTime() - issuedAt.getTime() > MAX_ROOT_LIFETIME_MS) {
    throw new StoremeshError('E_INVALID_ARGUMENT', `a root may live at most ${MAX_ROOT_LIFETIME_MS / 86_400_000} days`)
  }
  const keys = new Map<string, RootKey>()
  const roles = {} as Record<RootRole, RoleKeys>
  for (const role of ROOT_ROLES) {
    const r = fields.roles[role]
    for (const k of r.keys) keys.set(k.keyid, { keyid: k.keyid, publicKey: Buffer.from(k.publicKey).toString('base64') })
    roles[role] = { keyids: [...new Set(r.keys.map(k => k.keyid))].sort(), threshold: r.threshold }
  }
  const body: RootBody = {
    type: ROOT_TYPE,
    specVersion: ROOT_SPEC_VERSION,
    version: fields.version,
    issuedAt: issuedAt.toISOString(),
    expiresAt: fields.expiresAt.toISOString(),
    keys: [...keys.values()].sort((a, b) => (a.keyid < b.keyid ? -1 : 1)),
    roles
  }
  return parseRootValue(rootBodySchema, body, 'root')
}

/**
 * Adds signatures by `keys` over the canonical body (replacing a key's earlier one), so
 * the old root keys and the new ones can sign in separate steps and places.
 */
export function addRootSignatures (root: RootDocument, keys: readonly SigningKey[]): RootDocument {
  const bytes = canonicalize(root.signed)
  const mine = new Map<string, Signature>(root.signatures.map(s => [s.keyid, s]))
  for (const k of keys) mine.set(k.keyid, { keyid: k.keyid, sig: Buffer.from(k.sign(bytes)).toString('base64') })
  const out: RootDocument = { signed: root.signed, signatures: [...mine.values()].sort((a, b) => (a.keyid < b.keyid ? -1 : 1)) }
  return parseRoot(out)
}

export function signRoot (body: RootBody, keys: readonly SigningKey[]): RootDocument {
  return addRootSignatures({ signed: body, signatures: [] }, keys)
}
