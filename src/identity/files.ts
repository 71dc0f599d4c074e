/**
 * Certificate and revocation list files. A node keeps its certificate next to its
 * peer key (src/net/identity.ts), `<dataDir>/node-certificate.json`, and the newest
 * revocation list it verified in `<dataDir>/revocations.json`.
 */
import { join } from 'node:path'
import { writeFileAtomic } from '../interface/atomic-file.js'
import { StoremeshError } from '../interface/errors.js'
import { readRegularFileIfExists } from '../interface/regular-file.js'
import { decodeCertificate, encodeCertificate, type NodeCertificate } from './certificate.js'
import { CERTIFICATE_FILE, MAX_CERTIFICATE_BYTES, MAX_REVOCATION_LIST_BYTES, REVOCATION_LIST_FILE } from './constants.js'
import { decodeRevocationList, encodeRevocationList, type RevocationList } from './revocation.js'

export function certificatePath (dataDir: string): string {
  return join(dataDir, CERTIFICATE_FILE)
}

export function revocationListPath (dataDir: string): string {
  return join(dataDir, REVOCATION_LIST_FILE)
}

/**
 * A regular file's bytes within `maxBytes` (src/interface/regular-file.ts: no FIFO,
 * device or directory), or undefined when it does not exist. Too large is the
 * identity decoders' E_CERT_INVALID.
 */
export async function readBoundedFile (path: string, maxBytes: number): Promise<Uint8Array | undefined> {
  const bytes = await readRegularFileIfExists(path, { maxBytes, codes: { tooLarge: 'E_CERT_INVALID' } })
  return bytes === undefined ? undefined : new Uint8Array(bytes)
}

async function required (path: string, maxBytes: number): Promise<Uint8Array> {
  const bytes = await readBoundedFile(path, maxBytes)
  if (bytes === undefined) throw new StoremeshError('E_FILE_NOT_FOUND', `no such file: ${path}`, { path })
  return bytes
}

/** A certificate file, well formed (not yet verified). E_FILE_NOT_FOUND, E_CERT_INVALID. */
export async function readCertificateFile (path: string): Promise<NodeCertificate> {
  return decodeCertificate(await required(path, MAX_CERTIFICATE_BYTES))
}

export async function writeCertificateFile (path: string, cert: NodeCertificate): Promise<void> {
  await writeFileAtomic(path, Buffer.concat([encodeCertificate(cert), Buffer.from('\n')]), { mode: 0o644 })
}

/** A revocation list file, well formed (not yet verified); undefined when absent. */
export async function readRevocationListFile (path: string): Promise<RevocationList | undefined> {
  const bytes = await readBoundedFile(path, MAX_REVOCATION_LIST_BYTES)
  return bytes === undefined ? undefined : decodeRevocationList(bytes)
}

export async function writeRevocationListFile (path: string, list: RevocationList): Promise<void> {
  await writeFileAtomic(path, Buffer.concat([encodeRevocationList(list), Buffer.from('\n')]), { mode: 0o644 })
}

/** The node's own certificate in its data dir, or undefined when it has none. */
export async function loadNodeCertificate (dataDir: string): Promise<NodeCertificate | undefined> {
  const bytes = await readBoundedFile(certificatePath(dataDir), MAX_CERTIFICATE_BYTES)
  return bytes === undefined ? undefined : decodeCertificate(bytes)
}
