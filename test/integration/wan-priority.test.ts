/** Under a shared global limit, the critical store hub's bundle completes first. */
import t from 'tap'
import { simpleBundle } from '../helpers/store-fixture.js'
import { nextEvent, storeHubFixture, superFixture } from './wan-fixture.js'
import type { PrestagedEvent } from '../../src/roles/wan-puller.js'

const CHUNK = 64 * 1024
const CHUNKS = 24

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
  const done = Promise.all([
    nextEvent<PrestagedEvent>(normal.puller, 'prestaged', 30_000).then(() => { order.push('normal') }),
    nextEvent<PrestagedEvent>(critical.puller, 'prestaged', 30_000).then(() => {
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
  t.ok(normalBytesAtCritical < CHUNKS * CHUNK / 2, `the normal store hub had ${normalBytesAtCritical} of ${CHUNKS * CHUNK} bytes when the critical one finished`)
})
