/** A closing window pauses the transfer; the next window finishes it (ManualClock drives the schedule). */
import t from 'tap'
import { ManualClock } from '../../src/wan/index.js'
import { simpleBundle } from '../support/store-fixture.js'
import { nextEvent, storeHubFixture, superFixture } from './wan-fixture.js'
import { waitFor } from '../support/poll.js'

const CHUNK = 64 * 1024
const CHUNKS = 48
const MINUTE = 60_000

t.test('window close pauses, next window resumes and finishes', async t => {
  const bundle = simpleBundle(21, CHUNKS, CHUNK)
  const sup = await superFixture(t, [bundle])
  const clock = new ManualClock(Date.parse('2026-01-05T00:30:00Z'))
  const hub = await storeHubFixture(t, [sup.addr], { window: '00:30-03:30', timezone: 'UTC', rateBytesPerSec: 1024 * 1024, clock, batchBytes: 256 * 1024 })
  await hub.puller.start()
  t.ok(hub.puller.open, 'window open at 00:30')
  await hub.prefetch(bundle.info.id)
  await waitFor(() => hub.puller.stats.chunksFetched >= 6, 20_000, 'chunks inside the window')
  await clock.advanceAsync(3 * 60 * MINUTE) // 03:30: the window closes
  t.notOk(hub.puller.open, 'window closed at 03:30')
  await new Promise(resolve => setTimeout(resolve, 300))
  const atClose = hub.puller.stats.chunksFetched
  const bytesAtClose = hub.puller.stats.wireBytesIn
  await new Promise(resolve => setTimeout(resolve, 1500))
  t.equal(hub.puller.stats.chunksFetched, atClose, 'no chunk arrives while the window is closed')
  t.equal(hub.puller.stats.wireBytesIn, bytesAtClose, 'no byte passes the download limiter while closed')
  t.ok(atClose < CHUNKS, `paused with ${CHUNKS - atClose} chunks to go`)
  t.not(hub.store.getBundle(bundle.info.id)?.state, 'verified')
  const staged = nextEvent(hub.puller, 'prestaged', 30_000)
  await clock.advanceAsync(21 * 60 * MINUTE) // next day 00:30
  t.ok(hub.puller.open, 'window open again')
  await staged
  t.equal(hub.store.getBundle(bundle.info.id)?.state, 'verified', 'finished in the next window')
  t.equal(hub.puller.stats.payloadBytes, CHUNKS * CHUNK, 'resumed, never restarted: every byte once')
})
