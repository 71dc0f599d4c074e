/**
 * A fleet member that serves corrupted chunks (test/support/lan-bad-peer.ts) among a
 * hub and two honest devices, all separate processes on real mDNS: the devices score
 * it down and ban it, finish from honest peers, and no honest store holds a bad chunk.
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

t.test('a peer serving corrupted chunks is banned; honest peers store only good chunks', async t => {
  const f = await lanFixture(t)
  const { outDir, info } = await makeBundleDir(f.dir, 'fleet-os', 4 * MiB, 23)
  // the hub is slow on purpose, so the devices certainly ask the liar too
  const hub = spawnHub(f, join(f.dir, 'hub'), ['--bundle', outDir, '--upload-limit', '1MiB/s'])

  const badDir = join(f.dir, 'bad')
  const child = spawn(process.execPath, [...scriptArgs('test/support/lan-bad-peer.ts', { polyfill: true }),
    badDir, outDir, f.swarmKeyPath, f.trustPath, f.serviceTag], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  const bad = adopt(f, child, badDir)
  await waitUntil('liar ready', async () => bad.stdout().includes('"ready"'), 60_000, [bad])
  const badPeerId = (JSON.parse(bad.stdout().split('\n')[0] ?? '{}') as { peerId: string }).peerId
  await waitUntil('hub seeding', async () => bundleOf(await readStatus(hub.dataDir), info.id)?.joined === true, 60_000, [hub])

  const devices = [0, 1].map(i => spawnDevice(f, join(f.dir, `dev${i}`)))
  await waitUntil('honest devices verified', async () => {
    const all = await Promise.all(devices.map(async d => bundleOf(await readStatus(d.dataDir), info.id)))
    return all.every(b => b?.state === 'verified')
  }, 90_000, [hub, bad, ...devices])

  const statuses = await Promise.all(devices.map(async d => await readStatus(d.dataDir)))
  const banning = statuses.filter(s => s?.bans.some(b => b.peerId === badPeerId) === true)
  const badChunks = statuses.map(s => bundleOf(s, info.id)?.badChunks ?? 0)
  t.comment(`bad chunks received per device: ${badChunks.join(', ')}; devices banning the liar: ${banning.length}`)
  t.ok(banning.length >= 1, 'the liar is banned by the devices it served')
  for (const [i, s] of statuses.entries()) {
    if ((badChunks[i] ?? 0) >= 2) t.ok(s?.bans.some(b => b.peerId === badPeerId), `device ${i} got ${badChunks[i]} bad chunks and banned the liar`)
  }
  for (const s of [await readStatus(hub.dataDir), ...statuses]) {
    t.notOk(s?.bans.some(b => b.peerId !== badPeerId), `${s?.role ?? '?'} ${s?.peerId ?? ''} banned no honest peer`)
  }

  await Promise.all([hub, bad, ...devices].map(async p => await stopProc(p)))
  for (const d of devices) {
    const store = await openStore({ dataDir: join(d.dataDir, 'store') })
    try {
      const v = await store.verifyChunks()
      t.equal(v.dropped, 0, `${d.dataDir}: every one of ${v.checked} stored chunks is good`)
      t.equal(store.bundleState(info.id), 'verified')
    } finally {
      await store.stop()
    }
  }
})
