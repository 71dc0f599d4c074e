/**
 * The test vectors of protocols/origin/SPEC.md, computed: a two-version bundle of a
 * fixed key published into a temp origin; every object's key and BLAKE3, and the
 * second index in full, the timestamp role's `timestamp.json` (the same key signs it
 * here) in full, and root 1 (`roots/1.json`, every role the same key) as `root publish` writes it. make-vectors.ts writes them, vectors.test.ts compares.
 */
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { signingKeyFromSeed } from '../../../src/bundle/keys.js'
import { blake3Hex } from '../../../src/bundle/hash.js'
import { buildRootBody, encodeTimestamp, perRole, signRoot, signTimestamp } from '../../../src/identity/root/index.js'
import { ORIGIN_TIMESTAMP_KEY, publishBundle, rootKey } from '../../../src/origin/index.js'
import { publishRoots } from '../../../src/origin/publish-root.js'
import { signedBundle, writeBundleDir } from '../../support/bundles.js'

export const VECTOR_SEED_HEX = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f'

export interface OriginVectors {
  description: string
  key: { seedHex: string, keyid: string }
  bundles: Array<{ version: string, id: string }>
  /** every file of the origin after both publishes: key → BLAKE3 of its bytes */
  objects: Record<string, string>
  /** `index/pos.json` as published, byte for byte */
  index: string
  /** `timestamp.json` as `root timestamp --origin` writes it, byte for byte */
  timestamp: string
  /** `roots/<version>.json` as `root publish --origin` writes them, byte for byte */
  roots: Record<string, string>
}

/** Fixed times: the vector's bytes do not depend on when it is computed. */
const TIMESTAMP_ISSUED = new Date('2026-12-01T00:00:00.000Z')
const TIMESTAMP_EXPIRES = new Date('2026-12-02T00:00:00.000Z')
const ROOT_EXPIRES = new Date('2027-12-01T00:00:00.000Z')

export async function computeOriginVectors (): Promise<OriginVectors> {
  const key = signingKeyFromSeed(new Uint8Array(Buffer.from(VECTOR_SEED_HEX, 'hex')))
  const enc = new TextEncoder()
  const chunk = (s: string): Uint8Array => enc.encode(s)
  const v1 = signedBundle({ keys: [key], artifacts: [{ name: 'app.bin', chunks: [chunk('storemesh origin vector chunk A'), chunk('storemesh origin vector chunk B')] }], body: { version: '1.0.0' } })
  const v2 = signedBundle({ keys: [key], artifacts: [{ name: 'app.bin', chunks: [chunk('storemesh origin vector chunk A'), chunk('storemesh origin vector chunk C')] }], body: { version: '1.1.0' } })
  const root = await mkdtemp(join(tmpdir(), 'origin-vectors-'))
  try {
    const origin = join(root, 'origin')
    for (const [i, b] of [v1, v2].entries()) {
      await writeBundleDir(join(root, `b${i}`), b)
      await publishBundle(join(root, `b${i}`), origin, { keys: [key] })
    }
    const ts = signTimestamp({ entries: [{ deviceClass: 'pos', bundleId: v2.info.id }], issuedAt: TIMESTAMP_ISSUED, expiresAt: TIMESTAMP_EXPIRES }, [key])
    await writeFile(join(origin, ORIGIN_TIMESTAMP_KEY), Buffer.concat([encodeTimestamp(ts), Buffer.from('\n')]))
    const pub = { keyid: key.keyid, publicKey: key.publicKey }
    const root1 = signRoot(buildRootBody({ version: 1, issuedAt: TIMESTAMP_ISSUED, expiresAt: ROOT_EXPIRES, roles: perRole(() => ({ keys: [pub], threshold: 1 })) }), [key])
    await publishRoots(origin, [root1])
    const objects: Record<string, string> = {}
    for (const e of (await readdir(origin, { recursive: true, withFileTypes: true })).filter(e => e.isFile())) {
      const path = join(e.parentPath, e.name)
      objects[relative(origin, path)] = blake3Hex(await readFile(path))
    }
    const sorted = Object.fromEntries(Object.entries(objects).sort(([a], [b]) => a.localeCompare(b)))
    return {
      description: 'Test vectors of protocols/origin/SPEC.md; regenerate with `node --import tsx test/unit/origin/make-vectors.ts`.',
      key: { seedHex: VECTOR_SEED_HEX, keyid: key.keyid },
      bundles: [{ version: '1.0.0', id: v1.info.id }, { version: '1.1.0', id: v2.info.id }],
      objects: sorted,
      index: await readFile(join(origin, 'index', 'pos.json'), 'utf8'),
      timestamp: await readFile(join(origin, ORIGIN_TIMESTAMP_KEY), 'utf8'),
      roots: { [rootKey(1)]: await readFile(join(origin, rootKey(1)), 'utf8') }
    }
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}
