/**
 * The hub's store lifecycle through the real CLI: `--store-quota` smaller than a bundle
 * is refused at start with both sizes; a quota that fits is what
 * storemesh_store_quota_bytes reports; the hub pins its newest bundle `active` and the
 * one below `last-known-good`; `hub cache evict --bundle` refuses a pinned bundle;
 * `hub cache pin|unpin` are idempotent; `hub cache evict --dry-run` changes nothing.
 */
import { join } from 'node:path'
import t from 'tap'
import type { CacheView } from '../../src/api/types.js'
import { runCli } from '../support/cli.js'
import { commonArgs, lanFixture, makeBundleDir, spawnHub, waitUntil } from '../support/lan-fixture.js'
import { freePort, HubApi, metricValue } from './hub-fixture.js'

const BUNDLE_BYTES = 512 * 1024
const QUOTA_BYTES = 8 * 1024 * 1024

t.test('hub store quota, pins and cache commands', async t => {
  const f = await lanFixture(t)
  const v1 = await makeBundleDir(f.dir, 'life-os-1', BUNDLE_BYTES, 51, '1.0.0')
  const v2 = await makeBundleDir(f.dir, 'life-os-2', BUNDLE_BYTES, 52, '2.0.0')
  const hubDir = join(f.dir, 'hub')

  const [tiny, bad, help] = await Promise.all([
    runCli(['hub', ...commonArgs(f, hubDir), '--bundle', v1.outDir, '--store-quota', '100KiB', '--no-api'], { timeoutMs: 60_000 }),
    runCli(['hub', ...commonArgs(f, join(f.dir, 'other')), '--store-quota', '5Gb', '--no-api'], { timeoutMs: 60_000 }),
    runCli(['hub', 'run', '--help'])
  ])
  t.equal(tiny.code, 64, 'a quota smaller than a bundle is a usage error')
  t.match(tiny.stderr, /^storemesh: E_QUOTA_TOO_SMALL store quota 100\.0 KiB \(102400 bytes\) is smaller than bundle life-os-1 1\.0\.0 \(512\.0 KiB, 524288 bytes\)/m, "the refusal is its own line of stderr")
  t.equal(bad.code, 64)
  t.match(bad.stderr, /^storemesh: E_INVALID_ARGUMENT invalid store quota "5Gb"/)
  t.match(help.stdout, /--store-quota <bytes\|N%>[\s\S]*\(default: "80%"\)/, 'the default is shown in --help')

  const port = await freePort()
  const hub = spawnHub(f, hubDir, ['--bundle', v1.outDir, v2.outDir, '--store-quota', String(QUOTA_BYTES), '--api-port', String(port)])
  const api = new HubApi(`http://127.0.0.1:${port}`, hubDir)
  await waitUntil('hub API up', async () => await api.up(), 60_000, [hub])
  const metrics = await api.metricsText()
  t.equal(metricValue(metrics, 'storemesh_store_quota_bytes'), QUOTA_BYTES, 'storemesh_store_quota_bytes reports the quota')
  t.equal(metricValue(metrics, 'storemesh_store_paused', { reason: 'quota' }), 0)
  t.equal(metricValue(metrics, 'storemesh_store_paused', { reason: 'disk-full' }), 0)

  const pinsOf = async (): Promise<Record<string, string>> => Object.fromEntries(
    (await api.get<CacheView>('/api/cache?limit=10')).entries.map(e => [e.version, e.pins.join(',')]))
  await waitUntil('the hub pins its bundles', async () => (await pinsOf())['1.0.0'] === 'last-known-good', 30_000, [hub])
  t.same(await pinsOf(), { '1.0.0': 'last-known-good', '2.0.0': 'active' })

  const cli = async (...args: string[]): Promise<Awaited<ReturnType<typeof runCli>>> =>
    await runCli(['hub', 'cache', ...args, '--api', api.base, '--data', hubDir], { timeoutMs: 60_000 })
  const refused = await cli('evict', '--bundle', v1.info.id)
  t.equal(refused.code, 1)
  t.match(refused.stderr, /^storemesh: E_BUNDLE_PINNED bundle b3:[0-9a-f]+ \(life-os-1 1\.0\.0\) is pinned \(last-known-good\)/)
  const pin = await cli('pin', '--bundle', v1.info.id)
  t.equal(pin.code, 0, pin.stderr)
  t.equal(pin.stdout, `${v1.info.id} pinned\n`)
  const again = await cli('pin', '--bundle', v1.info.id)
  t.match(again.stdout, /was already pinned; nothing changed/)
  t.same(await pinsOf(), { '1.0.0': 'last-known-good,manual', '2.0.0': 'active' })
  const unpin = await cli('unpin', '--bundle', v1.info.id, '--json')
  t.match(JSON.parse(unpin.stdout), { changed: true, pins: ['last-known-good'], detail: /still pinned by the hub itself/ })
  const [dry, badId] = await Promise.all([cli('evict', '--dry-run'), cli('pin', '--bundle', 'nope')])
  t.equal(dry.code, 0, dry.stderr)
  t.equal(dry.stdout, 'nothing to evict\n', 'no wave has settled: nothing goes')
  t.equal(badId.code, 64)
  t.same(await pinsOf(), { '1.0.0': 'last-known-good', '2.0.0': 'active' }, 'both bundles still held')
})
