/**
 * Report groups on a real PostgreSQL server (src/control/ingest-queue.ts,
 * fleet-ingest.ts): exactly-once when a fleet's first reports (each hub admitted by the
 * group that carries it) reach two super hubs at once and are replayed, and no ack
 * before its group's commit.
 */
import t from 'tap'
import { FleetLedger, type SqlDb } from '../../../src/control/index.js'
import { ingestHubBatches, type IngestContext } from '../../../src/control/fleet-ingest.js'
import type { HubBatch, LedgerDelta } from '../../../src/ledger/report/index.js'
import { fleetPostgres } from './fleet-pg.js'

const EPOCH = '3'.repeat(32)
const HUBS = 24
const DEVICES = 5
const report = (hub: number, wave: string): HubBatch => ({
  type: 'hub-ledger',
  hubId: `ga-${wave}-${hub}`,
  epoch: EPOCH,
  entries: Array.from({ length: DEVICES }, (_, d): LedgerDelta => ({ seq: d + 1, waveId: wave, deviceId: `${wave}-${hub}-${d}`, state: d === 0 ? 'rolled-back' : 'updated', version: d + 1, atMs: 1 }))
})

const fixture = await fleetPostgres(t, 'groups')
if (fixture !== undefined) {
  const { url, db: shared } = fixture

  t.test('first reports of new hubs at two super hubs at once, each sent twice: every outcome counts once', async t => {
    const a = await FleetLedger.over(shared, { haltOnRollbackRatio: 1, via: 'super-a', ingest: { maxInFlight: 4, maxReports: 8 } })
    const b = await FleetLedger.open({ dbUrl: url, haltOnRollbackRatio: 1, via: 'super-b', ingest: { maxInFlight: 4, maxReports: 8 } }, { waitForDb: true })
    t.teardown(async () => { await a.close(); await b.close() })
    const reports = Array.from({ length: HUBS }, (_, h) => report(h, 'ga1'))
    // the other super hub takes them in the reverse order: its groups admit the hubs that a's groups admit meanwhile
    const sent = [...reports.map(async r => await a.acceptHubBatch(r)), ...[...reports].reverse().map(async r => await b.acceptHubBatch(r)),
      ...reports.map(async r => await a.acceptHubBatch(r))]
    const acks = await Promise.all(sent)
    t.ok(acks.every(x => x.ackedSeq === DEVICES), 'every copy acked up to the last seq')
    t.same(await a.waveTotals('ga1'), { updated: HUBS * (DEVICES - 1), rolledBack: HUBS, failed: 0, pending: 0, blocked: 0, total: HUBS * DEVICES, blockedByGate: {}, failedByReason: {} }, 'each device once')
    const logged = await shared.query<{ n: unknown }>("SELECT count(*) AS n FROM hub_reports WHERE hub_id LIKE 'ga-ga1-%'")
    t.equal(Number(logged[0]!.n), HUBS, 'one applied report per hub')
    t.equal(a.counters.outcomesIngested + b.counters.outcomesIngested, HUBS * DEVICES, 'the two super hubs applied each outcome once between them')
    t.equal(a.counters.reportsApplied + b.counters.reportsApplied, HUBS)
    t.ok(a.ingestStats().groups < 2 * HUBS, `a's ${2 * HUBS} reports went in ${a.ingestStats().groups} groups`)
  })

  t.test('no report is acked before its group committed; a group whose commit fails acks none', async t => {
    // the ledger's database: the real one, with each transaction's commit held at a gate the test opens
    let gate: Promise<void> = Promise.resolve()
    let failCommit = false
    let committed = 0
    let atGate = 0
    const held: SqlDb = {
      ...shared,
      query: shared.query.bind(shared),
      exec: shared.exec.bind(shared),
      async transaction<T> (fn: Parameters<SqlDb['transaction']>[0]): Promise<T> {
        return await shared.transaction(async tx => {
          const out = await fn(tx) as T
          atGate++
          await gate
          // thrown before COMMIT: the server rolls the group back
          if (failCommit) throw new Error('commit refused by the test')
          return out
        }).then(out => { committed++; return out })
      }
    }
    const l = await FleetLedger.over(held, { haltOnRollbackRatio: 1, via: 'super-c', ingest: { maxInFlight: 1 } })
    t.teardown(async () => { await l.close() })
    let open: () => void = () => {}
    gate = new Promise(resolve => { open = resolve })
    const settled: string[] = []
    const r1 = report(1, 'gb1')
    const r2 = report(2, 'gb1')
    const p = [r1, r2].map(async r => { const ack = await l.acceptHubBatch(r); settled.push(r.hubId); return ack })
    // the first group's statements ran and it waits at its commit (one group in flight: the second waits behind it)
    for (let i = 0; i < 3000 && atGate < 1; i++) await new Promise(resolve => setTimeout(resolve, 10))
    t.equal(atGate, 1, 'a group reached its commit')
    // the ack would be built and sent from here on if it did not wait for the commit
    for (let i = 0; i < 20; i++) await new Promise(resolve => setImmediate(resolve))
    t.same(settled, [], 'no ack while the commit is held')
    t.equal(committed, 0)
    const seen = await shared.query("SELECT 1 FROM device_outcomes WHERE wave_id = 'gb1'")
    t.equal(seen.length, 0, 'nothing visible outside the open transaction')
    open()
    const acks = await Promise.all(p)
    t.same(acks.map(x => x.ackedSeq), [DEVICES, DEVICES])
    t.ok(committed >= 1, 'acked after a commit')
    t.equal((await l.waveTotals('gb1')).total, 2 * DEVICES)

    // the commit fails: the report is refused (its hub resends), nothing of it stays, the resend counts once
    failCommit = true
    const r3 = report(3, 'gb1')
    await t.rejects(l.acceptHubBatch(r3), 'a report whose group did not commit is not acked')
    t.equal((await shared.query(`SELECT 1 FROM hubs WHERE hub_id = '${r3.hubId}'`)).length, 0, 'its hub was not admitted either')
    failCommit = false
    t.equal((await l.acceptHubBatch(r3)).ackedSeq, DEVICES, 'the resend lands')
    t.equal((await l.acceptHubBatch(r3)).ackedSeq, DEVICES, 'and its replay')
    t.equal((await l.waveTotals('gb1')).total, 3 * DEVICES, 'counted once')
  })

  t.test('a hub that another super hub admits while this group inserts it is read back locked: its report is a replay', async t => {
    const ctx: IngestContext = { now: 7_000, via: 'super-a', admission: 'open', haltOnRollbackRatio: () => 1, minOutcomesForHalt: () => 1_000 }
    const r = report(1, 'gc1')
    let release: () => void = () => {}
    const gate = new Promise<void>(resolve => { release = resolve })
    let admitted: () => void = () => {}
    const inFirst = new Promise<void>(resolve => { admitted = resolve })
    // the first transaction admits the hub and applies the report, and holds its commit
    const first = shared.transaction(async tx => { const out = await ingestHubBatches(tx, [{ batch: r, certified: false }], ctx); admitted(); await gate; return out })
    await inFirst
    // the second sees no row for the hub, and its insert waits for the first transaction's
    const second = shared.transaction(async tx => await ingestHubBatches(tx, [{ batch: r, certified: false }], { ...ctx, via: 'super-b' }))
    const waiting = async (): Promise<number> => Number((await shared.query<{ n: unknown }>("SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock'"))[0]!.n)
    for (let i = 0; i < 3000 && await waiting() < 1; i++) await new Promise(resolve => setTimeout(resolve, 10))
    t.ok(await waiting() >= 1, 'the second transaction waits on the first one\'s insert')
    release()
    const [a, b] = await Promise.all([first, second])
    t.match(a[0], { ok: true, result: { applied: DEVICES, ackedSeq: DEVICES, replayed: false } }, 'the first applied it')
    t.match(b[0], { ok: true, result: { applied: 0, ackedSeq: DEVICES, replayed: true } }, 'the second found the committed row and counted nothing')
    t.equal(Number((await shared.query<{ n: unknown }>("SELECT count(*) AS n FROM device_outcomes WHERE wave_id = 'gc1'"))[0]!.n), DEVICES)
  })
}
