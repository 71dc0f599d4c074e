/**
 * The auto-halt of groups that commit side by side (src/control/fleet-halt-check.ts),
 * run on both drivers by fleet-ledger-{pglite,postgres}.test.ts. On PostgreSQL the two
 * groups are real transactions held open together, so neither sees the other's
 * rollback before its commit: each alone is under the limit, both together are over,
 * and the check after the commit must see both. PGlite runs one transaction at a time.
 */
import type { Test } from 'tap'
import type { SqlDb } from '../../../src/control/index.js'
import { haltsAfterCommit } from '../../../src/control/fleet-halt-check.js'
import { ingestHubBatches, type IngestContext, type IngestInput } from '../../../src/control/fleet-ingest.js'
import type { LedgerDelta } from '../../../src/ledger/report/index.js'

const E1 = '2'.repeat(32)
const d = (seq: number, waveId: string, deviceId: string, state: LedgerDelta['state']): LedgerDelta => ({ seq, waveId, deviceId, state, version: seq, atMs: 1 })
const input = (hubId: string, entries: LedgerDelta[]): IngestInput => ({ batch: { type: 'hub-ledger', hubId, epoch: E1, entries }, certified: false })

export function fleetHaltCheckCases (t: Test, getDb: () => SqlDb, concurrent: boolean): void {
  t.test('groups that commit side by side, each under the halt limit alone and over it together, halt the wave once', async t => {
    const db = getDb()
    const ctx: IngestContext = { now: 5_000, via: 'super-a', admission: 'open', haltOnRollbackRatio: () => 0.3, minOutcomesForHalt: () => 4 }
    // the wave's row exists (a first group committed): two groups inserting a new wave's row would wait on each other's insert
    const first = [input('hc-c', [d(1, 'hc1', 'c-1', 'updated')])]
    await db.transaction(async tx => await ingestHubBatches(tx, first, ctx))
    // with it, alone: 1 of 5 rolled back (0.2) and 1 of 2 (under the minimum); together 2 of 6 = 0.33 > 0.3
    const a = [input('hc-a', [d(1, 'hc1', 'a-1', 'updated'), d(2, 'hc1', 'a-2', 'updated'), d(3, 'hc1', 'a-3', 'updated'), d(4, 'hc1', 'a-4', 'rolled-back')])]
    const b = [input('hc-b', [d(1, 'hc1', 'b-1', 'rolled-back')])]
    let arrived = 0
    let release: () => void = () => {}
    const both = new Promise<void>(resolve => { release = resolve })
    const group = async (inputs: IngestInput[]): Promise<ReturnType<typeof ingestHubBatches>> => {
      const out = await db.transaction(async tx => {
        const o = await ingestHubBatches(tx, inputs, ctx)
        // on a server: hold this transaction open until the other group has written its rows too
        if (concurrent && ++arrived === 2) release()
        if (concurrent) await both
        return o
      })
      await haltsAfterCommit(db, inputs, out, ctx)
      return out
    }
    const [outA, outB] = concurrent ? await Promise.all([group(a), group(b)]) : [await group(a), await group(b)]
    const halts = await db.query<{ reason: string }>("SELECT reason FROM orders WHERE wave_id = 'hc1' AND action = 'halt'")
    t.equal(halts.length, 1, 'one halt order, whichever group found it')
    t.match(halts[0]?.reason, /rollback ratio 0\.3333 > 0\.3 \(2 of 6 devices rolled back\)/)
    const carried = [...outA!, ...outB!].filter(o => o.ok && o.result.halts.some(h => h.waveId === 'hc1') && o.result.answer.some(w => w.waveId === 'hc1' && w.action === 'halt'))
    t.ok(carried.length >= 1, 'the answer of the report that found it carries the halt')
    t.equal((await db.query("SELECT state FROM waves WHERE wave_id = 'hc1'"))[0]?.state, 'halted')
    // a resend of the rolled-back report (a crash after the commit) checks again and halts nothing twice
    const again = await group(b)
    t.ok(again[0]?.ok === true && again[0].result.replayed, 'the resend is a replay')
    t.equal((await db.query("SELECT 1 FROM orders WHERE wave_id = 'hc1' AND action = 'halt'")).length, 1, 'still one halt')
  })

  t.test('a wave over its ratio that reaches its minimum through updated entries is halted by that group\'s check', async t => {
    const db = getDb()
    const ctx: IngestContext = { now: 6_000, via: 'super-a', admission: 'open', haltOnRollbackRatio: () => 0.3, minOutcomesForHalt: () => 4 }
    const group = async (inputs: IngestInput[]): Promise<Awaited<ReturnType<typeof ingestHubBatches>>> => {
      const out = await db.transaction(async tx => await ingestHubBatches(tx, inputs, ctx))
      await haltsAfterCommit(db, inputs, out, ctx)
      return out
    }
    // 2 of 2 rolled back: over the ratio, under the minimum
    await group([input('hu-a', [d(1, 'hu1', 'a-1', 'rolled-back'), d(2, 'hu1', 'a-2', 'rolled-back')])])
    t.equal((await db.query("SELECT 1 FROM orders WHERE wave_id = 'hu1' AND action = 'halt'")).length, 0, 'no halt under the minimum')
    // two updated devices: 2 of 4 = 0.5 > 0.3 at the minimum; no rollback in this group
    const out = await group([input('hu-b', [d(1, 'hu1', 'b-1', 'updated'), d(2, 'hu1', 'b-2', 'updated')])])
    t.equal((await db.query("SELECT 1 FROM orders WHERE wave_id = 'hu1' AND action = 'halt'")).length, 1, 'halted at the ingest, not at the runner\'s tick')
    t.ok(out[0]?.ok === true && out[0].result.answer.some(w => w.waveId === 'hu1' && w.action === 'halt'), 'the group\'s answer carries the halt')
    t.equal((await db.query("SELECT state FROM waves WHERE wave_id = 'hu1'"))[0]?.state, 'halted')
  })
}
