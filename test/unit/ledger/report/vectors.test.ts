/** protocols/report/vectors.json (1.2.0): what the encoders write, and every bad case refused naming its field. */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { signingKeyFromSeed } from '../../../../src/bundle/keys.js'
import { verifyRevocationList } from '../../../../src/identity/revocation.js'
import { verifyTimestamp } from '../../../../src/identity/root/timestamp.js'
import { isStoremeshError } from '../../../../src/interface/errors.js'
import {
  decodeReportRequestV12, decodeReportResponseV12, encodeReportRequestV12, encodeReportResponseV12, type ReportAckV12
} from '../../../../src/ledger/report/messages-v12.js'
import { REPO_ROOT } from '../../../support/cli.js'
import { computeVectors, ENROLMENT_SEED, type BadCase } from './vectors-lib.js'
import { SEEDS } from '../../identity/root/vectors-lib.js'

const VECTORS_PATH = join(REPO_ROOT, 'protocols', 'report', 'vectors.json')
interface Vectors { good: { requests: Array<{ name: string, bytes: string }>, responses: Array<{ name: string, bytes: string }> }, bad: BadCase[] }
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)
const text = (b: Uint8Array): string => new TextDecoder().decode(b)

t.test('the published vectors are what the code computes', async t => {
  t.same(computeVectors(), JSON.parse(await readFile(VECTORS_PATH, 'utf8')))
})

t.test('good messages decode and encode back to the same bytes', async t => {
  const v = JSON.parse(await readFile(VECTORS_PATH, 'utf8')) as Vectors
  for (const r of v.good.requests) t.equal(text(encodeReportRequestV12(decodeReportRequestV12(bytes(r.bytes)))), r.bytes, r.name)
  for (const r of v.good.responses) t.equal(text(encodeReportResponseV12(decodeReportResponseV12(bytes(r.bytes)))), r.bytes, r.name)
})

t.test('the signed documents in an answer verify with the existing verifiers', async t => {
  const v = JSON.parse(await readFile(VECTORS_PATH, 'utf8')) as Vectors
  const a = decodeReportResponseV12(bytes(v.good.responses[0]!.bytes)) as ReportAckV12
  const enrol = signingKeyFromSeed(ENROLMENT_SEED)
  const ts = signingKeyFromSeed(SEEDS.other)
  t.equal(verifyRevocationList(a.trust!.revocations, [{ keyid: enrol.keyid, publicKey: enrol.publicKey }]).signed.version, 3)
  t.ok(verifyTimestamp(a.trust!.timestamp!, { keys: [{ keyid: ts.keyid, publicKey: ts.publicKey }], nowMs: Date.parse('2025-06-01T12:00:00.000Z') }))
  t.equal(a.trust!.roots![0]!.signed.version, 2)
  t.equal(a.fleetOrders!.length, 3)
})

t.test('every bad case is E_WIRE_MALFORMED naming its field', async t => {
  const v = JSON.parse(await readFile(VECTORS_PATH, 'utf8')) as Vectors
  t.ok(v.bad.length >= 10)
  for (const c of v.bad) {
    try {
      if (c.message === 'request') decodeReportRequestV12(bytes(c.body))
      else decodeReportResponseV12(bytes(c.body))
      t.fail(`${c.name}: accepted`)
    } catch (err) {
      if (!isStoremeshError(err)) throw err
      t.equal(err.code, 'E_WIRE_MALFORMED', c.name)
      t.ok(String(err.meta.field).startsWith(c.field), `${c.name}: field ${String(err.meta.field)} starts with ${c.field}`)
    }
  }
})
