/**
 * The origin's `timestamp.json` as a timestamp feed source (src/origin/timestamp-source.ts)
 * over a real file:// origin and a real data dir, written as `root timestamp --origin`
 * writes it: absent is no error; a statement is read once per change and stored by the
 * feed; the same bytes are not offered again; a forged one is refused once.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import t from 'tap'
import { generateSigningKey, type PrivateSigningKey } from '../../../src/bundle/keys.js'
import { encodeTimestamp, readTimestampFile, RootTrust, signTimestamp, TimestampFeed, type Timestamp } from '../../../src/identity/root/index.js'
import { ORIGIN_TIMESTAMP_KEY, OriginFetcher, OriginTimestampSource } from '../../../src/origin/index.js'
import { tempDir } from '../../support/store-fixture.js'

const HOUR_MS = 3_600_000
const statement = (key: PrivateSigningKey, issuedMs: number): Timestamp =>
  signTimestamp({ entries: [{ deviceClass: 'pos', bundleId: 'b3:' + 'ab'.repeat(32) }], issuedAt: new Date(issuedMs), expiresAt: new Date(issuedMs + HOUR_MS) }, [key])

t.test('the origin\'s timestamp.json feeds the super hub: read when it changes, verified, stored', async t => {
  const data = await tempDir(t)
  const origin = join(await tempDir(t), 'origin')
  await mkdir(origin)
  const key = generateSigningKey()
  const root = await RootTrust.open(data, { keys: [{ keyid: key.keyid, publicKey: key.publicKey }] })
  const source = new OriginTimestampSource(new OriginFetcher({ base: pathToFileURL(origin).href, attempts: 1 }))
  const feed = new TimestampFeed({ dataDir: data, trust: () => root.trust('timestamp'), sources: [source] })
  t.teardown(() => { feed.stop() })

  await feed.start()
  t.same(feed.counters(), { adopted: 0, refusedByCode: {}, sourceErrors: {} }, 'an origin without timestamp.json is not an error')

  const first = statement(key, Date.now() - HOUR_MS / 2)
  await writeFile(join(origin, ORIGIN_TIMESTAMP_KEY), encodeTimestamp(first))
  await feed.scan()
  t.equal((await readTimestampFile(data, root.trust('timestamp')))?.signed.issuedAt, first.signed.issuedAt, 'stored')
  t.same(await source.poll(), [], 'the same bytes are not offered again')

  await writeFile(join(origin, ORIGIN_TIMESTAMP_KEY), encodeTimestamp(statement(generateSigningKey(), Date.now())))
  await feed.scan()
  await feed.scan()
  t.same(feed.counters().refusedByCode, { E_SIGNATURE_UNTRUSTED: 1 }, 'a forged statement is refused once')
  t.equal(feed.counters().adopted, 1)
})
