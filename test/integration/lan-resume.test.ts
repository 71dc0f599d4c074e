/**
 * A device killed with SIGKILL in the middle of the swarm and restarted keeps the
 * chunks it had verified, announces them, and fetches only what was missing: its
 * useful LAN download after the restart equals the bytes it lacked at the kill.
 */
import t from 'tap'
import { join } from 'node:path'
import { openStore } from '../../src/store/index.js'
import {
  bundleOf, lanFixture, makeBundleDir, readStatus, spawnDevice, spawnHub, stopProc, waitUntil
} from '../support/lan-fixture.js'

const MiB = 1024 * 1024

t.test('a device SIGKILLed mid-swarm resumes without fetching again what it had', async t => {
  const f = await lanFixture(t)
  const { outDir, info } = await makeBundleDir(f.dir, 'fleet-os', 6 * MiB, 37)
  // a slow hub keeps the transfer going long enough to kill the device in the middle
  const hub = spawnHub(f, join(f.dir, 'hub'), ['--bundle', outDir, '--upload-limit', '1MiB/s'])
  await waitUntil('hub seeding', async () => bundleOf(await readStatus(hub.dataDir), info.id)?.joined === true, 60_000, [hub])

  const devDir = join(f.dir, 'dev')
  const first = spawnDevice(f, devDir)
  const total = info.pieces.length
  await waitUntil('device a quarter done', async () => {
    const b = bundleOf(await readStatus(devDir), info.id)
    return b !== undefined && b.heldChunks >= Math.ceil(total / 4)
  }, 60_000, [hub, first])
  first.child.kill('SIGKILL')
  await first.exited

  const store = await openStore({ dataDir: join(devDir, 'store') })
  let heldBytes = 0
  let heldChunks = 0
  try {
    t.equal(store.bundleState(info.id), 'partial', 'killed before completion')
    const held = await store.heldPieces(info.id)
    info.pieces.forEach((p, i) => { if (held[i] === true) { heldBytes += p.size; heldChunks++ } })
  } finally {
    await store.stop()
  }
  const missingBytes = info.totalBytes - heldBytes
  t.ok(heldChunks > 0 && missingBytes > 0, `kept ${heldChunks}/${total} chunks (${heldBytes} bytes) across SIGKILL`)

  const second = spawnDevice(f, devDir)
  await waitUntil('restarted device verified', async () => {
    const s = await readStatus(devDir)
    return s?.pid === second.child.pid && bundleOf(s, info.id)?.state === 'verified'
  }, 60_000, [hub, second])
  const after = bundleOf(await readStatus(devDir), info.id)
  const useful = (after?.bytes.lan.down ?? 0) - (after?.wastedBytes ?? 0)
  t.comment(`missing at restart ${missingBytes} bytes; fetched after restart ${after?.bytes.lan.down} (wasted ${after?.wastedBytes})`)
  t.equal(useful, missingBytes, 'after the restart only the missing chunks crossed the LAN')
  t.equal(await stopProc(second), 0)
  t.equal(await stopProc(hub), 0)
})
