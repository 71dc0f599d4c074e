/**
 * Node identity (DESIGN.md section 9b, protocols/identity/SPEC.md): certificates that
 * the fleet's enrolment key signs for each node, revocation lists, and the pure checks
 * a node runs on what a peer presents. The wire protocol that carries them after the
 * Noise handshake is ./protocol/.
 *
 * ```ts
 * const cert = issueCertificate({ peerId, deviceId: 'pos-17', storeId: 's-042', role: 'device', deviceClass: 'pos', expiresAt }, [enrolmentKey])
 * const who = verifyCertificate(bytes, { trust: [enrolmentPub], peerId: connection.remotePeer.toString(), revocations })
 * ```
 */
export * from './constants.js'
export {
  CERTIFICATE_KIND, certificateBodySchema, certificateSchema, decodeCertificate, encodeCertificate, issueCertificate, newSerial,
  parseCertificate, type CertificateBody, type CertificateFields, type NodeCertificate
} from './certificate.js'
export {
  decodeRevocationList, EMPTY_REVOCATIONS, encodeRevocationList, extendRevocationList, newerRevocationList, parseRevocationList,
  revocationListBodySchema, revocationListSchema, revocationSetOf, signRevocationList, verifyRevocationList,
  type RevocationFields, type RevocationList, type RevocationListBody, type RevocationSet
} from './revocation.js'
export {
  ACT_REFUSAL_REASONS, REFUSAL_REASONS, refusalReasonOf, verifyCertificate, type ActRefusalReason, type RefusalReason, type VerifiedIdentity, type VerifyCertificateOptions
} from './verify.js'
export {
  certificatePath, loadNodeCertificate, readBoundedFile, readCertificateFile, readRevocationListFile, revocationListPath,
  writeCertificateFile, writeRevocationListFile
} from './files.js'
export {
  identityGater, missingCertificateError, PeerIdentities, type PeerIdentitiesEvents, type PeerIdentitiesInit, type RefusalEvent
} from './peer-identities.js'
