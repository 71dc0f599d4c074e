/**
 * TUF-style signed envelope `{signed, signatures: [{keyid, sig}]}` (SPEC.md). The
 * signature covers the canonical bytes of `signed`. Signatures from unknown keys are
 * ignored; a trusted key whose signature does not verify means the body was edited.
 */
import { verify } from 'node:crypto'
import { isCanonicalBase64 } from '../interface/base64.js'
import { StoremeshError } from '../interface/errors.js'
import type { Envelope, Signature, TrustOptions } from '../interface/types.js'
import { canonicalize } from './canonical.js'
import { publicKeyObject, type SigningKey } from './keys.js'

export const MAX_SIGNATURES = 16
export const DEFAULT_THRESHOLD = 1

export function signEnvelope<T> (signed: T, keys: SigningKey[]): Envelope<T> {
  if (keys.length === 0) throw new StoremeshError('E_KEY_INVALID', 'at least one signing key is needed')
  const bytes = canonicalize(signed)
  const signatures: Signature[] = keys.map(k => ({ keyid: k.keyid, sig: Buffer.from(k.sign(bytes)).toString('base64') }))
  return { signed, signatures }
}

/** SPEC.md section 3: a key id is 32 lower-case hex characters. */
export const KEY_ID_RE = /^[0-9a-f]{32}$/
/** Longer than any honest signature (88 characters); bounds what the decoder looks at. */
export const MAX_SIG_CHARS = 512
const ENVELOPE_MEMBERS = ['signatures', 'signed']
const SIGNATURE_MEMBERS = ['keyid', 'sig']

function isPlainObject (x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === 'object' && !Array.isArray(x)
}

/** The first member of `x` not in `allowed`, or undefined. */
function unknownMember (x: Record<string, unknown>, allowed: readonly string[]): string | undefined {
  return Object.keys(x).find(k => !allowed.includes(k))
}

/**
 * Checks the envelope's shape exactly as SPEC.md section 4 says, without trusting
 * anything in it: the members `signed` and `signatures` and nothing else; at most
 * MAX_SIGNATURES entries of exactly the string members `keyid` (a key id) and `sig`
 * (canonical base64). Extra members change no verified byte, but each is
 * malleability: the same signed content under many encodings.
 */
export function assertEnvelopeShape (env: unknown, document = 'envelope'): asserts env is Envelope<unknown> {
  const invalid = (why: string, field: string): StoremeshError =>
    new StoremeshError('E_MANIFEST_INVALID', `${document} ${field}: ${why}`, { document, field })
  if (!isPlainObject(env) || !('signed' in env) || !Array.isArray(env.signatures)) {
    throw new StoremeshError('E_MANIFEST_INVALID', 'not a signed envelope {signed, signatures}', { document })
  }
  const extra = unknownMember(env, ENVELOPE_MEMBERS)
  if (extra !== undefined) throw invalid(`unknown member ${JSON.stringify(extra.slice(0, 32))}`, extra.slice(0, 32))
  if (env.signatures.length > MAX_SIGNATURES) {
    throw invalid(`more than ${MAX_SIGNATURES} signatures`, 'signatures')
  }
  for (const [i, s] of (env.signatures as unknown[]).entries()) {
    const field = `signatures.${i}`
    if (!isPlainObject(s) || typeof s.keyid !== 'string' || typeof s.sig !== 'string') throw invalid('malformed signature entry', field)
    const member = unknownMember(s, SIGNATURE_MEMBERS)
    if (member !== undefined) throw invalid(`unknown member ${JSON.stringify(member.slice(0, 32))}`, field)
    if (!KEY_ID_RE.test(s.keyid)) throw invalid('keyid is not 32 lower-case hex characters', `${field}.keyid`)
    if (s.sig.length > MAX_SIG_CHARS || !isCanonicalBase64(s.sig)) throw invalid('sig is not canonical base64', `${field}.sig`)
  }
}

export function verifyEnvelope<T> (env: Envelope<T>, trust: TrustOptions): void {
  assertEnvelopeShape(env)
  const threshold = trust.threshold ?? DEFAULT_THRESHOLD
  if (!Number.isInteger(threshold) || threshold < 1) {
    throw new StoremeshError('E_INVALID_ARGUMENT', `threshold must be a positive integer, got ${threshold}`)
  }
  if (trust.notAfterMs !== undefined && (trust.nowMs ?? Date.now()) > trust.notAfterMs) {
    throw new StoremeshError('E_ROOT_EXPIRED', `the root of trust expired at ${new Date(trust.notAfterMs).toISOString()}; a newer root is needed`)
  }
  const byId = new Map(trust.keys.map(k => [k.keyid, k]))
  const bytes = canonicalize(env.signed)
  const good = new Set<string>()
  for (const s of env.signatures) {
    const key = byId.get(s.keyid)
    if (key === undefined) continue
    const sig = Buffer.from(s.sig, 'base64')
    if (sig.length !== 64 || !verify(null, bytes, publicKeyObject(key.publicKey), sig)) {
      throw new StoremeshError('E_SIGNATURE_INVALID', 'signature does not match the signed body (edited?)', { keyid: s.keyid })
    }
    good.add(s.keyid)
  }
  const revoked = env.signatures.map(s => s.keyid).filter(id => trust.revoked?.has(id) === true)
  if (good.size === 0 && revoked.length > 0) {
    throw new StoremeshError('E_KEY_REVOKED', 'signed only by a key the root of trust revoked', { keyid: revoked.join(',') })
  }
  if (good.size === 0) {
    throw new StoremeshError('E_SIGNATURE_UNTRUSTED', 'no signature from a trusted key',
      { signedBy: env.signatures.map(s => s.keyid).join(',') })
  }
  if (good.size < threshold) {
    throw new StoremeshError('E_SIGNATURE_THRESHOLD', `${good.size} trusted signature(s), ${threshold} required`,
      revoked.length > 0 ? { revoked: revoked.join(',') } : {})
  }
}
