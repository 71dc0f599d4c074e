/**
 * Under a shared global limit, the critical store hub's bundle completes first, and
 * once both compete the critical one gets the limit. The normal store hub asks first,
 * so it has a head start of however long the critical one takes to connect (seconds on
 * a loaded machine): the check is on what each got while both were pulling.
 */
import t from 'tap'
import { simpleBundle } from '../support/store-fixture.js'
import { nextEvent, storeHubFixture, superFixture } from './wan-fixture.js'
import type { PrestagedEvent } from '../../src/wan/puller.js'

const CHUNK = 64 * 1024
const CHUNKS = 48

t.test('priorities order completion', async t => {
  const bundle = simpleBundle(51, CHUNKS, CHUNK)
  const sup = await superFixture(t, [bundle], { wanRateBytesPerSec: 1024 * 1024 })
  const normal = await storeHubFixture(t, [sup.addr], { batchBytes: 256 * 1024 })
  const critical = await storeHubFixture(t, [sup.addr], { batchBytes: 256 * 1024 })
  // restart the super hub knowing which store hub is critical (same address, same identity)
  await sup.stop()
  await sup.start({ critical: [critical.node.peerId.toString()] })
  const order: string[] = []
  let normalBytesAtCritical = -1
  let normalBytesAtCriticalFirst = -1
  critical.puller.once('chunk', () => { normalBytesAtCriticalFirst = normal.puller.stats.payloadBytes })
  const done = Promise.all([
    nextEvent<PrestagedEvent>(normal.puller, 'prestaged', 60_000).then(() => { order.push('normal') }),
    nextEvent<PrestagedEvent>(critical.puller, 'prestaged', 60_000).then(() => {
      order.push('critical')
      normalBytesAtCritical = normal.puller.stats.payloadBytes
    })
  ])
  // the normal store asks first, so FIFO order would favour it
  await normal.puller.start()
  await normal.prefetch(bundle.info.id)
  await critical.puller.start()
  await critical.prefetch(bundle.info.id)
  await done
  t.same(order, ['critical', 'normal'], 'the critical store hub completes first')
  const normalGain = normalBytesAtCritical - normalBytesAtCriticalFirst
  t.comment(`head start: the normal store hub had ${normalBytesAtCriticalFirst} bytes when the critical one got its first chunk`)
  t.ok(normalBytesAtCriticalFirst >= 0 && normalGain < CHUNKS * CHUNK / 2,
    `while the critical store hub pulled its ${CHUNKS * CHUNK} bytes the normal one got ${normalGain} (< half: the critical one had most of the limit)`)
})
