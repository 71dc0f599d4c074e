/**
 * A super hub that keeps its stream open but stops sending (its global limiter set to
 * rate 0 mid-transfer, a real PullServer) is given up after the pull client's idle
 * timeout: its chunks go to the other super hub, or to the same one once it sends
 * again. The chunk cut mid-body is fetched again whole and counted once.
 */
import t, { type Test } from 'tap'
import { simpleBundle, type FixtureBundle } from '../support/store-fixture.js'
import { nextEvent, storeHubFixture, superFixture, type StoreHubFixture } from './wan-fixture.js'
import type { PrestagedEvent } from '../../src/wan/puller.js'
import type { StoremeshError } from '../../src/interface/errors.js'
import { UNLIMITED } from '../../src/wan/index.js'
import { waitFor } from '../support/poll.js'

const CHUNK = 64 * 1024
const CHUNKS = 32
const IDLE_MS = 1_000

interface SuperError { superIndex: number, error: StoremeshError, reassigned: number }

/** A store hub pulling `bundle` from `supers` with a short idle timeout; records its super-hub failures. */
async function startPulling (t: Test, supers: string[], bundle: FixtureBundle): Promise<{ hub: StoreHubFixture, errors: SuperError[], staged: Promise<PrestagedEvent> }> {
  const hub = await storeHubFixture(t, supers, { batchBytes: 4 * CHUNK, idleTimeoutMs: IDLE_MS })
  const errors: SuperError[] = []
  hub.puller.on('super-error', (e: SuperError) => { errors.push(e) })
  await hub.puller.start()
  const staged = nextEvent<PrestagedEvent>(hub.puller, 'prestaged', 60_000)
  await hub.prefetch(bundle.info.id)
  return { hub, errors, staged }
}

t.test('a stalled super hub is timed out and its chunks fetched from the other, once each', async t => {
  const bundle = simpleBundle(21, CHUNKS, CHUNK)
  // slow enough that both hubs hold work when A stalls
  const a = await superFixture(t, [bundle], { wanRateBytesPerSec: 128 * 1024 })
  const b = await superFixture(t, [bundle], { perHubRateBytesPerSec: 512 * 1024 })
  const { hub, errors, staged } = await startPulling(t, [a.addr, b.addr], bundle)
  await waitFor(() => a.served.size >= 1, 20_000, 'super hub A served a chunk')
  // let A start its next chunk (64 KiB take ~500 ms at its rate) so the stall most likely cuts one mid-body
  await new Promise(resolve => setTimeout(resolve, 200))
  a.hub?.global.setRate(0) // A stalls: connected, requests read, not a byte more
  const stalledAt = Date.now()
  await waitFor(() => errors.some(e => e.superIndex === 0 && e.error.code === 'E_TIMEOUT'), 30_000, 'the idle timeout on A')
  t.pass(`A timed out after ${Date.now() - stalledAt} ms without bytes (idle timeout ${IDLE_MS} ms)`)
  const ev = await staged
  t.equal(ev.bundleId, bundle.info.id, 'pre-staged without A')
  t.equal(hub.store.getBundle(bundle.info.id)?.state, 'verified', 'complete and verified')
  const uniqueBytes = bundle.info.pieces.reduce((n, p) => n + p.size, 0)
  t.equal(hub.puller.stats.payloadBytes, uniqueBytes, 'payload bytes = the bundle\'s chunk bytes: the cut chunk is not counted twice')
  t.equal(hub.puller.stats.chunksFetched, CHUNKS, 'each chunk fetched once')
  t.same([...hub.received.values()].filter(n => n !== 1), [], 'no chunk received twice')
  t.equal(hub.received.size, CHUNKS)
  const servedByA = [...a.served.keys()]
  t.ok(servedByA.every(h => !b.served.has(h)), 'no chunk A delivered whole was served again by B')
  const headerBytes = 4 * CHUNKS // varint of 1 + 64 KiB (3 bytes) + status byte per answer
  t.ok(hub.puller.stats.wireBytesIn >= uniqueBytes + headerBytes, `wire bytes in ${hub.puller.stats.wireBytesIn} >= payload + headers`)
  t.comment(`bytes of the cut chunk that crossed and were dropped: ${hub.puller.stats.wireBytesIn - uniqueBytes - headerBytes}`)
})

t.test('a lone super hub that stalls is retried and finishes once it sends again', async t => {
  const bundle = simpleBundle(22, 16, CHUNK)
  const a = await superFixture(t, [bundle], { wanRateBytesPerSec: 256 * 1024 })
  const { hub, errors, staged } = await startPulling(t, [a.addr], bundle)
  await waitFor(() => a.served.size >= 2, 20_000, 'two chunks served')
  a.hub?.global.setRate(0)
  await waitFor(() => errors.some(e => e.error.code === 'E_TIMEOUT'), 30_000, 'the idle timeout')
  t.ok(errors.filter(e => e.error.code === 'E_TIMEOUT').every(e => e.reassigned > 0), 'the stalled chunks were released for a retry')
  a.hub?.global.setRate(UNLIMITED)
  await staged
  t.equal(hub.store.getBundle(bundle.info.id)?.state, 'verified')
  t.equal(hub.puller.stats.payloadBytes, bundle.info.pieces.reduce((n, p) => n + p.size, 0), 'payload counted once')
  t.same([...hub.received.values()].filter(n => n !== 1), [], 'no chunk received twice')
})
