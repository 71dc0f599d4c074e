/**
 * A real full filesystem mid-transfer (issue 17): a device's data dir is a small tmpfs
 * mounted by the test, filled with a filler file so that only part of the bundle fits.
 * The download pauses, and says so where an operator looks: the device's status.json
 * (`store.paused.reason: disk-full`) and, since devices serve no metrics, the hub's
 * `/metrics` (`storemesh_store_devices_paused{reason="disk-full"} 1`, from the device's
 * store report in its journal). Removing the filler frees the space: the download
 * resumes by itself, the bundle completes and verifies (nothing corrupt was kept), and
 * both signals go back to not paused. Needs root (mount); skipped otherwise.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, open, rm, statfs } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { bundleOf, lanFixture, makeBundleDir, readStatus, spawnDevice, spawnHub, stopProc, waitUntil } from '../support/lan-fixture.js'
import { freePort, HubApi, metricValue } from './hub-fixture.js'

const run = promisify(execFile)
const MiB = 1024 * 1024
const BUNDLE_BYTES = 8 * MiB
const DISK_BYTES = 24 * MiB
/** what the device may still write once filled: its databases and status file, and a part of the bundle */
const ROOM_BYTES = Math.floor(BUNDLE_BYTES * 0.4) + MiB
const SWARM_MAX_MS = 180_000

async function canMount (): Promise<string | false> {
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root'
  const probe = await mkdtemp(join(tmpdir(), 'storemesh-tmpfs-probe-'))
  try {
    await run('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe])
    await run('umount', [probe])
    return false
  } catch (err) {
    return `cannot mount a tmpfs here: ${(err as Error).message.split('\n')[0]}`
  } finally {
    await rm(probe, { recursive: true, force: true })
  }
}

/** A file of zeros that leaves `leaveBytes` free on the filesystem of `dir`. */
async function fill (dir: string, leaveBytes: number): Promise<string> {
  const path = join(dir, 'filler')
  const s = await statfs(dir)
  const free = s.bavail * s.bsize
  const fh = await open(path, 'w')
  try {
    const block = Buffer.alloc(MiB)
    for (let left = free - leaveBytes; left > 0; left -= block.length) await fh.write(block, 0, Math.min(block.length, left))
  } finally {
    await fh.close()
  }
  return path
}

const skip = await canMount()

t.test('a full tmpfs pauses the download, status and hub metric say so, it resumes by itself when space frees', { skip }, async t => {
  const f = await lanFixture(t)
  const { outDir, info } = await makeBundleDir(f.dir, 'full-os', BUNDLE_BYTES, 41)
  const disk = await mkdtemp(join(tmpdir(), 'storemesh-tmpfs-'))
  await run('mount', ['-t', 'tmpfs', '-o', `size=${DISK_BYTES}`, 'tmpfs', disk])
  const devDir = join(disk, 'dev')
  let device: ReturnType<typeof spawnDevice> | undefined
  t.teardown(async () => {
    // the device holds files on the tmpfs: it goes first, then the mount
    if (device !== undefined && device.child.exitCode === null && device.child.signalCode === null) { device.child.kill('SIGKILL'); await device.exited }
    await run('umount', ['-l', disk]).catch(() => {})
    await rm(disk, { recursive: true, force: true })
  })
  const filler = await fill(disk, ROOM_BYTES)

  const port = await freePort()
  const hubDir = join(f.dir, 'hub')
  // a capped upload: the device is mid-transfer, not done, when the disk fills
  const hub = spawnHub(f, hubDir, ['--bundle', outDir, '--api-port', String(port), '--upload-limit', '2MiB/s'])
  const api = new HubApi(`http://127.0.0.1:${port}`, hubDir)
  await waitUntil('hub API up', async () => await api.up(), 60_000, [hub])
  // the disk, not the quota (80 % of the filesystem by default), is what refuses
  device = spawnDevice(f, devDir, ['--store-quota', '100%'])
  const procs = [hub, device]

  await waitUntil('the device pauses on the full disk (status.json)', async () => (await readStatus(devDir))?.store?.paused?.reason === 'disk-full', SWARM_MAX_MS, procs)
  const paused = await readStatus(devDir)
  const partial = bundleOf(paused, info.id)
  t.equal(partial?.state, 'partial', 'the bundle is incomplete')
  t.ok((partial?.heldChunks ?? 0) > 0 && (partial?.heldChunks ?? 0) < info.pieces.length, `mid-transfer: ${partial?.heldChunks} of ${info.pieces.length} chunks held`)
  t.match(paused?.store?.paused?.detail ?? '', /E_DISK_FULL/, 'the pause names the stable code')
  await waitUntil('the hub counts the paused device', async () => metricValue(await api.metricsText(), 'storemesh_store_devices_paused', { reason: 'disk-full' }) === 1, 60_000, procs)
  t.pass('storemesh_store_devices_paused{reason="disk-full"} 1 on the hub')
  t.equal(device.child.exitCode, null, 'the device keeps running')

  await rm(filler)
  await waitUntil('the download resumes by itself and the bundle verifies', async () => bundleOf(await readStatus(devDir), info.id)?.state === 'verified', SWARM_MAX_MS, procs)
  const done = await readStatus(devDir)
  t.equal(done?.store?.paused, null, 'status.json: no longer paused')
  t.equal(bundleOf(done, info.id)?.heldChunks, info.pieces.length, 'every chunk held, each verified (nothing corrupt kept)')
  await waitUntil('the hub sees the device resumed', async () => metricValue(await api.metricsText(), 'storemesh_store_devices_paused', { reason: 'disk-full' }) === 0, 60_000, procs)
  t.pass('storemesh_store_devices_paused{reason="disk-full"} 0 again')
  t.equal(await stopProc(device), 0, 'the device stops cleanly')
})
