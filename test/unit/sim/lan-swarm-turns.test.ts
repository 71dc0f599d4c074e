import t from 'tap'
import { takeTurn } from '../../../src/sim/lan-swarm-turns.js'
import type { Node, Req } from '../../../src/sim/lan-swarm-types.js'

// only what takeTurn reads of the uploading node: its queue and what each peer has not read yet
const uploader = (queue: Req[], unread: number[]): Node => ({ queue, unread: Int32Array.from(unread) }) as unknown as Node
const req = (from: number, index: number, holders: number, live = true): Req => ({ from, index, passed: 0, live, holders: () => holders })

t.test('one request per peer is offered to a turn, its first waiting one', async t => {
  // peer 1's second request is the rarest, but its loop offers its first one
  const q = [req(1, 10, 5), req(2, 20, 3), req(1, 11, 0)]
  const seen = new Uint8Array(4)
  const first = takeTurn(uploader(q, [0, 0, 0, 0]), [], seen)
  t.equal(first?.index, 20, 'the rarest among the peers\' first requests (chunk 20, 3 holders) beats peer 1\'s first (5)')
  t.same(q.map(r => r.index), [10, 11], 'taken off the queue')
  t.same(q.map(r => r.passed), [1, 0], 'only the offered request that lost its turn was passed')
  t.same([...seen], [0, 0, 0, 0], 'scratch marks cleared')
})

t.test('a peer that has not read the last chunk sent to it is offered nothing', async t => {
  const q = [req(1, 10, 0), req(2, 20, 9)]
  const up = uploader(q, [0, 1, 0, 0])
  t.equal(takeTurn(up, [], new Uint8Array(4))?.index, 20, 'peer 1 still reads its last chunk: peer 2 is served though its chunk is commoner')
  t.equal(takeTurn(up, [], new Uint8Array(4)), undefined, 'nothing offered while peer 1 has a chunk unread')
  t.same(q.map(r => r.index), [10], 'its request waits at the sender, where a cancel can still remove it')
  up.unread[1] = 0
  t.equal(takeTurn(up, [], new Uint8Array(4))?.index, 10, 'served once read')
})

t.test('cancelled requests leave the queue and are never served', async t => {
  const q = [req(1, 10, 0, false), req(1, 11, 4)]
  t.equal(takeTurn(uploader(q, [0, 0]), [], new Uint8Array(2))?.index, 11)
  t.same(q, [])
})
