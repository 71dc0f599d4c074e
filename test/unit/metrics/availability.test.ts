import t from 'tap'
import { availabilityOf, chunkCopies, hasPiece, heldCount } from '../../../src/metrics/availability.js'

// wire order: piece i is bit 7 - i % 8 of byte i / 8
const bf = (s: string): Uint8Array => {
  const out = new Uint8Array(Math.ceil(s.length / 8))
  ;[...s].forEach((c, i) => { if (c === '1') out[i >> 3]! |= 0x80 >> (i & 7) })
  return out
}

t.test('bit order and counting', async t => {
  t.equal(bf('1')[0], 0x80)
  t.ok(hasPiece(bf('0100000001'), 1))
  t.ok(hasPiece(bf('0100000001'), 9))
  t.notOk(hasPiece(bf('0100000001'), 8))
  t.notOk(hasPiece(bf('1'), 40), 'past the end is not held')
  t.equal(heldCount(bf('1111111111'), 4), 4, 'bits past pieceCount are ignored')
})

t.test('hand-computed: 4 chunks, 3 holders', async t => {
  // chunk:   0 1 2 3
  // A        1 1 1 1
  // B        1 0 1 0
  // C        1 1 0 0
  // copies   3 2 2 1  -> min 1, one chunk at min, 3 of 4 above: 1.75
  const bits = [bf('1111'), bf('1010'), bf('1100')]
  t.same([...chunkCopies(4, bits)], [3, 2, 2, 1])
  t.same(availabilityOf(4, bits), { pieceCount: 4, holders: 3, minCopies: 1, distributedCopies: 1.75, chunksAtMin: 1, completeHolders: 1 })
})

t.test('hand-computed: every chunk twice, a quarter three times', async t => {
  // copies 3 2 2 2 over 4 chunks: 2 + 1/4
  const bits = [bf('1111'), bf('1111'), bf('1000')]
  const a = availabilityOf(4, bits)
  t.equal(a.minCopies, 2)
  t.equal(a.distributedCopies, 2.25)
  t.equal(a.chunksAtMin, 3)
  t.equal(a.completeHolders, 2)
})

t.test('a chunk nowhere: min 0', async t => {
  const a = availabilityOf(10, [bf('1111111110'), bf('1111111110')])
  t.equal(a.minCopies, 0)
  t.equal(a.distributedCopies, 0.9)
  t.equal(a.chunksAtMin, 1)
  t.equal(a.completeHolders, 0)
})

t.test('no holders, short and oversized bitfields, empty bundle', async t => {
  t.same(availabilityOf(3, []), { pieceCount: 3, holders: 0, minCopies: 0, distributedCopies: 0, chunksAtMin: 3, completeHolders: 0 })
  // a short bitfield (1 byte for 12 pieces) counts the tail as missing
  const a = availabilityOf(12, [bf('11111111'), bf('111111111111')])
  t.same([...chunkCopies(12, [bf('11111111'), bf('111111111111')])], [2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1])
  t.equal(a.minCopies, 1)
  t.equal(a.distributedCopies, 1 + 8 / 12)
  // spare bits set past pieceCount do not make a holder complete or add copies
  t.same(availabilityOf(3, [bf('11111111')]), { pieceCount: 3, holders: 1, minCopies: 1, distributedCopies: 1, chunksAtMin: 3, completeHolders: 1 })
  t.same(availabilityOf(0, [bf('1')]), { pieceCount: 0, holders: 1, minCopies: 0, distributedCopies: 0, chunksAtMin: 0, completeHolders: 1 })
  t.throws(() => chunkCopies(-1, []))
})
