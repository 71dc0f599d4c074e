/**
 * TUF-style signed envelope `{signed, signatures: [{keyid, sig}]}` (SPEC.md). The
 * signature covers the canonical bytes of `signed`. Signatures from unknown keys are
 * ignored; a trusted key whose signature does not verify means the body was edited.
 */
import { verify } from 'node:crypto'
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

/** Checks the envelope's shape without trusting anything in it. */
export function assertEnvelopeShape (env: unknown): asserts env is Envelope<unknown> {
  const e = env as Partial<Envelope<unknown>> | null
  if (e === null || typeof e !== 'object' || Array.isArray(e) || !('signed' in e) || !Array.isArray(e.signatures)) {
    throw new StoremeshError('E_MANIFEST_INVALID', 'not a signed envelope {signed, signatures}')
  }
  if (e.signatures.length > MAX_SIGNATURES) {
    throw new StoremeshError('E_MANIFEST_INVALID', `more than ${MAX_SIGNATURES} signatures`)
  }
  for (const s of e.signatures) {
    if (s === null || typeof s !== 'object' || typeof s.keyid !== 'string' || typeof s.sig !== 'string') {
      throw new StoremeshError('E_MANIFEST_INVALID', 'malformed signature entry')
    }
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
