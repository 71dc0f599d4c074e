import t from 'tap'
import { WanServedTally, type BundleChunks } from '../../../src/control/wan-served.js'

const h = (n: number): string => 'h' + String(n).padStart(4, '0')
// v2 shares chunks 0..2 with v1 (a delta update) and adds 3 of its own
const v1: BundleChunks = { bundleId: 'b3:v1', hashes: [h(0), h(1), h(2), h(3)] }
const v2: BundleChunks = { bundleId: 'b3:v2', hashes: [h(0), h(1), h(2), h(10), h(11), h(12)] }

t.test('chunks served to a peer count for every bundle that lists them; complete peers per bundle', async t => {
  const known: BundleChunks[] = [v1]
  const tally = new WanServedTally({ bundles: async () => known, reindexMinIntervalMs: 0 })
  await tally.reindex()
  for (const x of v1.hashes) tally.record('peer-a', x, 100)
  tally.record('peer-b', h(0), 100)
  tally.record('peer-b', h(0), 100) // a repeat counts bytes, not a second piece
  t.equal(tally.bytesServed, 600)
  t.equal(tally.chunksServed, 6)
  t.same(tally.availability('peer-a'), [{ bundleId: 'b3:v1', heldChunks: 4, pieceCount: 4 }])
  t.same(tally.availability('peer-b'), [{ bundleId: 'b3:v1', heldChunks: 1, pieceCount: 4 }])
  t.same([...tally.peersHolding()], [['b3:v1', 1]])

  // v2 appears later (pull-through): peer-a's shared chunks count for it at once
  known.push(v2)
  tally.record('peer-a', h(10), 100)
  await tally.reindex()
  t.same(tally.availability('peer-a'), [
    { bundleId: 'b3:v1', heldChunks: 4, pieceCount: 4 },
    { bundleId: 'b3:v2', heldChunks: 4, pieceCount: 6 }
  ], 'the unplaced chunk and the three shared ones')
  tally.record('peer-a', h(11), 100)
  tally.record('peer-a', h(12), 100)
  t.same([...tally.peersHolding()], [['b3:v1', 1], ['b3:v2', 1]])
  t.same(tally.availability('nobody'), [])
})

t.test('chunks of bundles it does not know are kept up to a cap over all peers, then placed by a re-read', async t => {
  // store hubs that read their manifest from another super hub (bench:origin's clients):
  // a cap per peer let 50 of them keep every chunk of a 1 GiB bundle each (issue 17)
  const known: BundleChunks[] = []
  const tally = new WanServedTally({ bundles: async () => known, reindexMinIntervalMs: 0, maxUnplacedChunks: 5 })
  for (const peer of ['peer-a', 'peer-b', 'peer-c']) for (const x of v2.hashes) tally.record(peer, x, 100)
  tally.record('peer-a', h(0), 100) // a repeat takes no second place
  t.equal(tally.unplacedChunks, 5, 'at most the cap, whatever the number of peers')
  t.equal(tally.bytesServed, 1900, 'every byte counts')
  known.push(v2)
  await tally.reindex()
  t.equal(tally.unplacedChunks, 0, 'placed once the bundle is read')
  t.same(tally.availability('peer-a'), [{ bundleId: 'b3:v2', heldChunks: 5, pieceCount: 6 }])
  tally.record('peer-c', h(12), 100)
  t.same(tally.availability('peer-c'), [{ bundleId: 'b3:v2', heldChunks: 1, pieceCount: 6 }], 'what did not fit is not counted; what is served later is')
  tally.record('peer-c', h(99), 100)
  t.equal(tally.unplacedChunks, 1, 'room again for the next unknown chunk')
})
