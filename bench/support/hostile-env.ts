/**
 * bench:hostile's fixture (Env: keys, bundles, the enrolment key) and what
 * `storemesh identity enrol` does for a data dir: set-up apart from the runs.
 */
import { mkdir } from 'node:fs/promises'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { SigningKey } from '../../src/bundle/keys.js'
import { issueCertificate } from '../../src/identity/certificate.js'
import { certificatePath, writeCertificateFile } from '../../src/identity/files.js'
import { loadOrCreatePeerKey } from '../../src/net/identity.js'
import { DEVICE_CLASS } from '../../test/support/lan-fixture.js'

export interface Env {
  dir: string, swarmKeyPath: string, trustPath: string, bundleDir: string, id: string, pieces: number
  /** the fleet's enrolment key (certifies hub, device and the stolen tablet) and its public file */
  enrolKey: SigningKey, enrolPubPath: string
  /** the older signed bundle of the same class (older-bundle attack) */
  olderBundleDir: string, olderId: string, olderPieces: string[]
}

/** What `storemesh identity enrol` does: a certificate for the data dir's peer key. */
export async function enrol (env: Env, dataDir: string, deviceId: string, role: 'hub' | 'device'): Promise<void> {
  await mkdir(dataDir, { recursive: true })
  const peerId = peerIdFromPrivateKey(await loadOrCreatePeerKey(dataDir)).toString()
  const cert = issueCertificate({ peerId, deviceId, storeId: 'bench-store', role, deviceClass: DEVICE_CLASS, expiresAt: new Date(Date.now() + 86_400_000) }, [env.enrolKey])
  await writeCertificateFile(certificatePath(dataDir), cert)
}
