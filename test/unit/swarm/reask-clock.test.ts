import t from 'tap'
import { Bits } from '../../../src/swarm/bits.js'
import { Picker } from '../../../src/swarm/picker.js'
import type { PickerInit } from '../../../src/swarm/picker-types.js'
import { READER_QUEUE_ALLOWANCE_MAX_MS, ReaskClock } from '../../../src/swarm/reask-clock.js'

const CHUNK_BYTES = 1000
/** one chunk per this many ms: the reader's link, 2 bytes per ms */
const ARRIVAL_EVERY_MS = 500

function bits (n: number, set: number[]): Bits {
  const b = new Bits(n)
  for (const i of set) b.set(i)
  return b
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, k) => from + k)

function picker (chunks: number, clock: { ms: number }, over: Partial<PickerInit> = {}): Picker {
  return new Picker({
    pieceSizes: new Array<number>(chunks).fill(CHUNK_BYTES),
    pipelineBytes: Number.MAX_SAFE_INTEGER,
    pipelineMinRequests: 1,
    pipelineMaxRequests: 64,
    endgameMaxPeersPerPiece: 3,
    reaskAfterMs: 1000,
    now: () => clock.ms,
    random: () => 0.5,
    ...over
  })
}

t.test('a reader with a deep queue does not re-ask a chunk that is merely queued behind others', async t => {
  const clock = { ms: 0 }
  // chunk 10 is held by no one: not endgame, so a copy needs a stale request
  const p = picker(11, clock)
  for (const id of ['A', 'B']) p.addPeer(id)
  p.peerBitfield('A', bits(11, range(0, 10)))
  const order = p.next('A')
  t.equal(order.length, 10, 'A is asked for all ten: 10,000 bytes outstanding')
  p.peerBitfield('B', bits(11, range(0, 10)))
  // A sends them in order as fast as the reader receives: each waits only for the ones ahead of it
  let copies = 0
  for (const [k, index] of order.entries()) {
    clock.ms = (k + 1) * ARRIVAL_EVERY_MS - 1
    copies += p.next('B').length
    clock.ms = (k + 1) * ARRIVAL_EVERY_MS
    p.setHave(index, 'A')
  }
  // the old picker asked idle B for a copy at 1,000 ms, when eight of A's requests were past reaskAfterMs
  t.equal(copies, 0, 'no copy asked of idle B while the reader drained its queue at its own rate')
  t.equal(p.heldCount, 10)
  t.equal(p.suspects, 0)
})

t.test('a genuinely slow peer still loses its request to a fast one once its queue is explained', async t => {
  const clock = { ms: 0 }
  const p = picker(11, clock)
  for (const id of ['A', 'C', 'B']) p.addPeer(id)
  p.peerBitfield('A', bits(11, range(0, 9)))
  const order = p.next('A')
  t.equal(order.length, 9)
  p.peerBitfield('C', bits(11, [9]))
  t.same(p.next('C'), [9], 'C is asked behind 9,000 bytes: at 2 bytes/ms, 4,500 ms of queue')
  p.peerBitfield('B', bits(11, [9]))
  for (const [k, index] of order.entries()) {
    clock.ms = (k + 1) * ARRIVAL_EVERY_MS
    p.setHave(index, 'A')
  }
  // C never sends: its request is late at reaskAfterMs plus the queue ahead of it (1,000 + 4,500)
  const dueMs = 1000 + 9 * CHUNK_BYTES / (CHUNK_BYTES / ARRIVAL_EVERY_MS)
  clock.ms = dueMs - 1
  t.same(p.next('B'), [], 'still explained by the queue ahead of it')
  t.equal(p.suspects, 0)
  clock.ms = dueMs
  t.same(p.next('B'), [9], 'then the idle fast peer is asked')
  t.equal(p.suspects, 1, 'and C, which never delivered, is a suspect')
  t.same(p.setHave(9, 'B').sort(), ['B', 'C'], 'B\'s copy cancels C\'s request')
})

t.test('the hoarder clock does not wait for the queue: a claimant that never sends is named at hoarderAfterMs', async t => {
  const clock = { ms: 0 }
  const hoarderAfterMs = 3000
  const p = picker(10, clock, { unprovenPipelineRequests: 1, probeRequests: 1, hoarderAfterMs })
  for (const id of ['A', 'H']) p.addPeer(id)
  // A holds all but chunk 9, which only H claims: H's request for it waits until H is named
  p.peerBitfield('A', bits(10, range(0, 9)))
  p.peerUnchoked('A')
  const queue = p.next('A')
  t.equal(queue.length, 1, 'A is unproven: one request')
  p.peerBitfield('H', bits(10, range(0, 10)))
  p.peerUnchoked('H')
  t.same(p.next('H'), [9], 'H, claiming everything, is asked for the chunk only it claims')
  let named: string[] = []
  for (let ms = ARRIVAL_EVERY_MS; ms <= hoarderAfterMs && named.length === 0; ms += ARRIVAL_EVERY_MS) {
    clock.ms = ms
    const i = queue.shift()
    if (i !== undefined) p.setHave(i, 'A')
    queue.push(...p.next('A'))
    named = p.takeHoarders()
  }
  t.same(named, ['H'], 'named at hoarderAfterMs while A kept the reader busy')
  t.equal(clock.ms, hoarderAfterMs)
})

t.test('ReaskClock: no excuse before a first arrival, the rate holds through a stall, the excuse is bounded', async t => {
  const c = new ReaskClock()
  t.equal(c.asked(CHUNK_BYTES, 0), 0, 'nothing ahead of the first request')
  t.equal(c.asked(CHUNK_BYTES, 0), CHUNK_BYTES, 'the first is ahead of the second')
  t.equal(c.queueMs(CHUNK_BYTES, 400), 0, 'no rate before a chunk arrived: judged by time alone')
  c.received(CHUNK_BYTES, ARRIVAL_EVERY_MS)
  c.ended(CHUNK_BYTES, ARRIVAL_EVERY_MS)
  t.equal(c.outstandingBytes, CHUNK_BYTES)
  t.equal(c.queueMs(CHUNK_BYTES, ARRIVAL_EVERY_MS), ARRIVAL_EVERY_MS, 'a chunk ahead takes one arrival time')
  t.equal(c.queueMs(CHUNK_BYTES, 60_000), ARRIVAL_EVERY_MS, 'a minute with nothing arriving does not grow the excuse')
  t.equal(c.queueMs(1e12, 60_000), READER_QUEUE_ALLOWANCE_MAX_MS, 'bounded')
  c.received(CHUNK_BYTES, 60_000)
  t.ok(c.queueMs(CHUNK_BYTES, 60_000) > 10 * ARRIVAL_EVERY_MS, 'the slow arrival after the stall lowers the rate')
})
