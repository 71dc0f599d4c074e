/**
 * Drill 4 (issue 7): a fleet member on the store LAN (right swarm key, same mDNS tag,
 * its own namespace on the bridge) serves every chunk with one byte flipped
 * (test/support/lan-bad-peer.ts, listening on its namespace's address). The honest devices score it down and ban it, fetch from honest
 * peers, install, and no honest store (hub or device) holds a bad chunk.
 */
import t from 'tap'
import { join } from 'node:path'
import { adopt, bundleOf, readStatus, waitUntil } from '../support/lan-fixture.js'
import { REPO_ROOT, scriptArgs } from '../support/cli.js'
import { checkLedger, checkSlots, checkStores, stopAll } from './checks.js'
import { deviceAddr } from './netns.js'
import { START_TIMEOUT_MS, StoreLab } from './store-lab.js'

const MiB = 1024 * 1024
const HONEST = 3
const LIAR = HONEST // the last device namespace holds the liar

t.test('a device serving corrupt chunks is banned; no honest store holds a bad chunk', async t => {
  const lab = await StoreLab.start(t, { devices: HONEST + 1, bundleBytes: 4 * MiB })
  if (lab === undefined) return
  const { bundle } = lab
  const liarNs = lab.devices[LIAR]
  if (liarNs === undefined) throw new Error('no liar namespace')
  const child = lab.net.spawnIn(liarNs.ns, process.execPath, [...scriptArgs('test/support/lan-bad-peer.ts', { polyfill: true }),
    join(lab.f.dir, 'liar'), join(lab.bundlesDir, 'lab-os-1.0.0'), lab.f.swarmKeyPath, lab.f.trustPath, lab.f.serviceTag, `/ip4/${deviceAddr(LIAR)}/tcp/0`],
  { cwd: REPO_ROOT })
  const liar = adopt(lab.f, child, join(lab.f.dir, 'liar'))
  await waitUntil('the liar is ready', async () => liar.stdout().includes('"ready"'), START_TIMEOUT_MS, [liar])
  const liarId = (JSON.parse(liar.stdout().split('\n')[0] ?? '{}') as { peerId: string }).peerId

  await lab.startSuper()
  // the hub seeds slowly on purpose, so the devices certainly ask the liar too
  lab.startHub(['--upload-limit', '1MiB/s'])
  await waitUntil('the hub pre-staged the bundle', async () => await lab.hubVerified(), START_TIMEOUT_MS, lab.running())
  const honest = [...Array(HONEST).keys()]
  for (const i of honest) lab.startDevice(i)
  await lab.waitInstalled(honest, 240_000)

  const statuses = await Promise.all(honest.map(async i => await readStatus(lab.devices[i]?.dataDir ?? '')))
  const badChunks = statuses.map(s => bundleOf(s, bundle.id)?.badChunks ?? 0)
  const banning = statuses.filter(s => s?.bans.some(b => b.peerId === liarId) === true).length
  t.comment(`bad chunks received per device: ${badChunks.join(', ')}; devices banning the liar: ${banning}`)
  t.ok(banning >= 1, 'the liar is banned by the devices it served')
  for (const [i, s] of statuses.entries()) {
    if ((badChunks[i] ?? 0) >= 2) t.ok(s?.bans.some(b => b.peerId === liarId), `device ${i} got ${badChunks[i] ?? 0} bad chunks and banned the liar`)
  }
  for (const s of [await readStatus(lab.hubDir), ...statuses]) {
    t.notOk(s?.bans.some(b => b.peerId !== liarId), `${s?.role ?? '?'} ${s?.peerId ?? ''} banned no honest peer`)
  }

  await checkLedger(t, lab, { updated: HONEST, total: HONEST })
  await stopAll(lab)
  await checkSlots(t, lab, honest)
  await checkStores(t, lab, [lab.superDir, lab.hubDir, ...honest.map(i => lab.devices[i]?.dataDir ?? '')])
})
