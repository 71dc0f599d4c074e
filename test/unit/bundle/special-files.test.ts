/**
 * Issue 21's soft spots: a FIFO in place of bundle.json or a chunk file made
 * `bundle verify` and `bundle inspect` hang forever, a directory as bundle.json and a
 * facts file of /dev/zero ended in E_INTERNAL. Each is now refused quickly with a
 * stable code; the timeouts fail the test if anything blocks.
 */
import { execFileSync } from 'node:child_process'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { inspectBundleDir } from '../../../src/bundle/inspect.js'
import { bundleJsonPath, chunkPathIn } from '../../../src/bundle/layout.js'
import { verifyBundleDir } from '../../../src/bundle/verify.js'
import { collectFacts, parseDeviceConfig } from '../../../src/install/facts.js'
import { FIXTURE_TRUST, simpleBundle, writeBundleDir } from '../../support/bundles.js'
import { tempDir } from '../../support/store-fixture.js'

const REFUSAL_TIMEOUT_MS = 10_000

async function bundleDir (t: Parameters<typeof tempDir>[0]): Promise<{ dir: string, firstChunk: string }> {
  const dir = await tempDir(t)
  const fixture = simpleBundle(21, 3, 4096)
  await writeBundleDir(dir, fixture)
  return { dir, firstChunk: fixture.info.pieces[0]!.hash }
}

t.test('a FIFO as bundle.json: verify and inspect refuse at once', { timeout: REFUSAL_TIMEOUT_MS }, async t => {
  const { dir } = await bundleDir(t)
  await rm(bundleJsonPath(dir))
  execFileSync('mkfifo', [bundleJsonPath(dir)])
  await t.rejects(verifyBundleDir(dir, FIXTURE_TRUST), { code: 'E_FILE_NOT_REGULAR', meta: { kind: 'FIFO' } })
  await t.rejects(inspectBundleDir(dir), { code: 'E_FILE_NOT_REGULAR', meta: { kind: 'FIFO' } })
})

t.test('a directory as bundle.json is E_FILE_NOT_REGULAR, not E_INTERNAL', { timeout: REFUSAL_TIMEOUT_MS }, async t => {
  const { dir } = await bundleDir(t)
  await rm(bundleJsonPath(dir))
  await mkdir(bundleJsonPath(dir))
  await t.rejects(verifyBundleDir(dir, FIXTURE_TRUST), { code: 'E_FILE_NOT_REGULAR', meta: { kind: 'directory' } })
  await t.rejects(inspectBundleDir(dir), { code: 'E_FILE_NOT_REGULAR' })
})

t.test('a FIFO as a chunk file is a content problem, found without reading it', { timeout: REFUSAL_TIMEOUT_MS }, async t => {
  const { dir, firstChunk } = await bundleDir(t)
  await rm(chunkPathIn(dir, firstChunk))
  execFileSync('mkfifo', [chunkPathIn(dir, firstChunk)])
  const r = await verifyBundleDir(dir, FIXTURE_TRUST)
  t.equal(r.problems.length, 1)
  t.match(r.problems[0], { code: 'E_FILE_NOT_REGULAR', chunk: 0, hash: firstChunk, message: /FIFO/ })
  t.equal((await inspectBundleDir(dir)).id, r.info.id, 'inspect reads no chunk')
})

t.test('factsFile: /dev/zero is refused with a stable code', { timeout: REFUSAL_TIMEOUT_MS }, async t => {
  const dir = await tempDir(t)
  const config = parseDeviceConfig('deviceId: pos-17\ndeviceClass: pos\nfactsFile: /dev/zero\ntrust:\n  keys: [k.pub]\n')
  await t.rejects(collectFacts(config, { dataDir: dir }), { code: 'E_FILE_NOT_REGULAR', meta: { path: '/dev/zero', kind: 'character device' } })
  await writeFile(join(dir, 'big.yaml'), 'x'.repeat(300 * 1024))
  const big = parseDeviceConfig('deviceId: pos-17\ndeviceClass: pos\nfactsFile: big.yaml\ntrust:\n  keys: [k.pub]\n')
  await t.rejects(collectFacts(big, { dataDir: dir }), { code: 'E_CONFIG_INVALID' }, 'over the facts file limit')
})
