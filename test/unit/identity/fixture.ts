/** Keys and a certificate for the identity unit tests. */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { generateSigningKey, type PrivateSigningKey } from '../../../src/bundle/keys.js'
import type { TrustedKey } from '../../../src/interface/types.js'

export const DAY_MS = 86_400_000

export function trustOf (key: PrivateSigningKey): TrustedKey[] {
  return [{ keyid: key.keyid, publicKey: key.publicKey }]
}

export async function newPeerId (): Promise<string> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
}

export function enrolmentKey (): PrivateSigningKey {
  return generateSigningKey()
}
