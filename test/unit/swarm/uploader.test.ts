import t from 'tap'
import { UploadTurns } from '../../../src/swarm/upload-turns.js'
import { MAX_SENDS_PER_CHUNK, Uploader } from '../../../src/swarm/uploader.js'
import type { IncomingRequest } from '../../../src/swarm/wire.js'
import { manualCap, ticks } from './helpers.js'

const tick = async (): Promise<void> => { await ticks(5) }

function request (index: number, size: number, sent: number[]): IncomingRequest & { cancel: () => void } {
  let live = true
  return {
    index,
    size,
    get live () { return live },
    respond: () => { if (!live) return false; live = false; sent.push(index); return true },
    cancel: () => { live = false }
  }
}

function uploader (limiters: Array<(bytes: number, o?: object) => Promise<unknown>>, sent: number[]): Uploader {
  return new Uploader({
    wire: { writable: async () => {}, closed: false },
    read: async () => new Uint8Array(100),
    limiters: limiters as never,
    signal: new AbortController().signal,
    onSent: () => {},
    onError: err => { throw err }
  })
}

t.test('a request cancelled while it waits for its turn costs the cap nothing, and earns no credit', async t => {
  const cap = manualCap()
  const turns = new UploadTurns(cap.acquire)
  const sent: number[] = []
  const a = uploader([turns.acquire], sent)
  const b = uploader([turns.acquire], sent)
  const first = request(1, 100, sent)
  const doomed = request(2, 100, sent)
  a.enqueue(first)
  await tick()
  b.enqueue(doomed) // waits behind the first chunk's turn
  await tick()
  doomed.cancel() // its requester got chunk 2 elsewhere
  cap.release()
  await tick()
  t.same(sent, [1])
  t.same(cap.asked, [100], 'the cancelled request never took the cap\'s bytes')
  // b's next request pays in full: nothing was credited for the skipped one
  const next = request(3, 100, sent)
  b.enqueue(next)
  await tick()
  t.same(cap.asked, [100, 100], 'the next request asks the cap for all its bytes')
  cap.release()
  await tick()
  t.same(sent, [1, 3])
})

t.test('a request cancelled after it took its bytes leaves them as credit for the next one', async t => {
  const cap = manualCap()
  const sent: number[] = []
  const u = uploader([cap.acquire], sent)
  const r1 = request(1, 100, sent)
  u.enqueue(r1)
  await tick()
  r1.cancel() // while the cap metered its bytes
  cap.release()
  await tick()
  const r2 = request(2, 100, sent)
  u.enqueue(r2)
  await tick()
  t.same(cap.asked, [100], 'the second request was paid by the first one\'s credit')
  t.same(sent, [2])
})

t.test('credit a skipped request had drawn on is kept for the next one', async t => {
  // a limiter the test answers by hand: true (bytes taken) or false (skipped, nothing taken)
  const asked: number[] = []
  const answers: Array<(took: boolean) => void> = []
  const limiter = async (bytes: number): Promise<boolean> => {
    asked.push(bytes)
    return await new Promise<boolean>(resolve => { answers.push(resolve) })
  }
  const sent: number[] = []
  const u = uploader([limiter], sent)
  const r1 = request(1, 40, sent)
  u.enqueue(r1)
  await tick()
  r1.cancel()
  answers.shift()?.(true) // r1 paid 40 and was cancelled: 40 of credit
  await tick()
  const r2 = request(2, 100, sent)
  u.enqueue(r2)
  await tick()
  r2.cancel()
  answers.shift()?.(false) // r2 drew the 40 of credit, asked for 60, was skipped
  await tick()
  const r3 = request(3, 100, sent)
  u.enqueue(r3)
  await tick()
  t.same(asked, [40, 60, 60], 'r3 still had the 40 of credit r2 had drawn on')
  answers.shift()?.(true)
  await tick()
  t.same(sent, [3])
})

t.test('a request dropped at the node\'s turns is credit at the limiters that metered it, not at the node\'s cap', async t => {
  // the peer's own limiter (a WAN connection's bucket) meters first, then the node's turns
  const peerAsked: number[] = []
  const peer = async (bytes: number): Promise<boolean> => { peerAsked.push(bytes); return true }
  const cap = manualCap()
  const turns = new UploadTurns(cap.acquire)
  const sent: number[] = []
  const other = uploader([turns.acquire], sent)
  const u = uploader([peer, turns.acquire], sent)

  // 1. cancelled during its turn: the turns keep the cap's bytes as their own prepaid
  const r1 = request(1, 100, sent)
  u.enqueue(r1)
  await tick()
  r1.cancel()
  cap.release()
  await tick()
  t.equal(turns.prepaidBytes, 100, 'the turns hold what the cap metered for r1')
  const r2 = request(2, 100, sent)
  u.enqueue(r2)
  await tick()
  t.same(peerAsked, [100], 'r2 is paid at the peer\'s limiter by r1\'s credit')
  t.same(cap.asked, [100], 'and at the node by the turns\' prepaid bytes')
  t.equal(turns.prepaidBytes, 0, 'which r2 spent: the node\'s cap was not passed')
  t.same(sent, [2])

  // 2. cancelled while it waited for a turn: the node took nothing, so nothing is owed there
  const busy = request(3, 100, sent)
  other.enqueue(busy)
  await tick()
  const r4 = request(4, 100, sent)
  u.enqueue(r4)
  await tick()
  t.same(peerAsked, [100, 100], 'r4 was metered at the peer\'s limiter')
  r4.cancel()
  cap.release() // the busy chunk's bytes
  await tick()
  const r5 = request(5, 100, sent)
  u.enqueue(r5)
  await tick()
  t.same(peerAsked, [100, 100], 'r5 is paid at the peer\'s limiter by r4\'s credit')
  t.same(cap.asked, [100, 100, 100], 'but asks the node\'s cap for all its bytes')
  cap.release()
  await tick()
  t.same(sent, [2, 3, 5])
})

t.test('a chunk asked again after MAX_SENDS_PER_CHUNK copies is not served: onRepeat names it (the swarm closes the wire with repeat-request)', async t => {
  const sent: number[] = []
  const repeats: number[] = []
  const asked: number[] = []
  const u = new Uploader({
    wire: { writable: async () => {}, closed: false },
    read: async () => new Uint8Array(100),
    limiters: [async (bytes: number) => { asked.push(bytes) }],
    signal: new AbortController().signal,
    onSent: () => {},
    onError: err => { throw err },
    onRepeat: index => { repeats.push(index) }
  })
  for (let i = 0; i < MAX_SENDS_PER_CHUNK; i++) {
    u.enqueue(request(4, 100, sent))
    await tick()
  }
  u.enqueue(request(5, 100, sent))
  await tick()
  t.same(sent, [...Array.from({ length: MAX_SENDS_PER_CHUNK }, () => 4), 5], 'each copy up to the limit is served, another chunk too')
  t.same(asked.length, MAX_SENDS_PER_CHUNK + 1, 'and each one was metered by the cap')
  t.same(repeats, [], 'no repeat yet')
  u.enqueue(request(4, 100, sent))
  await tick()
  t.same(repeats, [4], 'one more ask of that chunk is a repeat')
  t.equal(sent.length, MAX_SENDS_PER_CHUNK + 1, 'and is not served')
  t.equal(asked.length, MAX_SENDS_PER_CHUNK + 1, 'nor metered')
})
