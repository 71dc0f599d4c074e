/**
 * The composition every caller shares (policy explain, the installer, the device
 * role): already-loaded inputs in, a Decision out. Checks the manifest's signature
 * itself, so a bad signature shows as the `manifest.signature` gate with the other
 * gates still reported, rather than as an exception. Pure: no files, no clock.
 */
import { assertEnvelopeShape, verifyEnvelope } from '../bundle/envelope.js'
import { bundleInfo, parseManifestBody } from '../bundle/manifest.js'
import { isStoremeshError } from '../interface/errors.js'
import type { BundleInfo, Decision, DeviceFacts, SignedManifest, TrustOptions } from '../interface/types.js'
import { evaluate } from './evaluate.js'
import type { RolloutPolicy } from './schema.js'

export type FactsInput = Omit<DeviceFacts, 'manifestSignature'>

export interface DecideInputs {
  /** a policy that passed verifyPolicy(); undefined: no policy for this device */
  policy?: RolloutPolicy
  /** the signed manifest as read (unverified); undefined: not here yet */
  manifest?: unknown
  /** keys that must have signed the manifest */
  trust: TrustOptions
  facts: FactsInput
  nowMs: number
}

export interface DecideResult {
  decision: Decision
  /** ids and pieces of the manifest, when one was given (its signature may have failed) */
  bundle?: BundleInfo
}

function checkSignature (env: SignedManifest, trust: TrustOptions): DeviceFacts['manifestSignature'] {
  try {
    verifyEnvelope(env, trust)
  } catch (err) {
    if (isStoremeshError(err)) return { ok: false, detail: `${err.code} ${err.message}` }
    throw err
  }
  const trusted = new Set(trust.keys.map(k => k.keyid))
  const ids = [...new Set(env.signatures.map(s => s.keyid).filter(id => trusted.has(id)))]
  return { ok: true, detail: `signed by ${ids.map(id => id.slice(0, 8)).join(', ')} (threshold ${trust.threshold ?? 1})` }
}

/**
 * Throws E_MANIFEST_INVALID / E_PATH_ESCAPE / E_SIZE_MISMATCH when the manifest is not a
 * manifest at all: there is nothing to evaluate then.
 */
export function decide (inputs: DecideInputs): DecideResult {
  const { policy, trust, facts, nowMs } = inputs
  if (inputs.manifest === undefined) {
    return { decision: evaluate(policy, undefined, { ...facts, manifestSignature: { ok: false, detail: 'no manifest' } }, nowMs) }
  }
  const raw = inputs.manifest
  assertEnvelopeShape(raw)
  const env: SignedManifest = { signed: parseManifestBody(raw.signed), signatures: raw.signatures }
  const bundle = bundleInfo(env)
  const manifestSignature = checkSignature(env, trust)
  return { decision: evaluate(policy, bundle, { ...facts, manifestSignature }, nowMs), bundle }
}
