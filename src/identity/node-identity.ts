/**
 * A node's identity kit, built once per LAN node from its data dir: its own
 * certificate (`<data>/node-certificate.json`, written by `storemesh identity enrol`),
 * the revocation list in force (`<data>/revocations.json`, rewritten whenever a newer
 * one is verified), the shared PeerIdentities, the gater and the identity protocol.
 */
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { ConnectionGater, PrivateKey } from '@libp2p/interface'
import { toStoremeshError } from '../interface/errors.js'
import { silentLog, type Log } from '../interface/log.js'
import { loadOrCreatePeerKey } from '../net/identity.js'
import type { NodeCertificate } from './certificate.js'
import type { NodeRole } from './constants.js'
import { loadNodeCertificate, readRevocationListFile, revocationListPath, writeRevocationListFile } from './files.js'
import { identityGater, PeerIdentities } from './peer-identities.js'
import { identityProtocol, type IdentityProtocol, type IdentityProtocolComponents } from './protocol/index.js'
import { verifyRevocationList, type RevocationList } from './revocation.js'
import type { EnrolmentTrust } from './signed.js'
import { verifyCertificate, type ActRefusalReason } from './verify.js'

export interface PeerIdentityOptions {
  /**
   * the fleet's enrolment keys: the root's enrolment role (`root.trust('enrolment')`, with
   * `--enrolment-trust` as its implicit version 0), or a key list
   */
  trust: EnrolmentTrust
  /** refuse peers without a valid certificate (`--require-certificates`). @default false */
  requireCertificates?: boolean
  /** refuse certificates of other stores */
  storeId?: string
  roles?: readonly NodeRole[]
  /** @default DEFAULT_PRESENT_TIMEOUT_MS */
  presentTimeoutMs?: number
  /** @default DEFAULT_REFRESH_INTERVAL_MS */
  refreshIntervalMs?: number
}

export interface PeerIdentityKit {
  identities: PeerIdentities
  gater: ConnectionGater
  isAllowed: (peerId: string) => boolean
  /** the libp2p service factory: `services: { identity: kit.service }` */
  service: (components: IdentityProtocolComponents) => IdentityProtocol
  certificate: NodeCertificate | undefined
  /** the lease or report protocol's `onUnbound` for this reason: logged and counted (actRefusal) */
  refuseAct: (reason: ActRefusalReason) => (peerId: string, detail: string) => void
}

/**
 * A lease or report naming an id the peer is not certified for (a stolen key taking
 * leases in made-up names, a forged rollback report): one warning in the refusing
 * node's log, counted in `storemesh_peer_refusals_total{reason}`.
 */
export function actRefusal (identities: PeerIdentities, log: Log, reason: ActRefusalReason): (peerId: string, detail: string) => void {
  return (peerId, detail) => {
    identities.refuseAct(reason)
    log.warn({ peer: peerId, reason }, `refused ${reason === 'lease-unbound' ? 'a lease' : 'a report'} from ${peerId}: ${detail}`)
  }
}

/** `privateKey`: the node's key when it is not the data dir's (tests); @default <dataDir>/peer-key.json */
export async function startPeerIdentity (dataDir: string, options: PeerIdentityOptions, log: Log = silentLog, privateKey?: PrivateKey): Promise<PeerIdentityKit> {
  const ilog = log.child({ component: 'identity' })
  const peerId = peerIdFromPrivateKey(privateKey ?? await loadOrCreatePeerKey(dataDir)).toString()
  const listPath = revocationListPath(dataDir)
  let revocations: RevocationList | undefined
  try {
    const stored = await readRevocationListFile(listPath)
    if (stored !== undefined) revocations = verifyRevocationList(stored, options.trust)
  } catch (err) {
    ilog.warn({ code: toStoremeshError(err).code }, `ignoring ${listPath}: ${toStoremeshError(err).toLine()}`)
  }
  let certificate: NodeCertificate | undefined
  try {
    certificate = await loadNodeCertificate(dataDir)
    // our own certificate is checked as a peer would: a bad one gets us refused everywhere, say so now
    if (certificate !== undefined) verifyCertificate(certificate, { trust: options.trust, peerId })
    else ilog.warn(`no certificate in ${dataDir} (storemesh identity enrol): peers that require one will refuse this node`)
  } catch (err) {
    ilog.warn({ code: toStoremeshError(err).code }, `own certificate: ${toStoremeshError(err).toLine()}; peers will refuse it`)
  }
  const identities = new PeerIdentities({
    trust: options.trust,
    ...(options.requireCertificates !== undefined ? { requireCertificates: options.requireCertificates } : {}),
    ...(options.storeId !== undefined ? { storeId: options.storeId } : {}),
    ...(options.roles !== undefined ? { roles: options.roles } : {}),
    ...(revocations !== undefined ? { revocations } : {})
  })
  // one write at a time, in order, so an older list never lands over a newer one
  let writing: Promise<void> = Promise.resolve()
  identities.on('revocations', list => {
    writing = writing.then(async () => { await writeRevocationListFile(listPath, list) }).catch((err: unknown) => {
      ilog.warn(`cannot persist revocation list version ${list.signed.version}: ${toStoremeshError(err).toLine()}`)
    })
  })
  return {
    identities,
    gater: identityGater(identities),
    isAllowed: id => identities.isAllowed(id),
    service: identityProtocol({
      identities,
      log,
      ...(certificate !== undefined ? { certificate } : {}),
      ...(options.presentTimeoutMs !== undefined ? { presentTimeoutMs: options.presentTimeoutMs } : {}),
      ...(options.refreshIntervalMs !== undefined ? { refreshIntervalMs: options.refreshIntervalMs } : {}),
      // an operator's `identity revoke --list <data>/revocations.json` is picked up at the next refresh
      readRevocations: async () => await readRevocationListFile(listPath)
    }),
    certificate,
    refuseAct: reason => actRefusal(identities, ilog, reason)
  }
}
