/**
 * A fleet member that claims a whole bundle and never serves (test/support/lan-hoarder.ts)
 * beside a super-seeding hub and one honest device, all separate processes on real
 * mDNS. Before issue #20 the hub offered nothing while the hoarder claimed every chunk,
 * until its 15 s stall fallback; now its claims are not counted until it serves, so
 * the hub keeps offering, never needs the fallback, and reports the hoarder.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { openStore } from '../../src/store/index.js'
import { REPO_ROOT, scriptArgs } from '../support/cli.js'
import {
  adopt, bundleOf, lanFixture, makeBundleDir, readStatus, spawnDevice, spawnHub, stopProc, waitUntil
} from '../support/lan-fixture.js'

const MiB = 1024 * 1024

t.test('a hoarder with a full bitfield does not freeze super-seeding', async t => {
  const f = await lanFixture(t)
  const { outDir, info } = await makeBundleDir(f.dir, 'fleet-os', 3 * MiB, 29)
  const hub = spawnHub(f, join(f.dir, 'hub'), ['--bundle', outDir, '--upload-limit', '2MiB/s'])
  const hoardDir = join(f.dir, 'hoarder')
  const child = spawn(process.execPath, [...scriptArgs('test/support/lan-hoarder.ts', { polyfill: true }),
    hoardDir, outDir, f.swarmKeyPath, f.trustPath, f.serviceTag], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  const hoarder = adopt(f, child, hoardDir)
  await waitUntil('hoarder ready', async () => hoarder.stdout().includes('"ready"'), 60_000, [hoarder])
  await waitUntil('hub seeding, the hoarder connected', async () => {
    const b = bundleOf(await readStatus(hub.dataDir), info.id)
    return b?.joined === true && b.superseed && b.peers >= 1
  }, 60_000, [hub, hoarder])

  const device = spawnDevice(f, join(f.dir, 'dev'))
  await waitUntil('honest device verified', async () => bundleOf(await readStatus(device.dataDir), info.id)?.state === 'verified',
    90_000, [hub, hoarder, device])
  const hubBundle = bundleOf(await readStatus(hub.dataDir), info.id)
  t.comment(`hub: ${(hubBundle?.bytes.lan.up ?? 0) / info.totalBytes} copies up, fallback reveals ${hubBundle?.superseedFallbackReveals}`)
  t.equal(hubBundle?.superseedFallbackReveals, 0, 'the hub kept offering: its stall fallback never ran')

  // the hoarder never proves itself: after proveWithinMs (2 x 15 s) the hub counts it
  await waitUntil('hub reports the hoarder', async () => (bundleOf(await readStatus(hub.dataDir), info.id)?.hoarders ?? 0) >= 1,
    60_000, [hub, hoarder])
  t.pass('the hoarder is counted')

  await Promise.all([hub, hoarder, device].map(async p => await stopProc(p)))
  const store = await openStore({ dataDir: join(device.dataDir, 'store') })
  try {
    const v = await store.verifyChunks()
    t.equal(v.dropped, 0, `every one of ${v.checked} stored chunks is good`)
  } finally {
    await store.stop()
  }
})
