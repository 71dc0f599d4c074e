/**
 * The wave runner against the real fleet ledger, on both drivers (wave-runner-pglite.test.ts,
 * wave-runner-postgres.test.ts). The clock is a variable the cases move; nothing sleeps.
 * Each case uses its own wave and hub ids, so the cases share one database.
 */
import type { Test } from 'tap'
import { FleetLedger, type SqlDb } from '../../../src/control/index.js'
import { BATCH_NOT_STARTED } from '../../../src/control/store-gate.js'
import { runnerDoc, stepWave, WaveRunner } from '../../../src/control/wave-runner.js'
import { startWaveFromPolicy } from '../../../src/control/wave-start.js'
import { effectiveRollout } from '../../../src/control/waves/index.js'
import type { HubBatch, LedgerDelta, WaveOrder } from '../../../src/ledger/report/index.js'
import { parsePolicy } from '../../../src/policy/schema.js'

const E1 = '2'.repeat(32)
const MIN = 60_000
const T0 = Date.UTC(2026, 11, 7, 12, 0, 0)

export interface RunnerDriver {
  db: SqlDb
  /** another super hub's connection to the same database (PGlite: the same instance) */
  otherDb: () => Promise<SqlDb>
}

function policyOf (name: string, wave: number, rollout: Record<string, number> = {}): ReturnType<typeof parsePolicy> {
  return parsePolicy({
    apiVersion: 'storemesh/v1',
    kind: 'RolloutPolicy',
    metadata: { name, wave },
    spec: {
      bundle: { id: 'b3:' + 'ef'.repeat(32), version: '2.0.0' },
      targets: { percentage: 100, hubBudget: 1 },
      schedule: { prestageHours: 0 },
      rollout: { batchDelayMinutes: 15, haltOnRollbackRatio: 0.5, minOutcomesForHalt: 1, ...rollout }
    }
  })
}

class Fleet {
  now = T0
  seq = new Map<string, number>()
  readonly ledger: FleetLedger
  readonly runner: WaveRunner
  readonly waveId: string
  constructor (ledger: FleetLedger, runner: WaveRunner, waveId: string) {
    this.ledger = ledger
    this.runner = runner
    this.waveId = waveId
  }

  /** A hub's report; answers this hub's order for the wave. */
  async report (hubId: string, devices: Array<[string, LedgerDelta['state']]> = []): Promise<WaveOrder | undefined> {
    const entries = devices.map(([deviceId, state]) => {
      const seq = (this.seq.get(hubId) ?? 0) + 1
      this.seq.set(hubId, seq)
      return { seq, waveId: this.waveId, deviceId, state, version: seq, atMs: this.now }
    })
    const b: HubBatch = { type: 'hub-ledger', hubId, epoch: E1, entries }
    const ack = await this.ledger.acceptHubBatch(b)
    return ack.orders.find(o => o.waveId === this.waveId)
  }

  async step (): Promise<void> {
    await this.runner.stepAll()
  }
}

async function fleetFor (t: Test, db: SqlDb, name: string, wave: number, rollout: Record<string, number> = {}): Promise<{ f: Fleet, first: string, second: string }> {
  const ledger = await FleetLedger.over(db, { via: 'super-a' })
  let f: Fleet | undefined = undefined as Fleet | undefined
  const runner = new WaveRunner({ db: () => db, now: () => f!.now, via: 'super-a' })
  f = new Fleet(ledger, runner, String(wave))
  t.teardown(async () => { await runner.stop(); await ledger.close() })
  const p = policyOf(name, wave, rollout)
  const started = await startWaveFromPolicy(db, p, effectiveRollout(p), 'ops', f.now)
  t.equal(started.planned, true, 'the wave is planned from the policy')
  t.equal(started.order?.action, 'start')
  // two stores, one device each; hubBudget 1: two batches, in the wave's own store order
  t.match(await f.report(`${name}-a`), { action: 'pause', reason: BATCH_NOT_STARTED }, 'a store that is not started yet is held')
  await f.report(`${name}-a`, [[`${name}-a1`, 'pending']])
  await f.report(`${name}-b`, [[`${name}-b1`, 'pending']])
  f.now += 1000
  await f.step()
  const doc = (await runnerDoc(db, f.waveId))!
  t.equal(doc.state.batches.length, 2, 'two stores under hubBudget 1: two batches')
  return { f, first: doc.state.batches[0]![0]!, second: doc.state.batches[1]![0]! }
}

const dev = (store: string): string => `${store.slice(0, -2)}-${store.slice(-1)}1`

export function waveRunnerCases (t: Test, driver: () => RunnerDriver): void {
  t.test('batch 2 starts only after batch 1 is healthy and batchDelayMinutes passed', async t => {
    const { db } = driver()
    const { f, first, second } = await fleetFor(t, db, 'wr-seq', 9101)
    t.match(await f.report(first), { action: 'resume' }, 'batch 1 started: its store is released')
    t.match(await f.report(second), { action: 'pause', reason: BATCH_NOT_STARTED }, 'batch 2 is held')
    f.now += 60 * MIN
    await f.step()
    t.match(await f.report(second), { action: 'pause', reason: BATCH_NOT_STARTED }, 'time alone does not start batch 2 while batch 1 is not healthy')
    await f.report(first, [[dev(first), 'updated']])
    await f.step()
    const healthyAt = f.now
    const w = (await f.ledger.status(f.waveId)).waves[0]!
    t.match(w, { state: 'installing' })
    t.match(await db.query('SELECT batch_no, state, healthy_ms, not_before_ms FROM batches WHERE wave_id = $1 ORDER BY batch_no', [f.waveId]).then(r => r.map(x => [x.batch_no, x.state, Number(x.healthy_ms ?? 0), Number(x.not_before_ms ?? 0)])),
      [[0, 'healthy', healthyAt, 0], [1, 'prestaging', 0, healthyAt + 15 * MIN]], 'batch 1 healthy; batch 2 pre-staging (prestageHours 0), not installing before the delay')
    f.now = healthyAt + 15 * MIN - 1
    await f.step()
    t.match(await f.report(second), { action: 'pause', reason: BATCH_NOT_STARTED }, '1 ms before the delay ends: still held')
    f.now = healthyAt + 15 * MIN
    await f.step()
    t.match(await f.report(second), { action: 'resume' }, 'the delay passed: batch 2 started')
    await f.report(second, [[dev(second), 'updated']])
    await f.step()
    t.match((await runnerDoc(db, f.waveId))!.state, { phase: 'done' })
    t.equal((await db.query('SELECT state FROM waves WHERE wave_id = $1', [f.waveId]))[0]!.state, 'done')
  })

  t.test('an auto-halt stops batch 2 before it installs; only a resume clears it', async t => {
    const { db } = driver()
    const { f, first, second } = await fleetFor(t, db, 'wr-halt', 9102)
    await f.report(first, [[dev(first), 'rolled-back']])
    await f.step()
    t.match((await runnerDoc(db, f.waveId))!.state, { phase: 'halted', halt: { source: 'auto' } })
    t.match(await f.report(second), { action: 'halt' }, 'the second store is told to halt')
    f.now += 24 * 60 * MIN
    await f.step()
    t.match(await f.report(second), { action: 'halt' }, 'a day later it is still halted')
    t.equal((await db.query("SELECT started_ms FROM wave_stores WHERE wave_id = $1 AND hub_id = $2", [f.waveId, second]))[0]!.started_ms, null, 'the second store never started')
    t.equal(Number((await db.query("SELECT count(*) AS n FROM orders WHERE wave_id = $1 AND action = 'halt'", [f.waveId]))[0]!.n), 1, 'one halt order')
    await f.ledger.issue({ kind: 'wave', action: 'resume', waveId: f.waveId, by: 'ops', reason: 'accepted' })
    await f.step()
    t.match(await f.report(second), { action: 'pause', reason: BATCH_NOT_STARTED }, 'after the resume batch 2 waits for its turn again')
  })

  t.test('an operator halt and a pause hold every store; resume goes on where it was', async t => {
    const { db } = driver()
    const { f, first, second } = await fleetFor(t, db, 'wr-pause', 9103)
    await f.ledger.issue({ kind: 'wave', action: 'pause', waveId: f.waveId, by: 'ops', reason: 'store opening hours' })
    t.match(await f.report(first), { action: 'pause', reason: 'store opening hours' }, 'pause beats the started store')
    await f.report(first, [[dev(first), 'updated']])
    await f.step()
    f.now += 60 * MIN
    await f.step()
    t.match((await runnerDoc(db, f.waveId))!.state, { phase: 'paused' })
    t.match(await f.report(second), { action: 'pause', reason: 'store opening hours' }, 'no batch starts while paused')
    await f.ledger.issue({ kind: 'wave', action: 'resume', waveId: f.waveId, by: 'ops' })
    await f.step()
    t.match(await f.report(second), { action: 'pause', reason: BATCH_NOT_STARTED }, 'resumed: batch 1 healthy from now, batch 2 after its delay')
    f.now += 15 * MIN
    await f.step()
    t.match(await f.report(second), { action: 'resume' })
    await f.ledger.issue({ kind: 'wave', action: 'halt', waveId: f.waveId, by: 'ops', reason: 'bad build' })
    t.match(await f.report(second), { action: 'halt', reason: 'bad build' }, 'halt beats everything')
    await f.step()
    t.match((await runnerDoc(db, f.waveId))!.state, { phase: 'halted', halt: { source: 'operator', reason: 'bad build' } })
  })

  t.test('two runners on one database never double-step', async t => {
    const { db } = driver()
    const other = await driver().otherDb()
    const { f, first, second } = await fleetFor(t, db, 'wr-two', 9104, { haltOnRollbackRatio: 0.4 })
    await f.report(first, [[dev(first), 'updated']])
    const starts: number[] = []
    const clockB = { now: f.now + 5 }
    const b = new WaveRunner({ db: () => other, now: () => clockB.now, via: 'super-b', onStep: r => { for (const a of r.actions) if (a.type === 'start-store') starts.push(a.batch) } })
    const a = new WaveRunner({ db: () => db, now: () => f.now, via: 'super-a', onStep: r => { for (const x of r.actions) if (x.type === 'start-store') starts.push(x.batch) } })
    t.teardown(async () => { await a.stop(); await b.stop() })
    await Promise.all([a.stepAll(), b.stepAll(), a.stepAll(), b.stepAll()])
    f.now += 15 * MIN + 10
    clockB.now = f.now + 5
    await Promise.all([a.stepAll(), b.stepAll(), a.stepAll(), b.stepAll()])
    t.same(starts, [1], 'batch 2 started once across both runners')
    const rows = await db.query('SELECT started_ms FROM wave_stores WHERE wave_id = $1 AND hub_id = $2', [f.waveId, second])
    const doc = (await runnerDoc(db, f.waveId))!
    t.equal(Number(rows[0]!.started_ms), doc.batchStartedAtMs[1], 'the store row and the machine agree on when batch 2 started')
    // both take the same rollback report's consequence: one halt order, whoever stepped
    await f.report(second, [[dev(second), 'rolled-back']])
    await Promise.all([a.stepAll(), b.stepAll()])
    t.equal(Number((await db.query("SELECT count(*) AS n FROM orders WHERE wave_id = $1 AND action = 'halt'", [f.waveId]))[0]!.n), 1)
    const r = await db.transaction(async tx => await stepWave(tx, f.waveId, f.now, 'super-a'))
    t.equal(r?.changed, false, 'a further step changes nothing')
  })
}
