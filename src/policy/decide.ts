/**
 * The composition every caller shares (policy explain, the one-shot install, the device
 * agent): already-verified inputs in, a Decision out. Pure: no files, no clock.
 *
 * The manifest reaches decide() already parsed and hashed (a BundleInfo: the chunk
 * store's, or the one read once from a lab bundle folder) together with the result of
 * its signature check against the device's trust, done once by whoever collected the
 * inputs (src/roles/device-decision.ts). decide() never parses, hashes or verifies the
 * manifest again, so deciding a second time (after the hub answered a lease request)
 * costs one evaluate(). A bad signature shows as the `manifest.signature` gate with
 * the other gates still reported, rather than as an exception.
 */
import { assertEnvelopeShape, verifyEnvelope } from '../bundle/envelope.js'
import { bundleInfo, parseManifestBody } from '../bundle/manifest.js'
import { isStoremeshError } from '../interface/errors.js'
import type { BundleInfo, Decision, DeviceFacts, SignedManifest, TrustOptions } from '../interface/types.js'
import { evaluate } from './evaluate.js'
import type { RolloutPolicy } from './schema.js'

export type FactsInput = Omit<DeviceFacts, 'manifestSignature'>

/** What the `manifest.signature` gate reads. */
export type SignatureResult = DeviceFacts['manifestSignature']

/** A parsed, hashed manifest and the outcome of its one signature check. */
export interface VerifiedBundle {
  info: BundleInfo
  signature: SignatureResult
}

export interface DecideInputs {
  /** a policy that passed verifyPolicy(); undefined: no policy for this device */
  policy?: RolloutPolicy | undefined
  /** undefined: the bundle the policy names is not here yet */
  bundle?: VerifiedBundle | undefined
  facts: FactsInput
  nowMs: number
}

/** The signature check, as a gate result rather than an exception. */
export function checkManifestSignature (env: SignedManifest, trust: TrustOptions): SignatureResult {
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

/** A stored bundle (already parsed and hashed by the store) with its signature checked once. */
export function verifiedBundleOf (info: BundleInfo, trust: TrustOptions): VerifiedBundle {
  return { info, signature: checkManifestSignature(info.manifest, trust) }
}

/**
 * A manifest as read from a file (JSON, unverified): parsed, hashed and signature-checked,
 * once. Throws E_MANIFEST_INVALID / E_PATH_ESCAPE / E_SIZE_MISMATCH when it is not a
 * manifest at all: there is nothing to evaluate then.
 */
export function verifiedBundleFromJson (raw: unknown, trust: TrustOptions): VerifiedBundle {
  assertEnvelopeShape(raw)
  return verifiedBundleOf(bundleInfo({ signed: parseManifestBody(raw.signed), signatures: raw.signatures }), trust)
}

export function decide (inputs: DecideInputs): Decision {
  const { policy, bundle, facts, nowMs } = inputs
  const manifestSignature = bundle?.signature ?? { ok: false, detail: 'no manifest' }
  return evaluate(policy, bundle?.info, { ...facts, manifestSignature }, nowMs)
}
