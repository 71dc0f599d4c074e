/** Keys and a certificate for the identity unit tests. */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { generateSigningKey, type PrivateSigningKey } from '../../../src/bundle/keys.js'
import { isStoremeshError } from '../../../src/interface/errors.js'
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

/** The stable code `fn` throws, or 'ok' when it returns: one line per bad input in a table. */
export function codeOf (fn: () => unknown): string {
  try {
    fn()
    return 'ok'
  } catch (err) {
    if (!isStoremeshError(err)) throw err
    return err.code
  }
}
