/**
 * Computes the identity format's test vectors (protocols/identity/vectors.json) from
 * the recipe in protocols/identity/SPEC.md "Test vectors". `make-vectors.ts` writes
 * them; vectors.test.ts recomputes them, compares, and runs every case through the
 * verifier.
 */
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { canonicalString } from '../../../src/bundle/canonical.js'
import { signEnvelope } from '../../../src/bundle/envelope.js'
import { signingKeyFromSeed } from '../../../src/bundle/keys.js'
import { issueCertificate, signRevocationList, type CertificateFields } from '../../../src/identity/index.js'

/** Ed25519 seeds: the enrolment key is bytes 0x00 … 0x1f (the bundle vectors' key). */
export const ENROLMENT_SEED = Uint8Array.from({ length: 32 }, (_, i) => i)
/** A key the fleet does not trust: bytes 0x40 … 0x5f. */
export const STRANGER_SEED = Uint8Array.from({ length: 32 }, (_, i) => 0x40 + i)
/** The certified node's libp2p key: bytes 0x20 … 0x3f; the other peer's: 0x60 … 0x7f. */
export const NODE_PEER_SEED = Uint8Array.from({ length: 32 }, (_, i) => 0x20 + i)
export const OTHER_PEER_SEED = Uint8Array.from({ length: 32 }, (_, i) => 0x60 + i)

export const VECTOR_ISSUED = '2025-01-01T00:00:00.000Z'
export const VECTOR_EXPIRES = '2026-01-01T00:00:00.000Z'
/** The verifier's clock in the cases that pass. */
export const VECTOR_NOW = '2025-06-01T00:00:00.000Z'

export interface VerifyCase {
  name: string
  /** the certificate bytes as text (UTF-8) */
  certificate: string
  peerId?: string
  storeId?: string
  /** verify against the vector revocation list */
  withRevocations: boolean
  now: string
  /** 'ok' or the stable error code */
  expect: string
}

export async function peerIdOfSeed (seed: Uint8Array): Promise<string> {
  return peerIdFromPrivateKey(await generateKeyPairFromSeed('Ed25519', seed)).toString()
}

export async function computeVectors (): Promise<Record<string, unknown>> {
  const key = signingKeyFromSeed(ENROLMENT_SEED)
  const stranger = signingKeyFromSeed(STRANGER_SEED)
  const peerId = await peerIdOfSeed(NODE_PEER_SEED)
  const otherPeerId = await peerIdOfSeed(OTHER_PEER_SEED)
  const fields: CertificateFields = {
    peerId,
    deviceId: 'pos-17',
    storeId: 'store-042',
    role: 'device',
    deviceClass: 'pos',
    issuedAt: new Date(VECTOR_ISSUED),
    expiresAt: new Date(VECTOR_EXPIRES),
    serial: '00112233445566778899aabbccddeeff'
  }
  const cert = issueCertificate(fields, [key])
  const certText = canonicalString(cert)
  const list = signRevocationList({ version: 3, serials: [fields.serial as string], peerIds: [otherPeerId], issuedAt: new Date(VECTOR_ISSUED) }, [key])

  const edited = { ...cert, signed: { ...cert.signed, deviceId: 'pos-18' } }
  const unknownMember = signEnvelope({ ...cert.signed, admin: true }, [key])
  const { deviceClass: _dropped, ...missing } = cert.signed
  const badRole = signEnvelope({ ...cert.signed, role: 'root' }, [key])
  const base = { certificate: certText, peerId, withRevocations: false, now: VECTOR_NOW }
  const cases: VerifyCase[] = [
    { name: 'valid', ...base, storeId: 'store-042', expect: 'ok' },
    { name: 'valid without a peer to compare', ...base, peerId: undefined, expect: 'ok' },
    { name: 'expired', ...base, now: VECTOR_EXPIRES, expect: 'E_CERT_EXPIRED' },
    { name: 'issued in the future', ...base, now: '2024-12-31T23:00:00.000Z', expect: 'E_CERT_NOT_YET_VALID' },
    { name: 'revoked by serial', ...base, withRevocations: true, expect: 'E_CERT_REVOKED' },
    { name: 'signed by a stranger', ...base, certificate: canonicalString(signEnvelope(cert.signed, [stranger])), expect: 'E_CERT_SIGNATURE' },
    { name: 'edited after signing', ...base, certificate: canonicalString(edited), expect: 'E_CERT_SIGNATURE' },
    { name: 'presented by another peer', ...base, peerId: otherPeerId, expect: 'E_CERT_MISMATCH' },
    { name: 'of another store', ...base, storeId: 'store-043', expect: 'E_CERT_MISMATCH' },
    { name: 'unknown member', ...base, certificate: canonicalString(unknownMember), expect: 'E_CERT_INVALID' },
    { name: 'missing member', ...base, certificate: canonicalString(signEnvelope(missing, [key])), expect: 'E_CERT_INVALID' },
    { name: 'unknown role', ...base, certificate: canonicalString(badRole), expect: 'E_CERT_INVALID' },
    { name: 'no signatures', ...base, certificate: canonicalString({ signed: cert.signed, signatures: [] }), expect: 'E_CERT_INVALID' },
    { name: 'not JSON', ...base, certificate: certText.slice(0, 40), expect: 'E_CERT_INVALID' },
    { name: 'over the size limit', ...base, certificate: certText.replace('"signatures"', `"pad":"${'x'.repeat(4096)}","signatures"`), expect: 'E_CERT_INVALID' }
  ]

  return {
    description: 'Test vectors of protocols/identity/SPEC.md; regenerate with `node --import tsx test/unit/identity/make-vectors.ts`.',
    enrolmentKey: {
      seedHex: Buffer.from(ENROLMENT_SEED).toString('hex'),
      publicKeyHex: Buffer.from(key.publicKey).toString('hex'),
      keyid: key.keyid
    },
    strangerKeyid: stranger.keyid,
    peers: {
      node: { seedHex: Buffer.from(NODE_PEER_SEED).toString('hex'), peerId },
      other: { seedHex: Buffer.from(OTHER_PEER_SEED).toString('hex'), peerId: otherPeerId }
    },
    certificate: {
      canonicalSignedBody: canonicalString(cert.signed),
      signatures: cert.signatures,
      bytes: certText
    },
    revocationList: {
      canonicalSignedBody: canonicalString(list.signed),
      signatures: list.signatures,
      bytes: canonicalString(list)
    },
    cases: cases.map(c => Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)))
  }
}
