/**
 * Signed rollout policies: the manifest's TUF-style envelope (src/bundle/envelope.ts)
 * around `{type: "storemesh/policy", policy}`. The body is the policy with every
 * default filled in, so what was signed is exactly what devices evaluate, and a
 * change of defaults in a later release cannot change a signed policy's meaning.
 * Pure: bytes and objects in, objects out.
 */
import { canonicalize } from '../bundle/canonical.js'
import { assertEnvelopeShape, signEnvelope, verifyEnvelope } from '../bundle/envelope.js'
import { blake3Hex } from '../bundle/hash.js'
import type { SigningKey } from '../bundle/keys.js'
import { StoremeshError } from '../interface/errors.js'
import { parseStrictJson } from '../interface/strict-json.js'
import type { Envelope, TrustOptions } from '../interface/types.js'
import { MAX_SIGNED_POLICY_BYTES, POLICY_TYPE } from './constants.js'
import { parsePolicy, type RolloutPolicy } from './schema.js'

export interface PolicyBody {
  type: typeof POLICY_TYPE
  policy: RolloutPolicy
}

export type SignedPolicy = Envelope<PolicyBody>

export interface VerifiedPolicy {
  policy: RolloutPolicy
  /** `p3:` + BLAKE3 of the canonical signed body: names this exact policy in logs and ledgers */
  policyId: string
  /** key ids whose signatures are present and trusted */
  signedBy: string[]
}

export function policyIdOf (env: Envelope<unknown>): string {
  return 'p3:' + blake3Hex(canonicalize(env.signed))
}

/** Signs a validated policy; the body is re-validated so a hand-built object cannot slip through. */
export function signPolicy (policy: RolloutPolicy, keys: SigningKey[]): SignedPolicy {
  const body: PolicyBody = { type: POLICY_TYPE, policy: parsePolicy(policy) }
  return signEnvelope(body, keys)
}

/**
 * Shape, type tag, signatures (threshold of trusted keys), then schema. Throws
 * E_POLICY_INVALID for a wrong shape or body, E_SIGNATURE_* for trust failures.
 */
export function verifyPolicy (env: unknown, trust: TrustOptions): VerifiedPolicy {
  try {
    assertEnvelopeShape(env, 'signed policy')
  } catch (err) {
    throw new StoremeshError('E_POLICY_INVALID', `not a signed policy: ${(err as Error).message}`, {}, { cause: err })
  }
  const signed = env.signed as Partial<PolicyBody> | null
  if (signed === null || typeof signed !== 'object' || signed.type !== POLICY_TYPE) {
    const type = signed !== null && typeof signed === 'object' ? String((signed as { type?: unknown }).type) : typeof signed
    throw new StoremeshError('E_POLICY_INVALID', `signed body is not a policy (type ${type}, want ${POLICY_TYPE})`)
  }
  // SPEC (bundle §4, policies use the same envelope): the body is exactly {type, policy}
  const extra = Object.keys(signed).find(k => k !== 'type' && k !== 'policy')
  if (extra !== undefined) {
    throw new StoremeshError('E_POLICY_INVALID', `signed policy body: unknown member ${JSON.stringify(extra.slice(0, 32))}`,
      { document: 'signed policy', field: `signed.${extra.slice(0, 32)}` })
  }
  verifyEnvelope(env, trust)
  const policy = parsePolicy(signed.policy)
  const trusted = new Set(trust.keys.map(k => k.keyid))
  const signedBy = [...new Set(env.signatures.map(s => s.keyid).filter(id => trusted.has(id)))].sort()
  return { policy, policyId: policyIdOf(env), signedBy }
}

/** Bytes from disk or the wire to an unverified envelope; size-limited strict JSON (no BOM, duplicate keys, trailing data). */
export function decodeSignedPolicy (bytes: Uint8Array): unknown {
  if (bytes.length > MAX_SIGNED_POLICY_BYTES) {
    throw new StoremeshError('E_POLICY_INVALID', `signed policy is ${bytes.length} bytes, limit ${MAX_SIGNED_POLICY_BYTES}`)
  }
  return parseStrictJson(bytes, 'signed policy', { code: 'E_POLICY_INVALID' })
}

/** Serialised form for disk and wire: readable JSON; signatures cover the canonical body, not these bytes. */
export function encodeSignedPolicy (env: SignedPolicy): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(env, null, 2) + '\n')
}
