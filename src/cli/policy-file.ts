/**
 * `--policy <file>` of the long-running roles (`storemesh hub`, `storemesh super-hub`):
 * a signed rollout policy read from disk, size-limited and decoded; the role verifies
 * it with its own trust (docs/fleet-waves.md).
 */
import { readFile } from 'node:fs/promises'
import { toStoremeshError } from '../interface/errors.js'
import { decodeSignedPolicy } from '../policy/index.js'

export async function readPolicyFile (path: string): Promise<unknown> {
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (err) {
    throw toStoremeshError(err)
  }
  return decodeSignedPolicy(bytes)
}

export async function readPolicyFiles (paths: readonly string[] | undefined): Promise<unknown[]> {
  return await Promise.all((paths ?? []).map(readPolicyFile))
}
