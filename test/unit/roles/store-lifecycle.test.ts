/**
 * The hub's store lifecycle over a real chunk store and a real hub ledger: pins follow
 * the newest bundle of each class, nothing goes while a device of the wave is pending,
 * superseded versions beyond the last-known-good go once every device is done or
 * blocked, a manual pin keeps a bundle, and `evict --bundle` refuses a pinned one.
 */
import t from 'tap'
import type { JournalEntry } from '../../../src/interface/types.js'
import { HubLedger } from '../../../src/ledger/hub-ledger.js'
import { HubLifecycle } from '../../../src/roles/store-lifecycle.js'
import { openStore, type ChunkStore } from '../../../src/store/index.js'
import { simpleBundle, tempDir, type FixtureBundle } from '../../support/store-fixture.js'

const CHUNK = 1000
const at = '2026-01-01T00:00:00.000Z'

async function fill (store: ChunkStore, fx: FixtureBundle): Promise<void> {
  await store.addBundle(fx.info)
  for (const p of fx.info.pieces) await store.put(p.hash, fx.chunks.get(p.hash)!)
}

function entry (seq: number, waveId: string, bundleId: string, e: Partial<JournalEntry>): JournalEntry {
  return { seq, at, kind: 'transition', waveId, bundleId, ...e }
}

t.test('hub: pins, eviction after a settled wave, manual pins, refusals', async t => {
  const dir = await tempDir(t)
  const store = await openStore({ dataDir: dir })
  const ledger = await HubLedger.open(dir)
  const left: string[] = []
  const life = new HubLifecycle({ store, ledger, beforeEvict: async id => { left.push(id) } })
  t.teardown(async () => {
    await life.stop()
    await ledger.close()
    await store.close()
  })
  const [v1, v2, v3, v4] = ['1.0.0', '2.0.0', '3.0.0', '4.0.0'].map((version, i) => simpleBundle(30 + i, 2, CHUNK, { version })) as [FixtureBundle, FixtureBundle, FixtureBundle, FixtureBundle]
  const kiosk = simpleBundle(40, 2, CHUNK, { version: '1.0.0', deviceClass: 'kiosk' })
  for (const b of [v1, v2, v3, kiosk]) await fill(store, b)

  // wave 7 delivers 3.0.0: one device installed it, one is still pending
  await ledger.acceptDeviceBatch({ type: 'device-events', deviceId: 'pos-1', entries: [entry(1, '7', v3.info.id, { from: 'booted-trial', to: 'committed' })] })
  await ledger.acceptDeviceBatch({ type: 'device-events', deviceId: 'pos-2', entries: [entry(1, '7', v3.info.id, { from: 'staged', to: 'writing' })] })
  t.same([...(await ledger.waveBundles()).entries()], [[v3.info.id, ['7']]], 'the ledger knows which bundle wave 7 is about')

  const first = await life.tick()
  const pins = (): string[] => store.listBundles().map(b => `${b.deviceClass}@${b.version}:${b.pins.join(',') || '-'}`).sort()
  t.same(pins(), ['kiosk@1.0.0:active', 'pos@1.0.0:-', 'pos@2.0.0:last-known-good', 'pos@3.0.0:active'], 'newest active, the one below last-known-good')
  t.same(first?.evicted, [], 'nothing goes while a device of the wave is pending')

  // the second device is blocked by a gate: every device is done or blocked now
  await ledger.acceptDeviceBatch({
    type: 'device-events', deviceId: 'pos-2',
    entries: [entry(2, '7', v3.info.id, { kind: 'decision', reason: 'device.battery', data: { verdict: 'defer', gate: 'device.battery', gates: 'device.battery' } })]
  })
  t.same([...await life.settled()], [v3.info.id], 'settled')
  const dry = await life.evict({ dryRun: true })
  t.same(dry.evicted.map(e => e.bundle.version), ['1.0.0'], 'dry run names the superseded version')
  t.ok(store.getBundle(v1.info.id), 'and keeps it')
  const run = await life.tick()
  t.same(run?.evicted.map(e => [e.bundle.version, e.chunks, e.bytes]), [['1.0.0', 2, 2 * CHUNK]], 'evicted beyond the last-known-good')
  t.same(left, [v1.info.id], 'its swarm was left first')
  t.same(pins(), ['kiosk@1.0.0:active', 'pos@2.0.0:last-known-good', 'pos@3.0.0:active'])

  // a new version arrives and its wave settles: 2.0.0 would go, but the operator pinned it
  await fill(store, v4)
  await store.pin(v2.info.id, 'manual')
  await ledger.acceptDeviceBatch({ type: 'device-events', deviceId: 'pos-1', entries: [entry(2, '8', v4.info.id, { from: 'booted-trial', to: 'committed' })] })
  const kept = await life.tick()
  t.same(kept?.evicted, [])
  t.same(kept?.kept.map(k => [k.version, k.pins]), [['2.0.0', ['manual']]], 'a manual pin keeps it, and the run says so')
  t.same(pins(), ['kiosk@1.0.0:active', 'pos@2.0.0:manual', 'pos@3.0.0:last-known-good', 'pos@4.0.0:active'])

  await t.rejects(life.evict({ bundle: v3.info.id }), { code: 'E_BUNDLE_PINNED', message: /last-known-good/ }, 'the last-known-good cannot be evicted by hand')
  await t.rejects(life.evict({ bundle: v1.info.id }), { code: 'E_BUNDLE_NOT_FOUND' })
  await store.unpin(v2.info.id, 'manual')
  const byHand = await life.evict({ bundle: v2.info.id })
  t.same(byHand.evicted.map(e => e.bundle.version), ['2.0.0'], 'unpinned, it goes by hand')
})
