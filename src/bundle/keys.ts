/**
 * Ed25519 signing keys and their files. Key ids are the hex of the first 16 bytes of
 * BLAKE3(raw public key), so an id names exactly one key. Files are JSON with a
 * `type` tag so a swarm key, a public key and a private key are never confused.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import { writeFileAtomic } from '../interface/atomic-file.js'
import { StoremeshError } from '../interface/errors.js'
import { readRegularFile } from '../interface/regular-file.js'
import { parseStrictJson } from '../interface/strict-json.js'
import type { TrustedKey } from '../interface/types.js'
import { blake3Bytes } from './hash.js'

export const PRIVATE_KEY_TYPE = 'storemesh/ed25519-private'
export const PUBLIC_KEY_TYPE = 'storemesh/ed25519-public'
export const KEY_ID_BYTES = 16
/** Key files are tiny; anything larger is not one of ours. */
export const MAX_KEY_FILE_BYTES = 16 * 1024

// PKCS#8 DER prefix of an Ed25519 private key, followed by the 32-byte seed (RFC 8410).
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

export interface SigningKey {
  keyid: string
  publicKey: Uint8Array
  sign(data: Uint8Array): Uint8Array
}

export interface PrivateSigningKey extends SigningKey {
  privatePkcs8: Uint8Array
}

export function keyIdOf (publicKey: Uint8Array): string {
  return Buffer.from(blake3Bytes(publicKey).subarray(0, KEY_ID_BYTES)).toString('hex')
}

function rawPublicKey (key: KeyObject): Uint8Array {
  const jwk = key.export({ format: 'jwk' })
  if (jwk.x === undefined) throw new StoremeshError('E_KEY_INVALID', 'not an Ed25519 key')
  return new Uint8Array(Buffer.from(jwk.x, 'base64url'))
}

export function publicKeyObject (raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new StoremeshError('E_KEY_INVALID', `Ed25519 public key must be 32 bytes, got ${raw.length}`)
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' })
}

function fromPrivateKeyObject (priv: KeyObject): PrivateSigningKey {
  if (priv.asymmetricKeyType !== 'ed25519') throw new StoremeshError('E_KEY_INVALID', 'not an Ed25519 private key')
  const publicKey = rawPublicKey(createPublicKey(priv))
  return {
    keyid: keyIdOf(publicKey),
    publicKey,
    privatePkcs8: new Uint8Array(priv.export({ format: 'der', type: 'pkcs8' })),
    sign: (data: Uint8Array) => new Uint8Array(sign(null, data, priv))
  }
}

export function generateSigningKey (): PrivateSigningKey {
  const { privateKey } = generateKeyPairSync('ed25519')
  return fromPrivateKeyObject(privateKey)
}

/** A deterministic key from a 32-byte seed: for test vectors and fixtures only. */
export function signingKeyFromSeed (seed: Uint8Array): PrivateSigningKey {
  if (seed.length !== 32) throw new StoremeshError('E_KEY_INVALID', 'an Ed25519 seed is 32 bytes')
  const der = Buffer.concat([PKCS8_ED25519_PREFIX, seed])
  return fromPrivateKeyObject(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }))
}

export async function writeKeyFiles (privatePath: string, publicPath: string | undefined, key: PrivateSigningKey): Promise<void> {
  const pub = { type: PUBLIC_KEY_TYPE, keyid: key.keyid, publicKey: Buffer.from(key.publicKey).toString('base64') }
  const priv = { ...pub, type: PRIVATE_KEY_TYPE, privateKey: Buffer.from(key.privatePkcs8).toString('base64') }
  await writeFileAtomic(privatePath, JSON.stringify(priv, null, 2) + '\n', { mode: 0o600 })
  if (publicPath !== undefined) await writeFileAtomic(publicPath, JSON.stringify(pub, null, 2) + '\n', { mode: 0o644 })
}

async function readKeyJson (path: string): Promise<Record<string, unknown>> {
  const bytes = await readRegularFile(path, { what: `key file ${path}`, maxBytes: MAX_KEY_FILE_BYTES, codes: { tooLarge: 'E_KEY_INVALID' } })
  try {
    const v = parseStrictJson(bytes, 'key file', { code: 'E_KEY_INVALID' })
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>
  } catch {}
  throw new StoremeshError('E_KEY_INVALID', `${path} is not a storemesh key file (a swarm key or other file?)`, { path })
}

export async function readSigningKeyFile (path: string): Promise<PrivateSigningKey> {
  const j = await readKeyJson(path)
  if (j.type !== PRIVATE_KEY_TYPE || typeof j.privateKey !== 'string') {
    throw new StoremeshError('E_KEY_INVALID', `${path} is not a private signing key (type ${String(j.type)})`, { path })
  }
  try {
    return fromPrivateKeyObject(createPrivateKey({ key: Buffer.from(j.privateKey, 'base64'), format: 'der', type: 'pkcs8' }))
  } catch (err) {
    if (err instanceof StoremeshError) throw err
    throw new StoremeshError('E_KEY_INVALID', `${path} holds a malformed private key`, { path }, { cause: err })
  }
}

export async function readTrustedKeyFile (path: string): Promise<TrustedKey> {
  const j = await readKeyJson(path)
  if (j.type !== PUBLIC_KEY_TYPE || typeof j.publicKey !== 'string') {
    throw new StoremeshError('E_KEY_INVALID', `${path} is not a public trust key (type ${String(j.type)})`, { path })
  }
  const publicKey = new Uint8Array(Buffer.from(j.publicKey, 'base64'))
  publicKeyObject(publicKey)
  const keyid = keyIdOf(publicKey)
  if (j.keyid !== undefined && j.keyid !== keyid) {
    throw new StoremeshError('E_KEY_INVALID', `${path}: key id does not match the key`, { path })
  }
  return { keyid, publicKey }
}

export async function readTrustedKeyFiles (paths: string[]): Promise<TrustedKey[]> {
  return await Promise.all(paths.map(readTrustedKeyFile))
}
