/**
 * A store hub and six devices, each its own process through the real CLI, on
 * 127.0.0.1 with real mDNS (a service tag of their own): every device finds the hub
 * and its peers, fetches the newest bundle for its class, and holds it complete and
 * verified; afterwards every stored chunk re-hashes to its name.
 */
import t from 'tap'
import { join } from 'node:path'
import { openStore } from '../../src/store/index.js'
import { runCli } from '../support/cli.js'
import {
  bundleOf, lanFixture, makeBundleDir, readStatus, spawnDevice, spawnHub, stopProc, waitUntil, type Proc
} from '../support/lan-fixture.js'

const MiB = 1024 * 1024
const BUNDLE_BYTES = Number(process.env.STOREMESH_LAN_TEST_MIB ?? 32) * MiB
const DEVICES = Number(process.env.STOREMESH_LAN_TEST_DEVICES ?? 6)

t.test(`a hub and ${DEVICES} devices as processes all finish a ${BUNDLE_BYTES / MiB} MiB bundle`, async t => {
  const f = await lanFixture(t)
  const { outDir, info } = await makeBundleDir(f.dir, 'fleet-os', BUNDLE_BYTES, 11)
  const hub = spawnHub(f, join(f.dir, 'hub'), ['--bundle', outDir])
  await waitUntil('hub seeding', async () => bundleOf(await readStatus(hub.dataDir), info.id)?.joined === true, 60_000, [hub])

  const devices: Proc[] = []
  for (let i = 0; i < DEVICES; i++) devices.push(spawnDevice(f, join(f.dir, `dev${i}`)))
  const started = Date.now()
  await waitUntil('every device verified', async () => {
    const all = await Promise.all(devices.map(async d => bundleOf(await readStatus(d.dataDir), info.id)))
    return all.every(b => b?.state === 'verified')
  }, 240_000, [hub, ...devices])
  t.comment(`${DEVICES} devices complete and verified ${((Date.now() - started) / 1000).toFixed(1)} s after start`)

  const hubStatus = await readStatus(hub.dataDir)
  const hubUp = bundleOf(hubStatus, info.id)?.bytes.lan.up ?? 0
  t.comment(`hub uploaded ${(hubUp / info.totalBytes).toFixed(2)} copies`)
  const downs = await Promise.all(devices.map(async d => bundleOf(await readStatus(d.dataDir), info.id)?.bytes.lan.down ?? 0))
  t.ok(downs.every(d => d >= info.totalBytes), 'every device downloaded at least one copy over the LAN')
  t.ok(downs.reduce((a, b) => a + b, 0) > hubUp, 'devices also fetched from each other')

  // status works for a running peer (store locked)
  const live = await runCli(['status', '--data', devices[0]!.dataDir, '--json'])
  t.equal(live.code, 0, live.stderr)
  const liveJson = JSON.parse(live.stdout) as { running: boolean, bundles: Array<{ id: string, heldChunks: number, totalChunks: number }> }
  t.equal(liveJson.running, true)
  t.equal(liveJson.bundles[0]?.heldChunks, info.pieces.length)

  const codes = await Promise.all([hub, ...devices].map(async p => await stopProc(p)))
  t.same(codes, codes.map(() => 0), 'every process stopped cleanly on SIGTERM')

  for (const d of devices) {
    const store = await openStore({ dataDir: join(d.dataDir, 'store') })
    try {
      t.equal(store.bundleState(info.id), 'verified', `${d.dataDir} bundle verified`)
      const v = await store.verifyChunks()
      t.equal(v.dropped, 0, `${d.dataDir}: all ${v.checked} chunks re-hash to their names`)
      t.ok(v.checked >= info.pieces.length)
      await store.markVerified(info.id)
    } finally {
      await store.stop()
    }
  }
  const stopped = await runCli(['status', '--data', devices[0]!.dataDir])
  t.equal(stopped.code, 0, stopped.stderr)
  t.match(stopped.stdout, /stopped/)
  t.match(stopped.stdout, /fleet-os 1\.0\.0/)
  t.match(stopped.stdout, /100%/)
})
