/**
 * The envelope exactly as protocols/bundle/SPEC.md section 4 says (issue 21 item 4):
 * each leniency the issue found is refused with its stable code, for the manifest,
 * the signed policy and the node certificate. None of them changes verified content;
 * each would let one signed document travel as many different byte strings.
 */
import t from 'tap'
import { signEnvelope } from '../../../src/bundle/envelope.js'
import { decodeManifest, encodeManifest } from '../../../src/bundle/manifest.js'
import { decodeCertificate } from '../../../src/identity/certificate.js'
import { decodeSignedPolicy, verifyPolicy } from '../../../src/policy/signed.js'
import { certificateSeeds, FUZZ_KEY, FUZZ_NOW_MS, FUZZ_TRUST, manifestBody, policySeeds } from '../../../bench/fuzz/seeds.js'

const trust = { keys: FUZZ_TRUST, nowMs: FUZZ_NOW_MS }
const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const text = (b: Uint8Array): string => new TextDecoder().decode(b)
type Json = Record<string, any>

/** The same signature with the spare bits of its last base64 character set: decodes to the same 64 bytes. */
function lenientSig (sig: string): string {
  const last = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  const i = last.indexOf(sig[85] as string)
  return sig.slice(0, 85) + (last[i + 1] as string) + '=='
}

/** Every leniency of the issue as an edit of a valid document's JSON text. */
function leniencies (t: { equal: (a: unknown, b: unknown, m: string) => unknown }, valid: string): Array<[string, string]> {
  const doc = JSON.parse(valid) as Json
  const withDoc = (edit: (d: Json) => void): string => {
    const d = JSON.parse(valid) as Json
    edit(d)
    return JSON.stringify(d)
  }
  const sig = doc.signatures[0].sig as string
  t.equal(Buffer.from(lenientSig(sig), 'base64').equals(Buffer.from(sig, 'base64')), true, 'the lenient signature decodes to the same bytes')
  return [
    ['a member beside keyid and sig', withDoc(d => { d.signatures[0].note = 'x' })],
    ['an unknown top-level member', withDoc(d => { d.extra = 1 })],
    ['lenient base64 (spare bits)', withDoc(d => { d.signatures[0].sig = lenientSig(sig) })],
    ['base64 without padding', withDoc(d => { d.signatures[0].sig = sig.replace(/=+$/, '') })],
    ['a duplicate key', valid.replace('{', `{"signed":${JSON.stringify(doc.signed)},`)],
    ['a UTF-8 byte order mark', '\ufeff' + valid],
    ['trailing data', valid + '{}']
  ]
}

t.test('manifest envelope: each leniency is E_MANIFEST_INVALID', async t => {
  const valid = text(encodeManifest(signEnvelope(manifestBody(), [FUZZ_KEY])))
  t.ok(decodeManifest(enc(valid), trust).id, 'the valid document verifies')
  for (const [name, bad] of leniencies(t, valid)) {
    t.throws(() => decodeManifest(enc(bad), trust), { code: 'E_MANIFEST_INVALID' }, name)
  }
})

t.test('signed policy: each leniency is E_POLICY_INVALID, and so is a member beside type and policy', async t => {
  const valid = text(policySeeds()[0]!)
  t.ok(verifyPolicy(decodeSignedPolicy(enc(valid)), trust).policyId, 'the valid document verifies')
  const cases = leniencies(t, valid)
  const d = JSON.parse(valid) as Json
  d.signed.note = 'unsigned? no: signed, but not in the spec'
  cases.push(['a member beside type and policy in the body', JSON.stringify(d)])
  for (const [name, bad] of cases) {
    t.throws(() => verifyPolicy(decodeSignedPolicy(enc(bad)), trust), { code: 'E_POLICY_INVALID' }, name)
  }
})

t.test('node certificate: each leniency is E_CERT_INVALID', async t => {
  const valid = text((await certificateSeeds())[0]!)
  t.ok(decodeCertificate(enc(valid)).signed.serial, 'the valid document decodes')
  for (const [name, bad] of leniencies(t, valid)) {
    t.throws(() => decodeCertificate(enc(bad)), { code: 'E_CERT_INVALID' }, name)
  }
})
