/**
 * The persisted libp2p identity of a peer: an Ed25519 private key in the data dir, so
 * a restarted hub or device keeps its peer id (allowlists, scores and the ledger
 * name peers by it). The file is JSON with a `type` tag like the signing key files of
 * src/bundle/keys.ts, so a signing key, a swarm key and a peer key are never confused.
 */
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { randomBytes } from 'node:crypto'
import { link, mkdir, open, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { StoremeshError } from '../interface/errors.js'
import { readRegularFile, readRegularFileIfExists } from '../interface/regular-file.js'
import { PEER_KEY_FILE } from './constants.js'

export const PEER_KEY_TYPE = 'storemesh/libp2p-peer-key'
export const MAX_PEER_KEY_FILE_BYTES = 16 * 1024

interface PeerKeyFile {
  type: typeof PEER_KEY_TYPE
  peerId: string
  /** base64 of the libp2p protobuf encoding of the private key */
  privateKey: string
}

export function peerKeyPath (dataDir: string): string {
  return join(dataDir, PEER_KEY_FILE)
}

export function decodePeerKeyFile (bytes: Uint8Array, source = 'peer key'): PrivateKey {
  const invalid = (why: string, cause?: unknown): never => {
    throw new StoremeshError('E_KEY_INVALID', `${source} is not a storemesh peer key: ${why}`, {}, { cause })
  }
  if (bytes.length > MAX_PEER_KEY_FILE_BYTES) invalid('file too large')
  let parsed: Partial<PeerKeyFile>
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as Partial<PeerKeyFile>
  } catch (err) {
    return invalid('not JSON', err)
  }
  if (parsed?.type !== PEER_KEY_TYPE || typeof parsed.privateKey !== 'string') invalid(`type must be ${PEER_KEY_TYPE}`)
  let key: PrivateKey
  try {
    key = privateKeyFromProtobuf(Buffer.from(parsed.privateKey as string, 'base64'))
  } catch (err) {
    return invalid('undecodable private key', err)
  }
  if (key.type !== 'Ed25519') invalid(`expected an Ed25519 key, got ${key.type}`)
  if (typeof parsed.peerId === 'string' && parsed.peerId !== peerIdFromPrivateKey(key).toString()) {
    invalid('peerId does not match the private key')
  }
  return key
}

export function encodePeerKeyFile (key: PrivateKey): Uint8Array {
  const file: PeerKeyFile = {
    type: PEER_KEY_TYPE,
    peerId: peerIdFromPrivateKey(key).toString(),
    privateKey: Buffer.from(privateKeyToProtobuf(key)).toString('base64')
  }
  return new TextEncoder().encode(JSON.stringify(file, null, 2) + '\n')
}

/**
 * Reads `<dataDir>/peer-key.json`, or creates it (mode 0600) with a new Ed25519 key.
 * Two processes racing to create it agree on one key: the loser reads the winner's.
 */
export async function loadOrCreatePeerKey (dataDir: string): Promise<PrivateKey> {
  const path = peerKeyPath(dataDir)
  const bytes = await readRegularFileIfExists(path, { what: `peer key file ${path}`, maxBytes: MAX_PEER_KEY_FILE_BYTES, codes: { tooLarge: 'E_KEY_INVALID' } })
  if (bytes !== undefined) return decodePeerKeyFile(bytes, path)
  await mkdir(dataDir, { recursive: true })
  const key = await generateKeyPair('Ed25519')
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`
  const fh = await open(tmp, 'wx', 0o600)
  try {
    await fh.writeFile(encodePeerKeyFile(key))
    await fh.sync()
  } finally {
    await fh.close()
  }
  try {
    await link(tmp, path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    return decodePeerKeyFile(await readRegularFile(path, { what: `peer key file ${path}`, maxBytes: MAX_PEER_KEY_FILE_BYTES, codes: { tooLarge: 'E_KEY_INVALID' } }), path)
  } finally {
    await unlink(tmp).catch(() => {})
  }
  return key
}
