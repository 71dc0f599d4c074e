import t from 'tap'
import { IngestQueue } from '../../../src/control/ingest-queue.js'
import type { IngestInput, IngestOutcome } from '../../../src/control/fleet-ingest.js'

const EPOCH = 'e'.repeat(32)
const report = (hubId: string, devices: number): IngestInput => ({
  certified: false,
  batch: { type: 'hub-ledger', hubId, epoch: EPOCH, entries: Array.from({ length: devices }, (_, d) => ({ seq: d + 1, waveId: 'w1', deviceId: `${hubId}-d${d}`, state: 'updated' as const, version: 1, atMs: 1 })) }
})
const ok = (i: IngestInput): IngestOutcome => ({ ok: true, result: { ackedSeq: i.batch.entries.length, applied: i.batch.entries.length, replayed: false, halts: [], orders: [], answer: [] } })

t.test('polls (reports without entries) fill a group beside its reports, past maxReports', async t => {
  const groups: string[][] = []
  let release: () => void = () => {}
  const first = new Promise<void>(resolve => { release = resolve })
  const q = new IngestQueue(async inputs => {
    groups.push(inputs.map(i => i.batch.hubId))
    if (groups.length === 1) await first
    return inputs.map(ok)
  }, { maxInFlight: 1, maxReports: 2, maxPolls: 4 })
  const done = [q.submit(report('busy', 1))]
  // while the first group runs: 5 polls and 3 reports wait
  for (let i = 0; i < 5; i++) done.push(q.submit(report(`poll-${i}`, 0)))
  for (let i = 0; i < 3; i++) done.push(q.submit(report(`hub-${i}`, 2)))
  t.equal(q.waiting, 8)
  release()
  const acks = await Promise.all(done)
  t.same(groups, [['busy'], ['poll-0', 'poll-1', 'poll-2', 'poll-3', 'hub-0', 'hub-1'], ['poll-4', 'hub-2']], 'at most 4 polls and 2 reports with entries per group')
  t.same(acks.map(a => a.ackedSeq), [1, 0, 0, 0, 0, 0, 2, 2, 2], 'each report its own ack')
})

t.test('a hub already in the group waits for the next one, poll or not', async t => {
  const groups: string[][] = []
  let release: () => void = () => {}
  const first = new Promise<void>(resolve => { release = resolve })
  const q = new IngestQueue(async inputs => {
    groups.push(inputs.map(i => `${i.batch.hubId}:${i.batch.entries.length}`))
    if (groups.length === 1) await first
    return inputs.map(ok)
  }, { maxInFlight: 1 })
  const done = [q.submit(report('a', 1)), q.submit(report('a', 0)), q.submit(report('b', 0)), q.submit(report('b', 1))]
  release()
  await Promise.all(done)
  t.same(groups, [['a:1'], ['a:0', 'b:0'], ['b:1']])
})
