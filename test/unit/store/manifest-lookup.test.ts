import t from 'tap'
import { decodeManifest, infoHashOf } from '../../../src/bundle/manifest.js'
import { openStore, type ChunkStore } from '../../../src/store/index.js'
import { heldBundleByInfoHash, servableManifest, storeManifestLookup } from '../../../src/store/manifest-lookup.js'
import { FIXTURE_TRUST, simpleBundle, tempDir, type FixtureBundle } from '../../support/store-fixture.js'

const CHUNK = 1000

async function fill (store: ChunkStore, fx: FixtureBundle): Promise<void> {
  await store.addBundle(fx.info)
  for (const p of fx.info.pieces) await store.put(p.hash, fx.chunks.get(p.hash)!)
}

const versionOf = (bytes: Uint8Array | undefined): string | undefined => bytes === undefined ? undefined : decodeManifest(bytes, FIXTURE_TRUST).manifest.signed.version

t.test('one state rule: a manifest is served, by id or by class, only for a bundle whose every chunk is held', async t => {
  // quota of 6 chunks on an exact LRU clock: filling `next` evicts the oldest bundle's chunks
  let now = 1_000_000
  const store = await openStore({ dataDir: await tempDir(t), quotaBytes: 6 * CHUNK, evictionSlackBytes: 0, touchGranularityMs: 0, nowMs: () => ++now })
  t.teardown(async () => await store.close())
  const old = simpleBundle(1, 3, CHUNK, { version: '0.9.0' })
  const verified = simpleBundle(2, 2, CHUNK, { version: '1.0.0' })
  const complete = simpleBundle(3, 2, CHUNK, { version: '1.1.0' })
  const partial = simpleBundle(4, 2, CHUNK, { version: '2.0.0' })
  await fill(store, old)
  await fill(store, verified)
  await store.markVerified(verified.info.id)
  await fill(store, complete)
  t.equal(store.bundleState(old.info.id), 'evicted', 'the least recently used bundle lost its chunks')
  await store.addBundle(partial.info)
  await store.put(partial.info.pieces[0]!.hash, partial.chunks.get(partial.info.pieces[0]!.hash)!)
  t.same([old, verified, complete, partial].map(b => store.bundleState(b.info.id)), ['evicted', 'verified', 'complete', 'partial'])

  const lookup = storeManifestLookup(store)
  t.equal(versionOf(await lookup({ bundleId: verified.info.id })), '1.0.0', 'verified: served by id')
  t.equal(versionOf(await lookup({ bundleId: complete.info.id })), '1.1.0', 'complete: served by id')
  t.equal(await lookup({ bundleId: partial.info.id }), undefined, 'partial: not served by id')
  t.equal(await lookup({ bundleId: old.info.id }), undefined, 'evicted: not served by id')
  t.equal(await lookup({ bundleId: 'b3:' + 'ab'.repeat(32) }), undefined, 'unknown: not served')
  t.equal(versionOf(await servableManifest(store, { deviceClass: 'pos' })), '1.1.0', 'by class: the newest servable, not the newer partial')
  t.equal(await lookup({ deviceClass: 'kiosk' }), undefined, 'a class the store has nothing of')
  t.equal(decodeManifest((await lookup({ bundleId: verified.info.id }))!, FIXTURE_TRUST).id, verified.info.id, 'the signed manifest, verified against the trust')

  // the chunk protocol's question: partial bundles are swarmed, evicted ones are not
  t.equal((await heldBundleByInfoHash(store, infoHashOf(partial.info.id)))?.id, partial.info.id, 'partial: held')
  t.equal((await heldBundleByInfoHash(store, infoHashOf(verified.info.id)))?.id, verified.info.id, 'verified: held')
  t.equal(await heldBundleByInfoHash(store, infoHashOf(old.info.id)), undefined, 'evicted: not held')
})
