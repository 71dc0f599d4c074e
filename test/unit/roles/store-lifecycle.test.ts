/**
 * The hub's store lifecycle over a real chunk store and a real hub ledger: `active` on
 * the newest bundle of each class, `device` on what the devices' store reports say they
 * run, install or would roll back to, nothing goes while a device of the wave is pending,
 * superseded versions beyond the last-known-good go once every device is done or
 * blocked, a manual pin keeps a bundle, and `evict --bundle` refuses a pinned one.
 */
import t from 'tap'
import type { JournalEntry } from '../../../src/interface/types.js'
import { HubLedger } from '../../../src/ledger/hub-ledger.js'
import { storeReportEvent, type DeviceStoreReport } from '../../../src/ledger/device-store.js'
import { HubLifecycle } from '../../../src/roles/store-lifecycle.js'
import { openStore, type ChunkStore } from '../../../src/store/index.js'
import { simpleBundle, tempDir, type FixtureBundle } from '../../support/store-fixture.js'
import { waitFor } from '../../support/poll.js'

const CHUNK = 1000
const at = '2026-01-01T00:00:00.000Z'

async function fill (store: ChunkStore, fx: FixtureBundle): Promise<void> {
  await store.addBundle(fx.info)
  for (const p of fx.info.pieces) await store.put(p.hash, fx.chunks.get(p.hash)!)
}

function entry (seq: number, waveId: string, bundleId: string, e: Partial<JournalEntry>): JournalEntry {
  return { seq, at, kind: 'transition', waveId, bundleId, ...e }
}

/** A device's store report as its agent journals it (roles/device-store-report.ts). */
function storeReport (seq: number, r: DeviceStoreReport): JournalEntry {
  return { seq, at, ...storeReportEvent(r) }
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
  t.same(pins(), ['kiosk@1.0.0:active', 'pos@1.0.0:-', 'pos@2.0.0:last-known-good', 'pos@3.0.0:active'], 'before any store report: the newest active, the one below it the store\'s fallback')
  t.same(first?.evicted, [], 'nothing goes while a device of the wave is pending')

  // the devices say what they keep: pos-1 runs 3.0.0 over 2.0.0, pos-2 still runs 1.0.0 and is installing 3.0.0
  await ledger.acceptDeviceBatch({ type: 'device-events', deviceId: 'pos-1', entries: [storeReport(5, { paused: null, active: v3.info.id, lastKnownGood: v2.info.id })] })
  await ledger.acceptDeviceBatch({ type: 'device-events', deviceId: 'pos-2', entries: [storeReport(5, { paused: 'disk-full', pausedSinceMs: 1, active: v1.info.id, installing: v3.info.id })] })
  // an older report arriving late changes nothing
  await ledger.acceptDeviceBatch({ type: 'device-events', deviceId: 'pos-1', entries: [storeReport(4, { paused: null, active: v1.info.id })] })
  await life.tick()
  t.same(pins(), ['kiosk@1.0.0:active', 'pos@1.0.0:device', 'pos@2.0.0:device', 'pos@3.0.0:active,device'], 'every version a device runs, installs or falls back to is pinned')

  // the second device is blocked by a gate: every device is done or blocked now
  await ledger.acceptDeviceBatch({
    type: 'device-events', deviceId: 'pos-2',
    entries: [entry(2, '7', v3.info.id, { kind: 'decision', reason: 'device.battery', data: { verdict: 'defer', gate: 'device.battery', gates: 'device.battery' } })]
  })
  t.same([...await life.settled()], [v3.info.id], 'settled')
  const held = await life.tick()
  t.same(held?.evicted, [], 'settled, but 1.0.0 still runs on pos-2: kept')
  t.same(held?.kept.map(k => [k.version, k.pins]), [['1.0.0', ['device']]], 'and the run says why')
  // pos-2 moved on to 3.0.0 (its last-known-good 1.0.0 then, then 2.0.0 after a later install)
  await ledger.acceptDeviceBatch({ type: 'device-events', deviceId: 'pos-2', entries: [storeReport(6, { paused: null, active: v3.info.id, lastKnownGood: v2.info.id })] })
  const dry = await life.evict({ dryRun: true })
  t.same(dry.evicted.map(e => e.bundle.version), ['1.0.0'], 'dry run names the superseded version')
  t.ok(store.getBundle(v1.info.id), 'and keeps it')
  const run = await life.tick()
  t.same(run?.evicted.map(e => [e.bundle.version, e.chunks, e.bytes]), [['1.0.0', 2, 2 * CHUNK]], 'evicted beyond the last-known-good')
  t.same(left, [v1.info.id], 'its swarm was left first')
  t.same(pins(), ['kiosk@1.0.0:active', 'pos@2.0.0:device', 'pos@3.0.0:active,device'])

  // a new version arrives and its wave settles on both devices: 2.0.0 would go, but the operator pinned it
  await fill(store, v4)
  await store.pin(v2.info.id, 'manual')
  for (const deviceId of ['pos-1', 'pos-2']) {
    await ledger.acceptDeviceBatch({
      type: 'device-events', deviceId,
      entries: [entry(7, '8', v4.info.id, { from: 'booted-trial', to: 'committed' }), storeReport(8, { paused: null, active: v4.info.id, lastKnownGood: v3.info.id })]
    })
  }
  const kept = await life.tick()
  t.same(kept?.evicted, [])
  t.same(kept?.kept.map(k => [k.version, k.pins]), [['2.0.0', ['manual']]], 'a manual pin keeps it, and the run says so')
  t.same(pins(), ['kiosk@1.0.0:active', 'pos@2.0.0:manual', 'pos@3.0.0:device', 'pos@4.0.0:active,device'], 'no device holds 2.0.0 any more: only the manual pin is left')

  await t.rejects(life.evict({ bundle: v3.info.id }), { code: 'E_BUNDLE_PINNED', message: /device/ }, 'a last-known-good of a device cannot be evicted by hand')
  await t.rejects(life.evict({ bundle: v1.info.id }), { code: 'E_BUNDLE_NOT_FOUND' })
  await store.unpin(v2.info.id, 'manual')
  const byHand = await life.evict({ bundle: v2.info.id })
  t.same(byHand.evicted.map(e => e.bundle.version), ['2.0.0'], 'unpinned, it goes by hand')
})

t.test('hub: an idle lifecycle backs off its checks; a poke or a new bundle brings the base pace back (issue #19)', async t => {
  const dir = await tempDir(t)
  const store = await openStore({ dataDir: dir })
  const ledger = await HubLedger.open(dir)
  const life = new HubLifecycle({ store, ledger, intervalMs: 20, maxIntervalMs: 160 })
  t.teardown(async () => {
    await life.stop()
    await ledger.close()
    await store.close()
  })
  const v1 = simpleBundle(50, 2, CHUNK, { version: '1.0.0' })
  await fill(store, v1)
  life.start()
  // before: a fixed 5 s interval for ever
  await waitFor(() => life.nextWaitMs === 160, 30_000, 'checks that change nothing back off to the longest wait')
  t.same(store.listBundles().map(b => b.pins), [['active']], 'the first check pinned the bundle')
  life.poke()
  t.equal(life.nextWaitMs, 20, 'a poke (a device\'s report, a wave order) brings the base pace back')
  await waitFor(() => life.nextWaitMs === 160, 30_000, 'idle again')
  const v2 = simpleBundle(51, 2, CHUNK, { version: '2.0.0' })
  await fill(store, v2)
  // within the longest wait: a change in the store's bundles needs no poke
  await waitFor(() => store.getBundle(v2.info.id)?.pins.includes('active') === true, 30_000, 'a new bundle is pinned without a poke')
  t.pass('the new bundle took the active pin')
})
