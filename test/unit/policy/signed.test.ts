/**
 * Signed policies (sign/verify round trip, tampering, trust) and decide(): the
 * manifest signature checked as a gate, with the other gates still reported.
 */
import t from 'tap'
import { signEnvelope } from '../../../src/bundle/envelope.js'
import { generateSigningKey } from '../../../src/bundle/keys.js'
import { MAX_SIGNED_POLICY_BYTES, POLICY_TYPE } from '../../../src/policy/constants.js'
import { decide, verifiedBundleFromJson, verifiedBundleOf } from '../../../src/policy/decide.js'
import { decodeSignedPolicy, encodeSignedPolicy, signPolicy, verifyPolicy } from '../../../src/policy/signed.js'
import { bundleIdOf, bundleInfo } from '../../../src/bundle/manifest.js'
import { makeFacts, makePolicy, manifestBody, T0 } from './fixtures.js'

const key = generateSigningKey()
const key2 = generateSigningKey()
const stranger = generateSigningKey()
const trust = { keys: [{ keyid: key.keyid, publicKey: key.publicKey }] }
const trust2 = { keys: [trust.keys[0]!, { keyid: key2.keyid, publicKey: key2.publicKey }], threshold: 2 }

function roundTrip (env: unknown): unknown {
  return decodeSignedPolicy(new TextEncoder().encode(JSON.stringify(env)))
}

t.test('sign, write, read, verify: the same policy comes back', async t => {
  const policy = makePolicy()
  const env = signPolicy(policy, [key])
  t.equal(env.signed.type, POLICY_TYPE)
  const back = verifyPolicy(decodeSignedPolicy(encodeSignedPolicy(env)), trust)
  t.same(back.policy, policy)
  t.same(back.signedBy, [key.keyid])
  t.match(back.policyId, /^p3:[0-9a-f]{64}$/)
  t.equal(verifyPolicy(roundTrip(env), trust).policyId, back.policyId, 'the id is stable across serialisations')
})

t.test('a tampered policy is refused', async t => {
  const env = roundTrip(signPolicy(makePolicy(), [key])) as any
  env.signed.policy.spec.targets.percentage = 100
  env.signed.policy.spec.guardrails.minBattery = 0
  t.throws(() => verifyPolicy(env, trust), { code: 'E_SIGNATURE_INVALID' })
  const env2 = roundTrip(signPolicy(makePolicy(), [key])) as any
  env2.signed.policy.metadata.wave = 143
  t.throws(() => verifyPolicy(env2, trust), { code: 'E_SIGNATURE_INVALID' })
})

t.test('untrusted and under-threshold signatures are refused', async t => {
  t.throws(() => verifyPolicy(roundTrip(signPolicy(makePolicy(), [stranger])), trust), { code: 'E_SIGNATURE_UNTRUSTED' })
  t.throws(() => verifyPolicy(roundTrip(signPolicy(makePolicy(), [key])), trust2), { code: 'E_SIGNATURE_THRESHOLD' })
  const both = verifyPolicy(roundTrip(signPolicy(makePolicy(), [key, key2, stranger])), trust2)
  t.same(both.signedBy, [key.keyid, key2.keyid].sort(), 'only trusted signers are listed')
})

t.test('a signed manifest is not a policy, nor is a signed body that fails the schema', async t => {
  const manifestEnv = signEnvelope(manifestBody(), [key])
  t.throws(() => verifyPolicy(roundTrip(manifestEnv), trust), { code: 'E_POLICY_INVALID', message: /type storemesh\/bundle/ })
  const body = { type: POLICY_TYPE, policy: { ...JSON.parse(JSON.stringify(makePolicy())), extra: true } }
  t.throws(() => verifyPolicy(roundTrip(signEnvelope(body, [key])), trust), { code: 'E_POLICY_INVALID', message: /extra: unknown field/ })
  t.throws(() => verifyPolicy({ signed: 1 }, trust), { code: 'E_POLICY_INVALID' })
  t.throws(() => verifyPolicy('nope', trust), { code: 'E_POLICY_INVALID' })
})

t.test('decoding is bounded and strict', async t => {
  t.throws(() => decodeSignedPolicy(new Uint8Array(MAX_SIGNED_POLICY_BYTES + 1)), { code: 'E_POLICY_INVALID', message: /limit/ })
  t.throws(() => decodeSignedPolicy(new Uint8Array([0xff, 0xfe])), { code: 'E_POLICY_INVALID' })
  t.throws(() => decodeSignedPolicy(new TextEncoder().encode('{"signed":')), { code: 'E_POLICY_INVALID' })
})

t.test('decide(): the manifest signature is a gate, not an exception', async t => {
  const env = signEnvelope(manifestBody(), [key])
  const id = bundleIdOf(env)
  const policy = makePolicy(p => { p.spec.bundle.id = id })
  const facts = (({ manifestSignature, ...rest }) => rest)(makeFacts())

  const read = verifiedBundleFromJson(JSON.parse(JSON.stringify(env)), trust)
  t.equal(read.info.id, id)
  const good = decide({ policy, bundle: read, facts, nowMs: T0 })
  t.equal(good.verdict, 'install')
  t.match(good.gates.find(g => g.gate === 'manifest.signature')?.detail, /signed by/)

  const foreignEnv = signEnvelope(manifestBody(), [stranger])
  const foreign = decide({ policy: makePolicy(p => { p.spec.bundle.id = bundleIdOf(foreignEnv) }), bundle: verifiedBundleFromJson(foreignEnv, trust), facts, nowMs: T0 })
  t.equal(foreign.verdict, 'refuse')
  t.same(foreign.gates.filter(g => !g.ok).map(g => g.gate), ['manifest.signature'])
  t.match(foreign.gates.find(g => g.gate === 'manifest.signature')?.detail, /E_SIGNATURE_UNTRUSTED/)

  const edited = JSON.parse(JSON.stringify(env))
  edited.signed.version = '3.8.3'
  const e = decide({ policy, bundle: verifiedBundleFromJson(edited, trust), facts, nowMs: T0 })
  t.equal(e.verdict, 'refuse')
  t.match(e.gates.find(g => g.gate === 'manifest.signature')?.detail, /E_SIGNATURE_INVALID/)
  t.equal(e.gates.find(g => g.gate === 'target.match')?.ok, false, 'the edited body no longer has the id the policy names')

  t.throws(() => verifiedBundleFromJson({ signed: { type: 'storemesh/bundle' }, signatures: [] }, trust), { code: 'E_MANIFEST_INVALID' })
  const none = decide({ policy, bundle: undefined, facts, nowMs: T0 })
  t.equal(none.verdict, 'idle')
})

t.test('decide() takes the verified bundle as it is: no parse, hash or signature check of its own', async t => {
  const env = signEnvelope(manifestBody(), [key])
  const policy = makePolicy(p => { p.spec.bundle.id = bundleIdOf(env) })
  const facts = (({ manifestSignature, ...rest }) => rest)(makeFacts())
  const verified = verifiedBundleOf(bundleInfo(env), trust)
  // Signatures edited after the one check: decide() must not look at them again
  const bundle = { ...verified, info: { ...verified.info, manifest: { ...env, signatures: [] } } }
  const d = decide({ policy, bundle, facts, nowMs: T0 })
  t.equal(d.verdict, 'install', 'the signature result given is the one used')
  const refused = decide({ policy, bundle: { ...verified, signature: { ok: false, detail: 'E_SIGNATURE_UNTRUSTED given' } }, facts, nowMs: T0 })
  t.equal(refused.verdict, 'refuse')
  t.equal(refused.gates.find(g => g.gate === 'manifest.signature')?.detail, 'E_SIGNATURE_UNTRUSTED given')
})
