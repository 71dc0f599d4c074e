import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { decodeRoot, verifySelfSigned, walkChain } from '../../../../src/identity/root/index.js'
import { isStoremeshError } from '../../../../src/interface/errors.js'
import { REPO_ROOT } from '../../../support/cli.js'
import { computeVectors, type ChainCase } from './vectors-lib.js'

const VECTORS_PATH = join(REPO_ROOT, 'protocols', 'root', 'vectors.json')

interface Vectors { roots: Array<{ document: string }>, held: number, cases: ChainCase[] }

t.test('the published vectors are what the code computes', async t => {
  t.same(computeVectors(), JSON.parse(await readFile(VECTORS_PATH, 'utf8')))
})

t.test('every published case ends on its expected version or code', async t => {
  const v = JSON.parse(await readFile(VECTORS_PATH, 'utf8')) as Vectors
  const held = verifySelfSigned(decodeRoot(new TextEncoder().encode(v.roots[v.held - 1]?.document)))
  t.ok(v.cases.length >= 10)
  for (const c of v.cases) {
    let got: number | string
    try {
      const offered = c.offered.map(s => decodeRoot(new TextEncoder().encode(s)))
      got = walkChain(held, offered, Date.parse(c.now)).state.version
    } catch (err) {
      if (!isStoremeshError(err)) throw err
      got = err.code
    }
    t.equal(got, c.expect, c.name)
  }
})
