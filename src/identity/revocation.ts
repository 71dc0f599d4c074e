/**
 * Revocation lists (protocols/identity/SPEC.md "Revocation list"): signed by the
 * enrolment key, numbered by `version`, naming revoked certificate serials and peer
 * ids. A node keeps the newest list it has verified; an older one never replaces it.
 */
import { z } from 'zod'
import { canonicalize } from '../bundle/canonical.js'
import { signEnvelope } from '../bundle/envelope.js'
import type { SigningKey } from '../bundle/keys.js'
import { StoremeshError } from '../interface/errors.js'
import type { Envelope } from '../interface/types.js'
import { IDENTITY_SPEC_VERSION, MAX_REVOCATION_LIST_BYTES, MAX_REVOKED_ENTRIES, REVOCATION_LIST_TYPE, SERIAL_RE } from './constants.js'
import { isoTimeSchema, peerIdSchema } from './certificate.js'
import { envelopeSchema, parseSigned, parseSignedJson, verifySigned, type EnrolmentTrust, type SignedKind } from './signed.js'

export interface RevocationListBody {
  type: typeof REVOCATION_LIST_TYPE
  specVersion: typeof IDENTITY_SPEC_VERSION
  /** 1, 2, ...: a list replaces only lists of a lower version */
  version: number
  issuedAt: string
  /** revoked certificate serials, unique, sorted */
  serials: string[]
  /** revoked libp2p peer ids, unique, sorted */
  peerIds: string[]
}

export type RevocationList = Envelope<RevocationListBody>

export const REVOCATION_KIND: SignedKind = {
  label: 'revocation list',
  maxBytes: MAX_REVOCATION_LIST_BYTES,
  invalid: 'E_REVOCATION_INVALID',
  signature: 'E_REVOCATION_INVALID'
}

const unique = (xs: string[]): boolean => new Set(xs).size === xs.length

export const revocationListBodySchema: z.ZodType<RevocationListBody> = z.strictObject({
  type: z.literal(REVOCATION_LIST_TYPE),
  specVersion: z.literal(IDENTITY_SPEC_VERSION),
  version: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  issuedAt: isoTimeSchema,
  serials: z.array(z.string().regex(SERIAL_RE, 'malformed')).max(MAX_REVOKED_ENTRIES, `at most ${MAX_REVOKED_ENTRIES}`)
    .refine(unique, 'duplicate entry'),
  peerIds: z.array(peerIdSchema).max(MAX_REVOKED_ENTRIES, `at most ${MAX_REVOKED_ENTRIES}`).refine(unique, 'duplicate entry')
})

export const revocationListSchema = envelopeSchema(revocationListBodySchema)

export interface RevocationFields {
  version: number
  serials: Iterable<string>
  peerIds: Iterable<string>
  /** @default now */
  issuedAt?: Date
}

/** Signs a list; entries are de-duplicated and sorted so equal lists are equal bytes. */
export function signRevocationList (fields: RevocationFields, keys: SigningKey[]): RevocationList {
  const body: RevocationListBody = {
    type: REVOCATION_LIST_TYPE,
    specVersion: IDENTITY_SPEC_VERSION,
    version: fields.version,
    issuedAt: (fields.issuedAt ?? new Date()).toISOString(),
    serials: [...new Set(fields.serials)].sort(),
    peerIds: [...new Set(fields.peerIds)].sort()
  }
  const env = signEnvelope(parseSigned(revocationListBodySchema, body, REVOCATION_KIND), keys)
  if (encodeRevocationList(env).byteLength > MAX_REVOCATION_LIST_BYTES) {
    throw new StoremeshError('E_REVOCATION_INVALID', `revocation list over ${MAX_REVOCATION_LIST_BYTES} bytes`)
  }
  return env
}

/** The next version of `current` with more entries, signed again (`identity revoke`). */
export function extendRevocationList (current: RevocationList | undefined, add: { serials?: Iterable<string>, peerIds?: Iterable<string> },
  keys: SigningKey[], issuedAt?: Date): RevocationList {
  const serials = [...(current?.signed.serials ?? []), ...(add.serials ?? [])]
  const peerIds = [...(current?.signed.peerIds ?? []), ...(add.peerIds ?? [])]
  return signRevocationList({ version: (current?.signed.version ?? 0) + 1, serials, peerIds, ...(issuedAt !== undefined ? { issuedAt } : {}) }, keys)
}

export function encodeRevocationList (list: RevocationList): Uint8Array {
  return canonicalize(list)
}

/** Strict shape check of a value (already JSON); trusts nothing yet. E_REVOCATION_INVALID. */
export function parseRevocationList (value: unknown): RevocationList {
  return parseSigned(revocationListSchema, value, REVOCATION_KIND)
}

export function decodeRevocationList (bytes: Uint8Array): RevocationList {
  return parseRevocationList(parseSignedJson(bytes, REVOCATION_KIND))
}

/** Shape and signature of a list from the wire or a file. E_REVOCATION_INVALID. */
export function verifyRevocationList (input: Uint8Array | RevocationList | unknown, keys: EnrolmentTrust): RevocationList {
  const list = input instanceof Uint8Array ? decodeRevocationList(input) : parseRevocationList(input)
  verifySigned(list, keys, REVOCATION_KIND)
  return list
}

/** A verified list as lookup sets. */
export interface RevocationSet {
  version: number
  serials: ReadonlySet<string>
  peerIds: ReadonlySet<string>
}

export const EMPTY_REVOCATIONS: RevocationSet = { version: 0, serials: new Set(), peerIds: new Set() }

export function revocationSetOf (list: RevocationList): RevocationSet {
  return { version: list.signed.version, serials: new Set(list.signed.serials), peerIds: new Set(list.signed.peerIds) }
}

/**
 * Which list is in force after `next` arrives: `next` when newer, `current` when the
 * same. Older: E_REVOCATION_ROLLBACK (a replayed list must not un-revoke anyone); the
 * same version with other entries: E_REVOCATION_INVALID (the issuer signed two lists
 * under one number).
 */
export function newerRevocationList (current: RevocationList | undefined, next: RevocationList): RevocationList {
  if (current === undefined) return next
  const a = current.signed
  const b = next.signed
  if (b.version < a.version) {
    throw new StoremeshError('E_REVOCATION_ROLLBACK', `revocation list version ${b.version} is older than ${a.version} in force`, { version: b.version, current: a.version })
  }
  if (b.version === a.version) {
    const key = (x: RevocationListBody): string => JSON.stringify([[...x.serials].sort(), [...x.peerIds].sort()])
    const same = key(a) === key(b)
    if (!same) throw new StoremeshError('E_REVOCATION_INVALID', `two different revocation lists of version ${b.version}`, { version: b.version })
    return current
  }
  return next
}
