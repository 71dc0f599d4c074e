import t from 'tap'
import { ChunkAssigner } from '../../../src/wan/chunk-assigner.js'

const pieces = [{ hash: 'a', size: 10 }, { hash: 'b', size: 10 }, { hash: 'c', size: 10 }]

t.test('each chunk goes to one hub; a failed hub returns only what had not arrived', async t => {
  const as = new ChunkAssigner(pieces, 2)
  const batch = as.take(0, 100, 10)
  t.same(batch.map(p => p.hash), ['a', 'b', 'c'])
  t.notOk(as.hasWorkFor(1), 'nothing left for the other hub')
  as.arrived('a') // bytes in, store still writing
  as.complete('b')
  t.equal(as.release(0), 1, 'only c goes back: a is being stored, b is done')
  t.same(as.take(1, 100, 10).map(p => p.hash), ['c'])
  t.notOk(as.finished, 'a is still being stored')
  as.complete('a')
  as.complete('c')
  t.ok(as.finished)
  t.equal(as.completed, 3)
})

t.test('a chunk whose store failed is queued again; lacking hubs are skipped', async t => {
  const as = new ChunkAssigner(pieces.slice(0, 1), 2)
  as.take(0, 100, 10)
  as.arrived('a')
  as.storeFailed('a')
  t.ok(as.hasWorkFor(0))
  as.take(0, 100, 10)
  as.notFound('a', 0)
  t.notOk(as.hasWorkFor(0), 'hub 0 lacks it')
  t.ok(as.hasWorkFor(1))
  as.take(1, 100, 10)
  as.notFound('a', 1)
  t.ok(as.stuck, 'no hub holds it')
})
