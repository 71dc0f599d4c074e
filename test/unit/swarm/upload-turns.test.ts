import t from 'tap'
import { MIN_TURNS_PASSED, UploadTurns } from '../../../src/swarm/upload-turns.js'
import { manualCap, ticks } from './helpers.js'

const tick = async (): Promise<void> => { await ticks() }

t.test('one chunk at a time: the next waits until the first has all its bytes', async t => {
  const cap = manualCap()
  const turns = new UploadTurns(cap.acquire)
  const done: number[] = []
  const a = turns.acquire(100).then(() => done.push(100))
  const b = turns.acquire(200).then(() => done.push(200))
  await tick()
  t.same(cap.asked, [100], 'only the first chunk asks the cap')
  t.equal(turns.waiting, 1)
  cap.release()
  await a
  await tick()
  t.same(cap.asked, [100, 200], 'the second asks once the first is through')
  cap.release()
  await b
  t.same(done, [100, 200])
})

t.test('the chunk fewest peers hold goes first, first come among equals', async t => {
  const cap = manualCap()
  const turns = new UploadTurns(cap.acquire)
  const holders = new Map([[1, 5], [2, 0], [3, 2], [4, 0]])
  const order: number[] = []
  const first = turns.acquire(10, { holders: () => 9 })
  const rest = [1, 2, 3, 4].map(async bytes => { await turns.acquire(bytes, { holders: () => holders.get(bytes) ?? 0 }); order.push(bytes) })
  await tick()
  cap.release() // the first one
  await first
  for (let i = 0; i < 4; i++) { await tick(); cap.release() }
  await Promise.all(rest)
  // 2 and 4 tie and keep their arrival order; then 1 has been passed over twice, as
  // often as chunks still wait, so it goes before the rarer 3
  t.same(order, [2, 4, 1, 3], 'rarest first, first come among equals, nobody passed over for long')
})

t.test('holders are read when the turn is decided, and a passed-over chunk is not starved', async t => {
  const cap = manualCap()
  const turns = new UploadTurns(cap.acquire)
  const order: string[] = []
  void turns.acquire(1) // holds the turn
  await tick()
  let commonHolders = 9
  const common = turns.acquire(2, { holders: () => commonHolders }).then(() => order.push('common'))
  const rare = [0, 1, 2, 3].map(async i => { await turns.acquire(3, { holders: () => 0 }); order.push(`rare${i}`) })
  await tick()
  for (let i = 0; i < 6; i++) { cap.release(); await tick() }
  await Promise.all([common, ...rare])
  const at = order.indexOf('common')
  t.ok(at <= Math.max(MIN_TURNS_PASSED, 5), `the common chunk went after at most the queue's length of rarer ones (position ${at})`)
  t.equal(order.length, 5)
  // a chunk that became rare while it waited goes first
  const order2: string[] = []
  void turns.acquire(1)
  await tick()
  commonHolders = 9
  const x = turns.acquire(2, { holders: () => commonHolders }).then(() => order2.push('x'))
  const y = turns.acquire(2, { holders: () => 5 }).then(() => order2.push('y'))
  commonHolders = 1
  for (let i = 0; i < 3; i++) { cap.release(); await tick() }
  await Promise.all([x, y])
  t.same(order2, ['x', 'y'], 'x had 9 holders when it arrived but 1 when the turn came')
})

t.test('an aborted waiter leaves the line and the next one goes', async t => {
  const cap = manualCap()
  const turns = new UploadTurns(cap.acquire)
  const first = turns.acquire(1)
  const ac = new AbortController()
  const aborted = turns.acquire(2, { signal: ac.signal })
  const third = turns.acquire(3)
  await tick()
  ac.abort(new Error('cancelled'))
  await t.rejects(aborted, /cancelled/)
  t.equal(turns.waiting, 1)
  cap.release()
  await first
  await tick()
  t.same(cap.asked, [1, 3], 'the aborted one never asked the cap')
  cap.release()
  await third
})

t.test('a cap that fails releases the turn', async t => {
  let calls = 0
  const turns = new UploadTurns(async () => { if (calls++ === 0) throw new Error('cap broke') })
  await t.rejects(turns.acquire(1), /cap broke/)
  await turns.acquire(2)
  t.equal(calls, 2)
})

t.test('a request cancelled while it waited leaves without a turn and takes no bytes', async t => {
  const cap = manualCap()
  const turns = new UploadTurns(cap.acquire)
  const first = turns.acquire(1)
  let liveB = true
  const b = turns.acquire(2, { live: () => liveB })
  const c = turns.acquire(3, { live: () => true })
  await tick()
  t.equal(turns.waiting, 2)
  liveB = false // its requester got the chunk elsewhere
  cap.release()
  t.equal(await first, true, 'the first took its bytes')
  t.equal(await b, false, 'the cancelled one resolves false')
  await tick()
  t.same(cap.asked, [1, 3], 'the cancelled one never asked the cap; the next live one did')
  t.equal(turns.waiting, 0)
  cap.release()
  t.equal(await c, true)
  // with nobody in line the turn is granted at once; dead by the time the cap granted
  // its bytes, it keeps them for the next turn
  const alone = turns.acquire(4, { live: () => false })
  await tick()
  cap.release()
  t.equal(await alone, false)
  t.equal(turns.prepaidBytes, 4)
})

t.test('a request cancelled during its turn hands the bytes the cap granted to the next one', async t => {
  const cap = manualCap()
  const turns = new UploadTurns(cap.acquire)
  let liveA = true
  const a = turns.acquire(100, { live: () => liveA })
  const b = turns.acquire(60, { live: () => true })
  const c = turns.acquire(70, { live: () => true })
  await tick()
  t.same(cap.asked, [100])
  liveA = false // cancelled while the cap metered its bytes
  cap.release()
  t.equal(await a, false, 'the cancelled one resolves false: it took nothing')
  t.equal(await b, true, 'the next one is paid from what the cap already granted')
  t.equal(turns.prepaidBytes, 40)
  await tick()
  t.same(cap.asked, [100, 30], 'the one after asks the cap only for what is not prepaid')
  cap.release()
  t.equal(await c, true)
  t.equal(turns.prepaidBytes, 0)
})

t.test("first chunks go before rarer chunks of requesters already served, the earliest first asker first", async t => {
  const cap = manualCap()
  const turns = new UploadTurns(cap.acquire)
  const order: string[] = []
  const first = turns.acquire(10, { holders: () => 9 })
  const wait = (name: string, holders: number, firstAskedAtMs?: number): Promise<void> =>
    turns.acquire(1, { holders: () => holders, first: () => firstAskedAtMs }).then(() => { order.push(name) })
  // served already, rarest; a newcomer's common chunk; one that first asked earlier (that request was cancelled); served ones
  const rest = [wait('served-rare', 0), wait('newcomer', 7, 2000), wait('asked-before', 7, 1000), wait('served-a', 1), wait('served-b', 1)]
  await tick()
  cap.release()
  await first
  for (let i = 0; i < 5; i++) { await tick(); cap.release() }
  await Promise.all(rest)
  // before, both newcomers (7 holders) went last: their hoarder clocks ran at us for five chunk-times
  t.same(order.slice(0, 2), ['asked-before', 'newcomer'], 'first chunks first, by when their requester first asked')
  t.same(order.slice(2), ['served-rare', 'served-a', 'served-b'], 'then rarest first as before')
})
