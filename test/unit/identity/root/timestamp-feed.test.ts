/**
 * The super hub's timestamp feed (src/identity/root/timestamp-feed.ts) over a real
 * folder (timestamp-dir-source.ts) and a real data dir: a newer statement dropped in
 * replaces the one held and says so; the same one again, an older one, a forged one, a
 * torn copy, a FIFO and a directory named like a statement are each refused once with
 * their code and counted, and the statement held stays as it was.
 */
import { execFileSync } from 'node:child_process'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { generateSigningKey, type PrivateSigningKey } from '../../../../src/bundle/keys.js'
import {
  buildRootBody, encodeTimestamp, readTimestampFile, RootTrust, signRoot, signTimestamp, timestampPath, type Timestamp
} from '../../../../src/identity/root/index.js'
import { TimestampDirSource } from '../../../../src/identity/root/timestamp-dir-source.js'
import { TimestampFeed } from '../../../../src/identity/root/timestamp-feed.js'
import type { TrustedKey } from '../../../../src/interface/types.js'
import { tempDir } from '../../../support/store-fixture.js'

const HOUR_MS = 3_600_000
const pub = (k: PrivateSigningKey): TrustedKey => ({ keyid: k.keyid, publicKey: k.publicKey })
const entry = { deviceClass: 'pos', bundleId: 'b3:' + 'ab'.repeat(32) }

function statement (key: PrivateSigningKey, issuedMs: number, lifeMs = 24 * HOUR_MS): Timestamp {
  return signTimestamp({ entries: [entry], issuedAt: new Date(issuedMs), expiresAt: new Date(issuedMs + lifeMs) }, [key])
}

async function drop (dir: string, name: string, ts: Timestamp | Uint8Array): Promise<void> {
  const bytes = ts instanceof Uint8Array ? ts : encodeTimestamp(ts)
  // as a signer should: a dot name, then a rename
  await writeFile(join(dir, `.${name}.tmp`), bytes)
  await rename(join(dir, `.${name}.tmp`), join(dir, name))
}

t.test('a folder feed: newer replaces, older/forged/torn/special files are refused once each with their code', async t => {
  const data = await tempDir(t)
  const feedDir = join(await tempDir(t), 'feed')
  await mkdir(feedDir)
  const rootKey = generateSigningKey()
  const tsKey = generateSigningKey()
  const one = (k: PrivateSigningKey): { keys: TrustedKey[], threshold: number } => ({ keys: [pub(k)], threshold: 1 })
  const rt = await RootTrust.open(data, { keys: [] })
  await rt.enrol(signRoot(buildRootBody({ version: 1, expiresAt: new Date(Date.now() + 30 * 24 * HOUR_MS), roles: { root: one(rootKey), release: one(rootKey), policy: one(rootKey), enrolment: one(rootKey), timestamp: one(tsKey) } }), [rootKey]))

  const now = Date.now()
  const first = statement(tsKey, now - 2 * HOUR_MS)
  const second = statement(tsKey, now - HOUR_MS)
  const third = statement(tsKey, now - HOUR_MS / 2)
  await drop(feedDir, 'a.json', first)
  await drop(feedDir, 'b.json', second)

  const adopted: string[] = []
  const logged: Array<{ code: unknown, line: string }> = []
  const log = {
    error: () => {},
    warn: (f: Record<string, unknown>, line: string) => { logged.push({ code: f.code, line }) },
    info: (f: Record<string, unknown>, line: string) => { if (f.code !== undefined) logged.push({ code: f.code, line }) },
    debug: () => {},
    child: () => log
  }
  const feed = new TimestampFeed({ dataDir: data, trust: () => rt.trust('timestamp'), sources: [new TimestampDirSource(feedDir)], onAdopted: ts => { adopted.push(ts.signed.issuedAt) }, log: log as never })
  t.teardown(() => { feed.stop() })
  await feed.start()
  t.same(adopted, [second.signed.issuedAt], 'the newest of the folder is stored; the older one beside it is only superseded')
  t.equal((await readTimestampFile(data, rt.trust('timestamp')))?.signed.issuedAt, second.signed.issuedAt)
  t.same(feed.counters().refusedByCode, {}, 'nothing refused at start')

  await feed.scan()
  t.same(adopted.length, 1, 'a rescan of unchanged files reads nothing again')

  // a forged statement, a torn copy, a replayed older statement under a new name, a directory and a FIFO
  await drop(feedDir, 'forged.json', statement(generateSigningKey(), now))
  await drop(feedDir, 'torn.json', encodeTimestamp(third).subarray(0, 100))
  await drop(feedDir, 'replay.json', first)
  await mkdir(join(feedDir, 'dir.json'))
  execFileSync('mkfifo', [join(feedDir, 'fifo.json')])
  const held = await readFile(timestampPath(data))
  await feed.scan()
  await feed.scan()
  t.same(feed.counters().refusedByCode, { E_SIGNATURE_UNTRUSTED: 1, E_TIMESTAMP_INVALID: 1, E_TIMESTAMP_ROLLBACK: 1, E_FILE_NOT_REGULAR: 2 },
    'each refused once (two scans), by its code')
  t.same(new Set(logged.map(l => l.code)), new Set(['E_SIGNATURE_UNTRUSTED', 'E_TIMESTAMP_INVALID', 'E_TIMESTAMP_ROLLBACK', 'E_FILE_NOT_REGULAR']), 'and each logged')
  t.ok(logged.some(l => l.line.includes('replay.json')), 'naming the file')
  t.same(await readFile(timestampPath(data)), held, 'the statement held is unchanged')

  // a newer one, written in place of the torn copy: the watch (or the next scan) takes it
  await drop(feedDir, 'torn.json', third)
  await feed.scan()
  t.same(adopted, [second.signed.issuedAt, third.signed.issuedAt], 'the newer statement is stored')
  t.same(feed.counters().current, { issuedAt: third.signed.issuedAt, expiresAt: third.signed.expiresAt })
  t.equal(feed.counters().adopted, 2)
})

t.test('a statement that came before the root naming its key is taken once the trust changes (retry), not only when its file changes', async t => {
  const data = await tempDir(t)
  const feedDir = join(await tempDir(t), 'feed')
  await mkdir(feedDir)
  const rootKey = generateSigningKey()
  const oldTsKey = generateSigningKey()
  const newTsKey = generateSigningKey()
  const one = (k: PrivateSigningKey): { keys: TrustedKey[], threshold: number } => ({ keys: [pub(k)], threshold: 1 })
  const rt = await RootTrust.open(data, { keys: [] })
  await rt.enrol(signRoot(buildRootBody({ version: 1, expiresAt: new Date(Date.now() + 30 * 24 * HOUR_MS), roles: { root: one(rootKey), release: one(rootKey), policy: one(rootKey), enrolment: one(rootKey), timestamp: one(oldTsKey) } }), [rootKey]))
  // stands for the root feed adopting a root whose timestamp role names the new key
  let trust = rt.trust('timestamp')
  const adopted: string[] = []
  const feed = new TimestampFeed({ dataDir: data, trust: () => trust, sources: [new TimestampDirSource(feedDir)], onAdopted: ts => { adopted.push(ts.signed.issuedAt) } })
  t.teardown(() => { feed.stop() })
  await feed.start()
  const early = statement(newTsKey, Date.now() - HOUR_MS)
  await drop(feedDir, 'early.json', early)
  await feed.scan()
  t.same(feed.counters().refusedByCode, { E_SIGNATURE_UNTRUSTED: 1 }, 'judged before its root: refused')
  trust = { ...trust, keys: [pub(newTsKey)] }
  await feed.scan()
  t.same(adopted, [], 'a rescan alone does not read the unchanged file again')
  feed.retry()
  await feed.scan()
  t.same(adopted, [early.signed.issuedAt], 'after retry() the same file is read again and taken')
  t.equal((await readTimestampFile(data, trust))?.signed.issuedAt, early.signed.issuedAt)
})

t.test('a folder that is missing is a source error, logged and counted; the feed goes on', async t => {
  const data = await tempDir(t)
  const key = generateSigningKey()
  const rt = await RootTrust.open(data, { keys: [pub(key)] })
  const feed = new TimestampFeed({ dataDir: data, trust: () => rt.trust('timestamp'), sources: [new TimestampDirSource(join(data, 'nope'))] })
  t.teardown(() => { feed.stop() })
  await feed.start()
  t.same(feed.counters().sourceErrors, { dir: 1 })
  t.equal(feed.counters().current, undefined)
})
