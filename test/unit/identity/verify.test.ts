import t from 'tap'
import { canonicalString } from '../../../src/bundle/canonical.js'
import { signEnvelope } from '../../../src/bundle/envelope.js'
import {
  decodeCertificate, encodeCertificate, issueCertificate, refusalReasonOf, revocationSetOf, signRevocationList, verifyCertificate,
  type CertificateFields
} from '../../../src/identity/index.js'
import { StoremeshError } from '../../../src/interface/errors.js'
import { DAY_MS, enrolmentKey, newPeerId, trustOf, codeOf } from './fixture.js'

const NOW = Date.parse('2026-03-01T12:00:00.000Z')

async function setup (): Promise<{ key: ReturnType<typeof enrolmentKey>, peerId: string, fields: CertificateFields }> {
  const key = enrolmentKey()
  const peerId = await newPeerId()
  const fields: CertificateFields = {
    peerId, deviceId: 'pos-17', storeId: 's-042', role: 'device', deviceClass: 'pos',
    issuedAt: new Date(NOW - DAY_MS), expiresAt: new Date(NOW + 30 * DAY_MS)
  }
  return { key, peerId, fields }
}

t.test('a good certificate gives the bound identity', async t => {
  const { key, peerId, fields } = await setup()
  const cert = issueCertificate(fields, [key])
  t.match(cert.signed.serial, /^[0-9a-f]{32}$/)
  const who = verifyCertificate(encodeCertificate(cert), { trust: trustOf(key), peerId, storeId: 's-042', roles: ['device'], nowMs: NOW })
  t.same(who, { peerId, deviceId: 'pos-17', storeId: 's-042', role: 'device', deviceClass: 'pos', serial: cert.signed.serial, expiresAtMs: NOW + 30 * DAY_MS })
  t.not(issueCertificate(fields, [key]).signed.serial, cert.signed.serial, 'a new serial each time')
})

t.test('expired, not yet valid, and the skew', async t => {
  const { key, peerId, fields } = await setup()
  const bytes = encodeCertificate(issueCertificate(fields, [key]))
  const at = (nowMs: number): string => codeOf(() => verifyCertificate(bytes, { trust: trustOf(key), peerId, nowMs }))
  t.equal(at(NOW + 30 * DAY_MS), 'E_CERT_EXPIRED', 'at the expiry instant')
  t.equal(at(NOW + 30 * DAY_MS - 1), 'ok')
  t.equal(at(NOW - DAY_MS - 4 * 60_000), 'ok', 'a clock 4 minutes behind the issuer')
  t.equal(at(NOW - DAY_MS - 6 * 60_000), 'E_CERT_NOT_YET_VALID')
  const err = (() => { try { verifyCertificate(bytes, { trust: trustOf(key), peerId, nowMs: NOW + 31 * DAY_MS }) } catch (e) { return e as StoremeshError } })()
  t.match(err?.toLine(), /^E_CERT_EXPIRED .*device pos-17.*serial=/, 'one line with the serial')
  t.equal(refusalReasonOf(err), 'expired')
})

t.test('revoked by serial or by peer id', async t => {
  const { key, peerId, fields } = await setup()
  const cert = issueCertificate(fields, [key])
  const bySerial = revocationSetOf(signRevocationList({ version: 1, serials: [cert.signed.serial], peerIds: [] }, [key]))
  const byPeer = revocationSetOf(signRevocationList({ version: 2, serials: [], peerIds: [peerId] }, [key]))
  const other = revocationSetOf(signRevocationList({ version: 3, serials: ['ff'.repeat(16)], peerIds: [await newPeerId()] }, [key]))
  const verify = (revocations: typeof bySerial): string => codeOf(() => verifyCertificate(cert, { trust: trustOf(key), peerId, nowMs: NOW, revocations }))
  t.equal(verify(bySerial), 'E_CERT_REVOKED')
  t.equal(verify(byPeer), 'E_CERT_REVOKED')
  t.equal(verify(other), 'ok')
  // a new certificate for a peer id revoked as such is refused too
  const again = issueCertificate(fields, [key])
  t.equal(codeOf(() => verifyCertificate(again, { trust: trustOf(key), peerId, nowMs: NOW, revocations: byPeer })), 'E_CERT_REVOKED')
  t.equal(codeOf(() => verifyCertificate(again, { trust: trustOf(key), peerId, nowMs: NOW, revocations: bySerial })), 'ok')
})

t.test('wrongly signed: another key, an edited body, a bad signature, no trust', async t => {
  const { key, peerId, fields } = await setup()
  const stranger = enrolmentKey()
  const cert = issueCertificate(fields, [key])
  const opts = { trust: trustOf(key), peerId, nowMs: NOW }
  t.equal(codeOf(() => verifyCertificate(issueCertificate(fields, [stranger]), opts)), 'E_CERT_SIGNATURE', 'signed by a key the fleet does not trust')
  t.equal(codeOf(() => verifyCertificate({ ...cert, signed: { ...cert.signed, role: 'hub' } }, opts)), 'E_CERT_SIGNATURE', 'promoted to hub after signing')
  const sig = Buffer.from(cert.signatures[0]?.sig ?? '', 'base64')
  sig[0] = (sig[0] ?? 0) ^ 1
  t.equal(codeOf(() => verifyCertificate({ ...cert, signatures: [{ keyid: key.keyid, sig: sig.toString('base64') }] }, opts)), 'E_CERT_SIGNATURE')
  t.equal(codeOf(() => verifyCertificate(cert, { ...opts, trust: [] })), 'E_CERT_SIGNATURE', 'no enrolment key trusted')
  t.equal(codeOf(() => verifyCertificate(signEnvelope(cert.signed, [stranger, key]), opts)), 'ok', 'an extra unknown co-signature is ignored')
})

t.test('mismatched peer id, store or role', async t => {
  const { key, peerId, fields } = await setup()
  const cert = issueCertificate(fields, [key])
  const base = { trust: trustOf(key), nowMs: NOW }
  const other = await newPeerId()
  t.equal(codeOf(() => verifyCertificate(cert, { ...base, peerId: other })), 'E_CERT_MISMATCH', 'presented by another peer')
  t.equal(codeOf(() => verifyCertificate(cert, { ...base, peerId, storeId: 's-043' })), 'E_CERT_MISMATCH', 'another store')
  t.equal(codeOf(() => verifyCertificate(cert, { ...base, peerId, roles: ['hub', 'super-hub'] })), 'E_CERT_MISMATCH', 'a device posing as hub')
  t.equal(refusalReasonOf(new StoremeshError('E_CERT_MISMATCH', 'x')), 'mismatch')
})

t.test('malformed: every way the bytes or members can be wrong', async t => {
  const { key, peerId, fields } = await setup()
  const cert = issueCertificate(fields, [key])
  const text = canonicalString(cert)
  const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
  const opts = { trust: trustOf(key), peerId, nowMs: NOW }
  const bad: Array<[string, Uint8Array | unknown]> = [
    ['empty', enc('')],
    ['not JSON', enc('{"signed":')],
    ['not UTF-8', Uint8Array.from([0x7b, 0xff, 0x7d])],
    ['an array', enc('[]')],
    ['null', null],
    ['over 4 KiB', enc(text.replace('"signatures"', `"x":"${'a'.repeat(5000)}","signatures"`))],
    ['unknown envelope member', { ...cert, extra: 1 }],
    ['unknown body member', signEnvelope({ ...cert.signed, admin: true }, [key])],
    ['missing storeId', signEnvelope({ ...cert.signed, storeId: undefined }, [key])],
    ['wrong type', signEnvelope({ ...cert.signed, type: 'storemesh/bundle' }, [key])],
    ['wrong specVersion', signEnvelope({ ...cert.signed, specVersion: 2 }, [key])],
    ['bad serial', signEnvelope({ ...cert.signed, serial: 'XYZ' }, [key])],
    ['bad peer id', signEnvelope({ ...cert.signed, peerId: '12D3KooWnotapeeridatallnotapeeridatallnotapeer' }, [key])],
    ['bad device id', signEnvelope({ ...cert.signed, deviceId: '../etc' }, [key])],
    ['bad role', signEnvelope({ ...cert.signed, role: 'admin' }, [key])],
    ['bad class', signEnvelope({ ...cert.signed, deviceClass: '' }, [key])],
    ['date not ISO', signEnvelope({ ...cert.signed, expiresAt: 'tomorrow' }, [key])],
    ['date not real', signEnvelope({ ...cert.signed, expiresAt: '2026-02-30T00:00:00.000Z' }, [key])],
    ['expires before issued', signEnvelope({ ...cert.signed, expiresAt: cert.signed.issuedAt }, [key])],
    ['no signatures', { ...cert, signatures: [] }],
    ['17 signatures', { ...cert, signatures: Array(17).fill(cert.signatures[0]) }],
    ['signature not 64 bytes', { ...cert, signatures: [{ keyid: key.keyid, sig: 'AAAA' }] }],
    ['signature entry with extra member', { ...cert, signatures: [{ ...cert.signatures[0], x: 1 }] }]
  ]
  for (const [name, input] of bad) t.equal(codeOf(() => verifyCertificate(input, opts)), 'E_CERT_INVALID', name)
  t.equal(codeOf(() => decodeCertificate(enc(text))), 'ok', 'the original decodes')
  t.equal(codeOf(() => issueCertificate({ ...fields, role: 'root' as 'hub' }, [key])), 'E_CERT_INVALID', 'issue refuses what verify would')
  t.equal(codeOf(() => issueCertificate({ ...fields, expiresAt: new Date(NOW + 4000 * DAY_MS) }, [key])), 'E_INVALID_ARGUMENT', 'lifetime over 10 years')
})
