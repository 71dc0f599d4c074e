/**
 * Drill 5 (issue 7): one device's data dir is a tmpfs far smaller than the bundle (a
 * full disk). It reports a clear E_ code (E_DISK_FULL) instead of crashing or
 * looping silently, stays cleanly on its old slot, the wave ledger lists it as blocked
 * by `device.disk`, and the other devices install.
 */
import t from 'tap'
import { waitUntil } from '../support/lan-fixture.js'
import { checkLedger, checkSlots, checkStores, stopAll } from './checks.js'
import { START_TIMEOUT_MS, StoreLab } from './store-lab.js'

const MiB = 1024 * 1024
const DEVICES = 3
const FULL = 2
/** room for the device's files, its identity and index, not for a 4 MiB bundle */
const TINY_DISK_BYTES = 2 * MiB

t.test('a device whose disk is full reports E_DISK_FULL; the others are unaffected', async t => {
  const lab = await StoreLab.start(t, {
    devices: DEVICES, bundleBytes: 4 * MiB, tinyDiskBytesOf: i => i === FULL ? TINY_DISK_BYTES : undefined
  })
  if (lab === undefined) return
  await lab.startSuper()
  lab.startHub()
  await waitUntil('the hub pre-staged the bundle', async () => await lab.hubVerified(), START_TIMEOUT_MS, lab.running())
  // the full device's quota is its whole disk: the drill is about the disk refusing (ENOSPC), which the
  // default quota (80% of the filesystem) would otherwise stop first with E_QUOTA_EXCEEDED
  for (let i = 0; i < DEVICES; i++) lab.startDevice(i, i === FULL ? ['--store-quota', '100%'] : [])
  const full = lab.devices[FULL]?.proc
  if (full === undefined) throw new Error('no full device')
  const others = [...Array(DEVICES).keys()].filter(i => i !== FULL)
  await lab.waitInstalled(others, 240_000)
  // the chunk store's refusal, not only the status file's (which fails on the same disk)
  const storeFull = /swarm b3:[0-9a-f]+: E_DISK_FULL/
  await waitUntil('the full device names the failure', async () => storeFull.test(full.stderr()) || full.child.exitCode !== null, 60_000)
  const lines = full.stderr().split('\n').filter(l => /E_[A-Z_]+/.test(l))
  t.comment(`full device, first error lines:\n${lines.slice(0, 3).join('\n')}`)
  t.match(full.stderr(), storeFull, 'the full device says E_DISK_FULL when its chunk store refuses a chunk')
  t.notMatch(full.stderr(), /\n\s+at .*\(.*:\d+:\d+\)/, 'no stack trace')
  t.equal(full.child.exitCode, null, 'the full device keeps running (it seeds what it holds, and retries)')

  // the full device still decides while its chunks cannot arrive: the ledger lists it, blocked by its disk
  await checkLedger(t, lab, { updated: others.length, total: DEVICES, blockedByGate: { 'device.disk': 1 } })
  const view = await lab.hubGet(`/api/devices/lab-${FULL}`).then(v => JSON.stringify((JSON.parse(v) as { waves: unknown }).waves), (err: Error) => err.message)
  t.comment(`the full device at its hub: ${view}`)
  await stopAll(lab)
  await checkSlots(t, lab, others)
  await checkSlots(t, lab, [FULL], true)
  await checkStores(t, lab)
})
