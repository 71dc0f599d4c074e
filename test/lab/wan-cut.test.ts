/**
 * Drill 1 (issue 7): the WAN link goes down in the middle of the pre-staging transfer
 * and comes back. The WAN is a veth shaped by the kernel (tbf); the cut is both ends
 * of it set down. The store hub completes the bundle, the WAN bytes sent after the
 * cut (counted by the kernel on the super hub's interface) are about the chunks the
 * hub was missing, each chunk crossed the WAN once, and every device installs.
 */
import t from 'tap'
import { bundleOf, readStatus, waitUntil } from '../support/lan-fixture.js'
import { metricValue } from '../integration/hub-fixture.js'
import { checkLedger, checkSlots, checkStores, stopAll } from './checks.js'
import { START_TIMEOUT_MS, StoreLab } from './store-lab.js'

const MiB = 1024 * 1024
const DEVICES = 3
/** protocol framing (noise, yamux, TCP/IP headers) and one chunk cut in flight, resent whole */
const WAN_OVERHEAD_FRACTION = 0.15
const MAX_CHUNK_BYTES = 1 * MiB
/**
 * 2 Mbit/s: the 4 MiB bundle takes ~17 s, so the cut (once the hub's status, written
 * every 3 s, shows a quarter) lands mid-transfer. At 8 Mbit/s a quiet machine had
 * pulled all 16 chunks before the status showed 4, and the cut came too late.
 */
const WAN_RATE = '2mbit'

t.test('WAN cut mid-transfer: the hub completes, resends only what it missed, devices install', async t => {
  const lab = await StoreLab.start(t, { devices: DEVICES, bundleBytes: 4 * MiB, wanRate: WAN_RATE })
  if (lab === undefined) return
  const { bundle } = lab
  const uniqueBytes = [...new Map(bundle.pieces.map(p => [p.hash, p.size])).values()].reduce((a, b) => a + b, 0)
  await lab.startSuper()
  const hub = lab.startHub()
  await waitUntil('the hub pulled a quarter of the bundle', async () => await lab.hubHeldChunks() >= bundle.pieces.length / 4, START_TIMEOUT_MS, lab.running())
  await lab.net.setWan(false)
  const atCut = await lab.net.wanCounters()
  t.comment(`WAN cut with ${await lab.hubHeldChunks()} of ${bundle.pieces.length} chunks on the hub`)
  for (let i = 0; i < DEVICES; i++) lab.startDevice(i)
  // the status file lags by one interval: let it settle while the link is down
  await new Promise(resolve => setTimeout(resolve, 3000))
  const held = bundleOf(await readStatus(lab.hubDir), bundle.id)
  const missingBytes = uniqueBytes - (held?.heldBytes ?? 0)
  t.ok(held !== undefined && held.state !== 'verified', `the bundle is incomplete while the WAN is down (${held?.heldChunks ?? 0} chunks held)`)
  t.ok(hub.child.exitCode === null, 'the hub keeps running with its WAN down')
  const down = await lab.net.wanCounters()
  t.ok(down.txBytes - atCut.txBytes < 64 * 1024, `nothing crossed the dead link (${down.txBytes - atCut.txBytes} bytes)`)

  await lab.net.setWan(true)
  await waitUntil('the hub completed and verified the bundle', async () => await lab.hubVerified(), 120_000, lab.running())
  const after = await lab.net.wanCounters()
  const sentAfter = after.txBytes - down.txBytes
  t.comment(`WAN bytes after the cut ${sentAfter}, missing at the cut ${missingBytes}`)
  // the TCP connection can outlive a short cut: a chunk partly delivered before it is finished after it
  t.ok(sentAfter >= missingBytes - MAX_CHUNK_BYTES, 'the missing chunks crossed the WAN after the cut')
  t.ok(sentAfter <= missingBytes * (1 + WAN_OVERHEAD_FRACTION) + MAX_CHUNK_BYTES, 'and not much more: the transfer resumed, it did not start over')

  const metrics = await lab.hubGet('/metrics')
  t.equal(metricValue(metrics, 'storemesh_bytes_total', { link: 'wan', direction: 'down' }), uniqueBytes, 'hub metrics: WAN payload = the bundle\'s chunk bytes (each chunk once)')

  await lab.waitInstalled([...Array(DEVICES).keys()], 240_000)
  await checkLedger(t, lab, { updated: DEVICES, total: DEVICES })
  await stopAll(lab)
  await checkSlots(t, lab, [...Array(DEVICES).keys()])
  await checkStores(t, lab)
})
