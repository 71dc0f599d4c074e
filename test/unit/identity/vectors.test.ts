import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { signingKeyFromSeed } from '../../../src/bundle/keys.js'
import { revocationSetOf, verifyCertificate, verifyRevocationList } from '../../../src/identity/index.js'
import { isStoremeshError } from '../../../src/interface/errors.js'
import { REPO_ROOT } from '../../support/cli.js'
import { computeVectors, ENROLMENT_SEED, type VerifyCase } from './vectors-lib.js'

const VECTORS_PATH = join(REPO_ROOT, 'protocols', 'identity', 'vectors.json')

interface Vectors {
  enrolmentKey: { publicKeyHex: string, keyid: string }
  revocationList: { bytes: string }
  cases: VerifyCase[]
}

const load = async (): Promise<Vectors> => JSON.parse(await readFile(VECTORS_PATH, 'utf8')) as Vectors

t.test('the published vectors are what the code computes', async t => {
  const published = JSON.parse(await readFile(VECTORS_PATH, 'utf8')) as Record<string, unknown>
  t.same(await computeVectors(), published)
})

t.test('every published case verifies to its expected answer', async t => {
  const v = await load()
  const trust = [{ keyid: v.enrolmentKey.keyid, publicKey: new Uint8Array(Buffer.from(v.enrolmentKey.publicKeyHex, 'hex')) }]
  t.equal(trust[0]?.keyid, signingKeyFromSeed(ENROLMENT_SEED).keyid, 'the published key is the seed key')
  const list = verifyRevocationList(new TextEncoder().encode(v.revocationList.bytes), trust)
  t.equal(list.signed.version, 3)
  t.ok(v.cases.length >= 10)
  for (const c of v.cases) {
    let got = 'ok'
    try {
      const who = verifyCertificate(new TextEncoder().encode(c.certificate), {
        trust,
        nowMs: Date.parse(c.now),
        ...(c.peerId !== undefined ? { peerId: c.peerId } : {}),
        ...(c.storeId !== undefined ? { storeId: c.storeId } : {}),
        ...(c.withRevocations ? { revocations: revocationSetOf(list) } : {})
      })
      t.equal(who.deviceId, 'pos-17', `${c.name}: device id`)
    } catch (err) {
      if (!isStoremeshError(err)) throw err
      got = err.code
    }
    t.equal(got, c.expect, c.name)
  }
})
