/** `storemesh status`: the per-class progress and the text bar, from fixed inputs. */
import t from 'tap'
import type { AvailabilityBundleView } from '../../../src/api/types.js'
import { availabilityTable, classProgress, textBar } from '../../../src/cli/status.js'
import type { BundleStatus } from '../../../src/roles/peer-status.js'

function bundle (id: string, deviceClass: string, version: string): BundleStatus {
  return {
    id, name: 'os', version, deviceClass, state: 'verified', heldChunks: 4, totalChunks: 4, heldBytes: 4, totalBytes: 4,
    bytes: { lan: { up: 0, down: 0 }, wan: { up: 0, down: 0 } }, wastedBytes: 0, badChunks: 0, peers: 2, joined: true, superseed: true
  }
}

function avail (bundleId: string, held: number[], complete: number): AvailabilityBundleView {
  return {
    bundleId, pieceCount: 4, heldChunks: 4, minCopies: 1, distributedCopies: 1.5, rarestCopies: 1, devicesComplete: complete, from: 0, count: 1,
    copies: [1], rows: [{ peerId: 'self', self: true, heldChunks: 4, have: '1' }, ...held.map((h, i) => ({ peerId: `p${i}`, heldChunks: h, have: '0' }))],
    peersTruncated: false
  }
}

t.test('text bar', async t => {
  t.equal(textBar(0, 10), '[----------]')
  t.equal(textBar(0.5, 10), '[#####-----]')
  t.equal(textBar(1, 10), '[##########]')
  t.equal(textBar(7, 4), '[####]', 'clamped')
  t.equal(textBar(0.25, 4, true), '█░░░')
})

t.test('per class: the newest bundle of each class, its devices\' chunks', async t => {
  const bundles = [bundle('b1', 'pos', '1.0.0'), bundle('b2', 'pos', '1.1.0'), bundle('b3', 'kiosk', '2.0.0')]
  const av = [avail('b1', [4, 4], 2), avail('b2', [4, 2, 0], 1), avail('b3', [], 0)]
  const c = classProgress(bundles, av)
  t.match(c, [
    { deviceClass: 'kiosk', devices: 0, fraction: 1 },
    { deviceClass: 'pos', bundleId: 'b2', devices: 3, devicesComplete: 1, heldChunks: 6, totalChunks: 12, fraction: 0.5 }
  ])
  const table = availabilityTable(bundles, av)
  t.match(table, /pos\s+1\.1\.0\s+1\/3 complete\s+\[#{15}-{15}\] 50%/)
  t.match(table, /MIN COPIES/)
})
