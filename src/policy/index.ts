/** The policy engine's public surface (DESIGN.md section 7). Pure: no I/O anywhere in src/policy/. */
export * from './constants.js'
export { parsePolicy, parsePolicyYaml, rolloutPolicySchema, type PeripheralCheck, type RolloutPolicy } from './schema.js'
export { decodeSignedPolicy, encodeSignedPolicy, policyIdOf, signPolicy, verifyPolicy, type PolicyBody, type SignedPolicy, type VerifiedPolicy } from './signed.js'
export { decidingGates, evaluate, GATE_NAMES, summarize, VERDICT_RANK, waitsOnlyForLease, type ManifestInput } from './evaluate.js'
export { checkManifestSignature, decide, verifiedBundleFromJson, verifiedBundleOf, type DecideInputs, type FactsInput, type SignatureResult, type VerifiedBundle } from './decide.js'
export { admittedBuckets, isAdmitted, waveBucket } from './wave.js'
export { parseValueWith, parseYamlWith, type FieldIssue } from './yaml-schema.js'
