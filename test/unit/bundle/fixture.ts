/** Shared set-up for the bundle tests: keys on disk, artifacts, hand-made manifests. */
import { randomBytes } from 'node:crypto'
import { readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { canonicalize } from '../../../src/bundle/canonical.js'
import { generateSigningKey, writeKeyFiles, type PrivateSigningKey } from '../../../src/bundle/keys.js'
import { bundleJsonPath, CHUNKS_DIR } from '../../../src/bundle/layout.js'
import type { Signature } from '../../../src/interface/types.js'

export interface KeyFiles {
  key: PrivateSigningKey
  privatePath: string
  publicPath: string
}

export async function makeKey (dir: string, name: string): Promise<KeyFiles> {
  const key = generateSigningKey()
  const privatePath = join(dir, `${name}.key`)
  const publicPath = join(dir, `${name}.pub`)
  await writeKeyFiles(privatePath, publicPath, key)
  return { key, privatePath, publicPath }
}

export async function randomFile (path: string, sizeBytes: number): Promise<Buffer> {
  const data = randomBytes(sizeBytes)
  await writeFile(path, data)
  return data
}

/** Signs any body, valid or not, and writes it as the folder's bundle.json. */
export async function writeSigned (dir: string, body: unknown, keys: PrivateSigningKey[]): Promise<void> {
  const bytes = canonicalize(body)
  const signatures: Signature[] = keys.map(k => ({ keyid: k.keyid, sig: Buffer.from(k.sign(bytes)).toString('base64') }))
  await writeFile(bundleJsonPath(dir), canonicalize({ signed: body, signatures }))
}

/** Every chunk file path in a bundle folder. */
export async function chunkFiles (dir: string): Promise<string[]> {
  const out: string[] = []
  const root = join(dir, CHUNKS_DIR)
  for (const sub of await readdir(root)) {
    for (const f of await readdir(join(root, sub))) out.push(join(root, sub, f))
  }
  return out.sort()
}
