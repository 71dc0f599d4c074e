/**
 * Chunk-store test set-up: a temp dir per test. The sample bundles it used to make
 * live in test/support/bundles.ts (one maker for every suite), re-exported here for
 * the store, WAN and LAN tests that import them from this file.
 */
export {
  FIXTURE_KEY, FIXTURE_TRUST, makeBundle, seededBytes, signedBundle, simpleBundle, writeBundleDir,
  type FixtureArtifact, type FixtureBundle, type FixtureOptions
} from './bundles.js'

/** A fresh temp dir removed at teardown (t.testdir() returns one dir per test, wiped on each call). */
export async function tempDir (t: { teardown: (fn: () => Promise<void>) => void }, prefix = 'storemesh-store-'): Promise<string> {
  const { mkdtemp, rm } = await import('node:fs/promises')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const dir = await mkdtemp(join(tmpdir(), prefix))
  t.teardown(async () => await rm(dir, { recursive: true, force: true }))
  return dir
}
