/**
 * Trust news in report 1.2.0 answers (src/roles/trust-exchange.ts) between a hub's and
 * a device's real data directories (root chain files, timestamp.json): the device says
 * what it holds, the hub answers what it lacks through the real wire encoding, and the
 * device verifies and keeps it: the new root, then a timestamp statement by itself
 * with no root or bundle news. A forged statement is refused, named, and changes nothing.
 */
import { readFile } from 'node:fs/promises'
import t from 'tap'
import { generateSigningKey, type PrivateSigningKey } from '../../../src/bundle/keys.js'
import {
  buildRootBody, installTimestamp, readTimestampFile, RootTrust, signRoot, signTimestamp, timestampPath, type Timestamp
} from '../../../src/identity/root/index.js'
import type { StoremeshError } from '../../../src/interface/errors.js'
import type { TrustedKey } from '../../../src/interface/types.js'
import { decodeReportResponseV12, encodeReportResponseV12, type ReportAckV12, type TrustNews } from '../../../src/ledger/report/messages-v12.js'
import { TrustExchange } from '../../../src/roles/trust-exchange.js'
import { tempDir } from '../../support/store-fixture.js'

const DAY_MS = 86_400_000
const HOUR_MS = 3_600_000
const BUNDLE_ID = 'b3:' + 'ab'.repeat(32)
const pub = (k: PrivateSigningKey): TrustedKey => ({ keyid: k.keyid, publicKey: k.publicKey })

function statement (key: PrivateSigningKey, issuedMs: number): Timestamp {
  return signTimestamp({ entries: [{ deviceClass: 'pos', bundleId: BUNDLE_ID }], issuedAt: new Date(issuedMs), expiresAt: new Date(issuedMs + DAY_MS) }, [key])
}

/** The hub's answer to what the device holds, through the 1.2.0 answer's encoding. */
async function round (hub: TrustExchange, device: TrustExchange): Promise<TrustNews | undefined> {
  const news = await hub.newsFor({ orderCursor: '0'.repeat(32), ...await device.have() })
  const answer: ReportAckV12 = { status: 'ok', ackedSeq: 0, orders: [], orderCursor: 'c'.repeat(32), ...(news !== undefined ? { trust: news } : {}) }
  const wire = decodeReportResponseV12(encodeReportResponseV12(answer))
  return wire.status === 'ok' ? (wire as ReportAckV12).trust : undefined
}

t.test('a device gets the new root and then timestamp statements by themselves from its hub\'s report answers', async t => {
  const release = generateSigningKey()
  const rootKey = generateSigningKey()
  const tsKey = generateSigningKey()
  const one = (k: PrivateSigningKey): { keys: TrustedKey[], threshold: number } => ({ keys: [pub(k)], threshold: 1 })
  const r1 = signRoot(buildRootBody({
    version: 1, issuedAt: new Date(Date.now() - DAY_MS), expiresAt: new Date(Date.now() + 30 * DAY_MS),
    roles: { root: one(rootKey), release: one(release), policy: one(release), enrolment: one(rootKey), timestamp: one(tsKey) }
  }), [rootKey, release])
  const hubDir = await tempDir(t)
  const devDir = await tempDir(t)
  const hubRoot = await RootTrust.open(hubDir, { keys: [pub(release)] })
  await hubRoot.enrol(r1)
  const first = statement(tsKey, Date.now() - 2 * HOUR_MS)
  await installTimestamp(hubDir, first, hubRoot.trust('timestamp'))
  const devRoot = await RootTrust.open(devDir, { keys: [pub(release)] })
  const refused: Array<{ what: string, err: StoremeshError }> = []
  const hub = new TrustExchange({ dataDir: hubDir, root: hubRoot })
  const device = new TrustExchange({ dataDir: devDir, root: devRoot, onRefused: (what, err) => { refused.push({ what, err }) } })

  t.same(await device.have(), { rootVersion: 0, timestampIssuedMs: 0 })
  const news1 = await round(hub, device)
  t.same(news1?.roots?.map(r => r.signed.version), [1], 'the root the device lacks')
  t.equal(news1?.timestamp?.signed.issuedAt, first.signed.issuedAt, 'and the statement')
  t.equal(await device.accept(news1!), true)
  t.equal(devRoot.version, 1, 'the device walked to root 1')
  t.equal((await readTimestampFile(devDir, devRoot.trust('timestamp')))?.signed.issuedAt, first.signed.issuedAt,
    'and keeps the statement, verified by root 1\'s timestamp role (it names a key the static list does not)')
  t.equal(await round(hub, device), undefined, 'nothing new: the answer carries no trust')

  // a new statement on the hub, no new root and no new bundle: it travels by itself
  const second = statement(tsKey, Date.now() - HOUR_MS)
  await installTimestamp(hubDir, second, hubRoot.trust('timestamp'))
  const news2 = await round(hub, device)
  t.equal(news2?.roots, undefined)
  t.equal(news2?.timestamp?.signed.issuedAt, second.signed.issuedAt)
  t.equal(await device.accept(news2!), true)
  t.same(await device.have(), { rootVersion: 1, timestampIssuedMs: Date.parse(second.signed.issuedAt) })

  // a forged statement (a key outside the timestamp role) and a replayed older one
  const before = await readFile(timestampPath(devDir))
  t.equal(await device.accept({ timestamp: statement(generateSigningKey(), Date.now()) }), false)
  t.equal(await device.accept({ timestamp: first }), false)
  t.same(refused.map(r => [r.what, r.err.code]), [['timestamp', 'E_SIGNATURE_UNTRUSTED'], ['timestamp', 'E_TIMESTAMP_ROLLBACK']], 'each refused with its code')
  t.same(await readFile(timestampPath(devDir)), before, 'the statement held is unchanged')
  t.equal(await device.accept({ timestamp: second }), false, 'the same statement again keeps nothing new')
})

t.test('an asker that keeps no trust (no rootVersion, no timestampIssuedMs in have) gets none', async t => {
  const dir = await tempDir(t)
  const key = generateSigningKey()
  const root = await RootTrust.open(dir, { keys: [pub(key)] })
  await installTimestamp(dir, statement(key, Date.now()), root.trust('timestamp'))
  const hub = new TrustExchange({ dataDir: dir, root })
  t.equal(await hub.newsFor({ orderCursor: '0'.repeat(32) }), undefined)
  t.equal(await hub.newsFor(undefined), undefined)
  t.ok((await hub.newsFor({ timestampIssuedMs: 0 }))?.timestamp)
})
