import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { buildBundle } from '../../../src/bundle/build.js'
import { chunkSizes } from '../../../src/bundle/fastcdc.js'
import { blake3Hex } from '../../../src/bundle/hash.js'
import { signingKeyFromSeed } from '../../../src/bundle/keys.js'
import { bundleJsonPath } from '../../../src/bundle/layout.js'
import { decodeManifest } from '../../../src/bundle/manifest.js'
import { REPO_ROOT } from '../../support/cli.js'
import { computeVectors, fixtureBytes, VECTOR_CREATED, VECTOR_KEY_SEED, type VectorCase } from './vectors-lib.js'

const VECTORS_PATH = join(REPO_ROOT, 'protocols', 'bundle', 'vectors.json')

interface Vectors {
  cases: VectorCase[]
  manifest: {
    fields: { name: string, version: string, deviceClass: string, cycle: string, requiresConfig: string, expiresAt: string }
    artifactCase: string
    bundleId: string
    bundleJsonBlake3: string
    canonicalSignedBody: string
  }
}

t.test('the published vectors are what the code computes', async t => {
  const published = JSON.parse(await readFile(VECTORS_PATH, 'utf8')) as Record<string, unknown>
  t.same(computeVectors(), published)
})

t.test('the plain JavaScript chunker gives the same cases', async t => {
  const v = JSON.parse(await readFile(VECTORS_PATH, 'utf8')) as Vectors
  for (const c of v.cases) {
    const sizes = chunkSizes(fixtureBytes(c.fixture), c.chunking, 'js')
    t.same(sizes, c.artifact.chunks.map(x => x.size), c.name)
  }
})

t.test('bundle build of the vector fixture gives the vector bundle id and bytes', async t => {
  const v = JSON.parse(await readFile(VECTORS_PATH, 'utf8')) as Vectors
  const dir = t.testdir()
  const c = v.cases.find(x => x.name === v.manifest.artifactCase)
  if (c === undefined) throw new Error('vectors.json names no artifact case')
  const path = join(dir, c.name)
  await writeFile(path, fixtureBytes(c.fixture))
  const key = signingKeyFromSeed(VECTOR_KEY_SEED)
  const out = join(dir, 'bundle')
  const info = await buildBundle({
    ...v.manifest.fields,
    artifacts: [path],
    keys: [key],
    outDir: out,
    now: new Date(VECTOR_CREATED),
    chunking: c.chunking,
    chunker: { readBytes: 4096 + 17 }
  })
  t.equal(info.id, v.manifest.bundleId)
  const bytes = await readFile(bundleJsonPath(out))
  t.equal(blake3Hex(bytes), v.manifest.bundleJsonBlake3)
  const decoded = decodeManifest(bytes, { keys: [key], nowMs: Date.parse(VECTOR_CREATED) })
  t.equal(decoded.id, v.manifest.bundleId)
})
