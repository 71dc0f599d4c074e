/** The prefetch queue's due rule: an entry waits for its notBeforeMs (the policy's prestageHours before its window). */
import t from 'tap'
import { addPrefetch, nextDue, readPrefetchQueue, type PrefetchEntry } from '../../../src/wan/prefetch-queue.js'

const A = 'b3:' + 'aa'.repeat(32)
const B = 'b3:' + 'bb'.repeat(32)
const entry = (bundleId: string, extra: Partial<PrefetchEntry> = {}): PrefetchEntry => ({ bundleId, addedMs: 0, state: 'queued', ...extra })

t.test('the first queued entry that is due; otherwise when the next one is', async t => {
  t.same(nextDue([], 10), {})
  t.same(nextDue([entry(A, { notBeforeMs: 100 }), entry(B)], 10), { due: entry(B) }, 'a later entry due now goes first')
  t.same(nextDue([entry(A, { notBeforeMs: 100 }), entry(B, { notBeforeMs: 50 })], 10), { wakeAtMs: 50 })
  t.same(nextDue([entry(A, { notBeforeMs: 100 })], 100), { due: entry(A, { notBeforeMs: 100 }) }, 'due at its instant')
  t.same(nextDue([entry(A, { state: 'staged' })], 10), {})
})

t.test('addPrefetch keeps notBeforeMs, and a repeat add replaces it', async t => {
  const dir = t.testdir({})
  await addPrefetch(dir, { bundleId: A, notBeforeMs: 5000, nowMs: 1 })
  t.equal((await readPrefetchQueue(dir))[0]?.notBeforeMs, 5000)
  await addPrefetch(dir, { bundleId: A, notBeforeMs: 7000 })
  t.equal((await readPrefetchQueue(dir))[0]?.notBeforeMs, 7000)
})
