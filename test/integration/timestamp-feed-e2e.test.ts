/**
 * Issue 21: freshness end to end over real libp2p with real processes. A `storemesh
 * super-hub --timestamp-dir <feed>` (the folder an offline timestamp signer drops
 * statements into), a store hub (`storemesh hub --super …`, holding the bundle) and a
 * device agent (`storemesh device run --install`) under it, whose signed policy gives
 * no grace past a statement's expiry (`freshnessGraceHours: 0`).
 *
 * 1. The device was last online long ago: it holds an expired statement. The feed holds
 *    a newer one that is expired too: it travels super hub → hub → device in the report
 *    answers (status.json `trust.timestampExpiresAt`), and the device defers its install
 *    with the gate's reason (`trust.freshness … expired …`); it does not install.
 * 2. A fresh statement dropped into the feed reaches the device (fresh, its expiry) and
 *    the install goes ahead.
 * 3. A later statement, with no new bundle anywhere, reaches the device by itself; a
 *    forged one dropped beside it is refused by the super hub and counted on its
 *    /metrics, and never reaches the device.
 *
 * Each hop is a held 1.2.0 report poll that the news wakes (protocols/report/SPEC.md
 * "Long-poll"): a statement stored by the feed ends the hubs' held polls, and the hub's
 * new trust ends its devices' held polls, so it arrives in the answer to the request
 * held when it was dropped (or the next one). The waits below are bounds, not timings.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { generateSigningKey, type PrivateSigningKey } from '../../src/bundle/keys.js'
import { encodeTimestamp, signTimestamp, TIMESTAMP_FILE, type Timestamp } from '../../src/identity/root/index.js'
import { spawnCli } from '../support/cli.js'
import { bootSlot, installDeviceDir } from '../support/install-device.js'
import { adopt, DEVICE_CLASS, lanFixture, makeBundleDir, readStatus, spawnDevice, spawnHub, waitUntil, type Proc } from '../support/lan-fixture.js'
import { FIXTURE_KEY } from '../support/store-fixture.js'
import { superHubAddr } from '../support/super-hub-proc.js'
import { readFile } from 'node:fs/promises'

const HOUR_MS = 3_600_000
const VERSION = '1.0.0'
/** bounds only: a held poll ends within 30 s even when nothing wakes it */
const WAIT_MS = 120_000

/** whole seconds, so the gate's ISO wording (no milliseconds) names the same instant */
function statement (key: PrivateSigningKey, bundleId: string, issuedMs: number, expiresMs: number): Timestamp {
  const s = (ms: number): Date => new Date(Math.floor(ms / 1000) * 1000)
  return signTimestamp({ entries: [{ deviceClass: DEVICE_CLASS, bundleId }], issuedAt: s(issuedMs), expiresAt: s(expiresMs) }, [key])
}

/** as a signer should: a dot name (skipped by the feed), then a rename */
async function drop (dir: string, name: string, ts: Timestamp): Promise<void> {
  await writeFile(join(dir, `.${name}`), encodeTimestamp(ts))
  await rename(join(dir, `.${name}`), join(dir, name))
}

t.test('timestamp statements dropped into the super hub\'s feed reach a device through its hub; expired past grace defers, fresh clears it', async t => {
  const f = await lanFixture(t)
  const { outDir, info } = await makeBundleDir(f.dir, 'fresh-os', 300_000, 71, VERSION)
  const now = Date.now()
  const lastSeen = statement(FIXTURE_KEY, info.id, now - 5 * HOUR_MS, now - 4 * HOUR_MS)
  const expired = statement(FIXTURE_KEY, info.id, now - 3 * HOUR_MS, now - 2 * HOUR_MS)

  // the device's data dir, with the statement it kept from its last time online
  const devDir = await installDeviceDir(f, { deviceId: 'pos-41', info, version: VERSION, wave: '171', policyName: 'timestamp-feed-e2e', leaseKind: 'none', slotSeed: 99, freshnessGraceHours: 0 })
  await writeFile(join(devDir, TIMESTAMP_FILE), encodeTimestamp(lastSeen))

  // the super hub, its feed folder holding the newer (also expired) statement
  const feed = join(f.dir, 'feed')
  await mkdir(feed)
  await drop(feed, 'ts-1.json', expired)
  const superDir = join(f.dir, 'super')
  const noBundles = join(f.dir, 'no-bundles')
  await mkdir(noBundles)
  const sup = adopt(f, spawnCli(['super-hub', '--data', superDir, '--bundles', noBundles, '--swarm-key', f.swarmKeyPath, '--trust', f.trustPath,
    '--listen', '/ip4/127.0.0.1/tcp/0', '--api-port', '0', '--timestamp-dir', feed, '--json']), superDir)
  const superAddr = await superHubAddr(sup)
  t.match(sup.stdout(), /timestamp statement from \S*ts-1\.json issued/, 'the super hub took the statement from its feed')

  const hub = spawnHub(f, join(f.dir, 'hub'), ['--bundle', outDir, '--super', superAddr, '--hub-id', 'store-ts'])
  const dev: Proc = spawnDevice(f, devDir, ['--install', '--install-interval-ms', '300', '--report-interval-ms', '300'])
  const all = [sup, hub, dev]
  const trustOf = async (): Promise<{ freshness?: string, timestampExpiresAt?: string } | undefined> => (await readStatus(devDir))?.trust

  // 1. the expired statement reaches the device; the install defers with the gate's reason
  await waitUntil('the device holds the feed\'s expired statement', async () => (await trustOf())?.timestampExpiresAt === expired.signed.expiresAt, WAIT_MS, all)
  t.equal((await trustOf())?.freshness, 'stale', 'status.json: stale')
  t.match(hub.stderr(), /from a report answer: timestamp statement issued/, 'the hub kept it from the super hub\'s answer')
  const reason = new RegExp(`deferred: .*trust\\.freshness newest timestamp statement expired ${expired.signed.expiresAt.replace('.000Z', 'Z')}`)
  await waitUntil('the device defers: trust.freshness', async () => reason.test(dev.stderr()), WAIT_MS, all)
  t.ok(true, `the device says why: ${reason.exec(dev.stderr())![0].slice(0, 200)}`)
  t.not(await bootSlot(devDir), 'b', 'nothing installed past the grace')

  // 2. a fresh statement clears it
  const fresh = statement(FIXTURE_KEY, info.id, Date.now() - 60_000, Date.now() + 24 * HOUR_MS)
  await drop(feed, 'ts-2.json', fresh)
  await waitUntil('the device holds the fresh statement', async () => (await trustOf())?.timestampExpiresAt === fresh.signed.expiresAt, WAIT_MS, all)
  t.equal((await trustOf())?.freshness, 'fresh', 'status.json: fresh')
  await waitUntil('the device installed', async () => await bootSlot(devDir) === 'b', WAIT_MS, all)
  t.pass('the install went ahead once a fresh statement arrived')

  // 3. a later statement and a forged one, no new bundle anywhere
  const later = statement(FIXTURE_KEY, info.id, Date.now(), Date.now() + 48 * HOUR_MS)
  await drop(feed, 'forged.json', statement(generateSigningKey(), info.id, Date.now() + 1000, Date.now() + 72 * HOUR_MS))
  await drop(feed, 'ts-3.json', later)
  await waitUntil('the device holds the later statement', async () => (await trustOf())?.timestampExpiresAt === later.signed.expiresAt, WAIT_MS, all)
  t.match(sup.stdout(), /refused timestamp statement \S*forged\.json: E_SIGNATURE_UNTRUSTED/, 'the super hub refused the forged one, naming the file and the code')
  const api = (JSON.parse(await readFile(join(superDir, 'api.json'), 'utf8')) as { url: string }).url
  const metrics = await (await fetch(`${api}/metrics`)).text()
  t.match(metrics, /storemesh_timestamp_feed_adopted_total 3\b/, 'three statements taken')
  t.match(metrics, /storemesh_timestamp_feed_refused_total\{code="E_SIGNATURE_UNTRUSTED"\} 1\b/, 'one refused, by code')
})
