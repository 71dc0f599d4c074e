/**
 * Drill 2 (issue 7): the store hub is SIGKILLed in the middle of the wave (devices are
 * fetching from it over the bridge) and started again on the same data dir. Every
 * device finishes and installs, the restarted hub resumes from its store (the bundle
 * does not cross the WAN again), no store holds a corrupt chunk, and the wave ledger
 * counts each device once.
 */
import t from 'tap'
import { bundleOf, readStatus, waitUntil } from '../support/lan-fixture.js'
import { checkLedger, checkSlots, checkStores, stopAll } from './checks.js'
import { installRecord, START_TIMEOUT_MS, StoreLab } from './store-lab.js'

const MiB = 1024 * 1024
const DEVICES = 3
// slow LAN seeding so that the kill lands while the devices still fetch
const HUB_UPLOAD = ['--upload-limit', '1MiB/s']

t.test('store hub SIGKILLed mid-wave and restarted: devices finish, nothing lost or doubled', async t => {
  const lab = await StoreLab.start(t, { devices: DEVICES, bundleBytes: 4 * MiB, wanRate: '20mbit' })
  if (lab === undefined) return
  const { bundle } = lab
  await lab.startSuper()
  const hub = lab.startHub(HUB_UPLOAD)
  await waitUntil('the hub pre-staged the bundle', async () => await lab.hubVerified(), START_TIMEOUT_MS, lab.running())
  const wanBefore = await lab.net.wanCounters()
  for (let i = 0; i < DEVICES; i++) lab.startDevice(i)

  await waitUntil('a device holds a few chunks of the bundle', async () => {
    const held = await Promise.all(lab.devices.map(async d => bundleOf(await readStatus(d.dataDir), bundle.id)?.heldChunks ?? 0))
    return held.some(h => h >= 3)
  }, START_TIMEOUT_MS, lab.running())
  hub.child.kill('SIGKILL')
  await hub.exited
  const states = await Promise.all(lab.devices.map(async d => (await installRecord(d.dataDir))?.state ?? 'none'))
  const held = await Promise.all(lab.devices.map(async d => bundleOf(await readStatus(d.dataDir), bundle.id)?.heldChunks ?? 0))
  t.comment(`hub killed; devices held ${held.join(', ')} of ${bundle.pieces.length} chunks, installer states ${states.join(', ')}`)
  t.ok(states.some(s => s !== 'committed'), 'the kill landed before the wave was over')

  await new Promise(resolve => setTimeout(resolve, 2000))
  lab.startHub(HUB_UPLOAD)
  await lab.waitInstalled([...Array(DEVICES).keys()], 240_000)
  t.ok(await lab.hubVerified(), 'the restarted hub holds the bundle verified')
  const wanAfter = await lab.net.wanCounters()
  t.ok(wanAfter.txBytes - wanBefore.txBytes < bundle.totalBytes / 4,
    `the restart did not pull the bundle again over the WAN (${wanAfter.txBytes - wanBefore.txBytes} bytes since pre-staging)`)

  await checkLedger(t, lab, { updated: DEVICES, total: DEVICES })
  await stopAll(lab)
  await checkSlots(t, lab, [...Array(DEVICES).keys()])
  await checkStores(t, lab)
})
