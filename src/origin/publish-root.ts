/**
 * `storemesh root publish --origin <dir>`: puts roots into an origin folder as
 * `roots/<version>.json` (protocols/origin/SPEC.md "Layout"), where super hubs pulling
 * through from it find them (root-source.ts). Checked before anything is written, so an
 * origin never serves a root that no super hub would take:
 *
 * - each root is signed by a threshold of its own root keys (E_ROOT_SIGNATURE);
 * - a root whose previous version the origin holds, or that is published with it,
 *   chains from it (version + 1, a threshold of the old root keys: E_ROOT_SIGNATURE);
 *   root 1 of a fleet on static keys, or the first root an origin gets, is checked
 *   against its own keys only (the origin does not know the static keys);
 * - a version already there with other bytes is refused (E_ROOT_ROLLBACK): a
 *   published root is never replaced; the same bytes again are nothing to do.
 *
 * Each file is written to a temporary name and renamed, lowest version first, so a
 * reader walking versions upward never finds a gap that a killed publish left.
 */
import { join } from 'node:path'
import { verifyNextRoot, verifySelfSigned, type TrustState } from '../identity/root/chain.js'
import { MAX_ROOT_BYTES } from '../identity/root/constants.js'
import { decodeRoot, encodeRoot, type RootDocument } from '../identity/root/document.js'
import { writeFileAtomic } from '../interface/atomic-file.js'
import { StoremeshError } from '../interface/errors.js'
import { readRegularFileIfExists } from '../interface/regular-file.js'
import { rootKey } from './layout.js'

export interface RootPublishResult {
  /** versions written */
  written: number[]
  /** versions already there, byte for byte */
  present: number[]
}

async function heldAt (originDir: string, version: number): Promise<RootDocument | undefined> {
  if (version < 1) return undefined
  const path = join(originDir, rootKey(version))
  const bytes = await readRegularFileIfExists(path, { maxBytes: MAX_ROOT_BYTES, what: path, codes: { tooLarge: 'E_ROOT_INVALID' } })
  return bytes === undefined ? undefined : decodeRoot(new Uint8Array(bytes))
}

export async function publishRoots (originDir: string, roots: readonly RootDocument[]): Promise<RootPublishResult> {
  const sorted = [...roots].sort((a, b) => a.signed.version - b.signed.version)
  const out: RootPublishResult = { written: [], present: [] }
  const plan: Array<{ root: RootDocument, bytes: Uint8Array }> = []
  let prev: { version: number, state: TrustState } | undefined
  for (const root of sorted) {
    const v = root.signed.version
    const bytes = encodeRoot(root)
    const there = await heldAt(originDir, v)
    if (there !== undefined) {
      if (Buffer.compare(encodeRoot(there), bytes) !== 0) {
        throw new StoremeshError('E_ROOT_ROLLBACK', `the origin already holds another root ${v} (${rootKey(v)}): a published root is never replaced`, { version: v })
      }
      out.present.push(v)
      prev = { version: v, state: verifySelfSigned(there) }
      continue
    }
    if (prev !== undefined && prev.version === v) continue // the same version twice in the input: the first decides
    let before = prev !== undefined && prev.version === v - 1 ? prev.state : undefined
    if (before === undefined) {
      const older = await heldAt(originDir, v - 1)
      if (older !== undefined) before = verifySelfSigned(older)
    }
    const state = before !== undefined ? verifyNextRoot(before, root) : verifySelfSigned(root)
    plan.push({ root, bytes })
    prev = { version: v, state }
  }
  for (const { root, bytes } of plan) {
    await writeFileAtomic(join(originDir, rootKey(root.signed.version)), Buffer.concat([bytes, Buffer.from('\n')]), { mode: 0o644 })
    out.written.push(root.signed.version)
  }
  return out
}
