import t from 'tap'
import { Journal } from '../../../src/install/journal.js'
import { StoremeshError } from '../../../src/interface/errors.js'
import { backoffDelayMs, Waker } from '../../../src/interface/backoff.js'
import { HubLedger } from '../../../src/ledger/hub-ledger.js'
import type { ReportAck, ReportRequest, WaveOrder } from '../../../src/ledger/report/index.js'
import type { ReportClient } from '../../../src/ledger/report/index.js'
import { SuperLedger } from '../../../src/ledger/super-ledger.js'
import { DeviceUplink, HubUplink } from '../../../src/ledger/uplink.js'
import { until } from '../../support/poll.js'

const FAST = { retryBaseMs: 2, retryMaxMs: 20, pollIntervalMs: 10_000, timeoutMs: 5_000 }
const TARGET = [] as never

t.test('back-off grows, caps and jitters within bounds', async t => {
  const o = { baseMs: 100, maxMs: 1000, jitterFraction: 0.5 }
  t.equal(backoffDelayMs(1, o, () => 0), 100)
  t.equal(backoffDelayMs(2, o, () => 0), 200)
  t.equal(backoffDelayMs(4, o, () => 0), 800)
  t.equal(backoffDelayMs(5, o, () => 0), 1000)
  t.equal(backoffDelayMs(500, o, () => 0), 1000, 'no overflow')
  t.equal(backoffDelayMs(5, o, () => 0.999999), 500)
  for (let i = 1; i < 50; i++) {
    const d = backoffDelayMs(i, o)
    t.ok(d >= 50 && d <= 1000, `failure ${i}: ${d} ms`)
  }
})

t.test('the waker remembers a wake and keeps a back-off unless told', async t => {
  const w = new Waker()
  const ac = new AbortController()
  w.wake()
  t.equal(await w.wait(10_000, ac.signal), 'woken', 'a wake before the wait is not lost')
  const p = w.wait(20, ac.signal, { backoff: true })
  w.wake()
  t.equal(await p, 'timer', 'new work does not cut a back-off')
  t.equal(await w.wait(10_000, ac.signal), 'woken', '...but is remembered for the next idle wait')
  const q = w.wait(10_000, ac.signal, { backoff: true })
  w.wake({ backoff: true })
  t.equal(await q, 'woken', 'a reconnect does')
  const r = w.wait(10_000, ac.signal)
  ac.abort()
  t.equal(await r, 'aborted')
})

/** A client that hands batches to real ledgers, with failures on demand. */
function ledgerClient (sink: { hub?: HubLedger, sup?: SuperLedger }, plan: { failBefore?: number, loseAnswer?: number } = {}): ReportClient & { calls: number } {
  const c = {
    calls: 0,
    async send (_target: unknown, req: ReportRequest): Promise<ReportAck> {
      c.calls++
      if (c.calls <= (plan.failBefore ?? 0)) throw new StoremeshError('E_NOT_CONNECTED', 'hub down')
      const res = req.type === 'device-events' ? await sink.hub!.acceptDeviceBatch(req) : await sink.sup!.acceptHubBatch(req)
      if (c.calls <= (plan.failBefore ?? 0) + (plan.loseAnswer ?? 0)) throw new StoremeshError('E_TIMEOUT', 'answer lost')
      return res
    }
  }
  return c
}

t.test('device uplink: outages and lost answers lose nothing and count nothing twice', async t => {
  const dir = t.testdir()
  const journal = await Journal.open(dir)
  t.teardown(async () => { await journal.close() })
  const hub = await HubLedger.open(dir)
  t.teardown(async () => { await hub.close() })
  for (let i = 0; i < 40; i++) {
    await journal.append({ kind: 'transition', waveId: '142', to: i % 2 === 0 ? 'staged' : 'writing' })
  }
  await journal.append({ kind: 'transition', waveId: '142', to: 'committed' })
  const client = ledgerClient({ hub }, { failBefore: 3, loseAnswer: 2 })
  const orders: WaveOrder[][] = []
  const errors: string[] = []
  const up = new DeviceUplink({
    deviceId: 'pos-1', journal, client, hub: () => TARGET, options: { ...FAST, batchEntries: 7 },
    onOrders: (o) => { orders.push(o) }, onError: (e) => errors.push(e.code)
  })
  up.start()
  t.teardown(async () => { await up.stop() })
  t.ok(await until(async () => (await journal.readFrom(0)).length === 0), 'the journal drains')
  t.equal(await journal.ackedSeq(), 41)
  t.same(errors, ['E_NOT_CONNECTED', 'E_NOT_CONNECTED', 'E_NOT_CONNECTED', 'E_TIMEOUT', 'E_TIMEOUT'])
  t.equal((await hub.device('pos-1'))?.maxSeq, 41)
  t.equal((await hub.deviceEvents('pos-1', { limit: 100 })).length, 41, 'each entry stored once')
  t.same(await hub.waveCounts('142').then(c => [c.updated, c.total]), [1, 1])
  t.ok(orders.length >= 1)
  t.equal(up.status().consecutiveFailures, 0)
  t.equal(up.status().lastAckedSeq, 41)
})

t.test('hub uplink: outbox to super, orders back, a kick pushes at once', async t => {
  const hub = await HubLedger.open(t.testdir())
  t.teardown(async () => { await hub.close() })
  const sup = await SuperLedger.open(t.testdir(), { haltOnRollbackRatio: 0.3 })
  t.teardown(async () => { await sup.close() })
  let wanUp = false
  const client = ledgerClient({ sup })
  const up = new HubUplink({ hubId: 'store-1', ledger: hub, client, superHub: () => (wanUp ? TARGET : undefined), options: { ...FAST, batchEntries: 2 } })
  const at = '2025-01-01T00:00:00.000Z'
  for (let d = 0; d < 5; d++) {
    await hub.acceptDeviceBatch({ type: 'device-events', deviceId: `pos-${d}`, entries: [{ seq: 1, at, kind: 'transition', waveId: '142', to: d < 2 ? 'rolled-back' : 'committed' }] })
  }
  up.start()
  t.teardown(async () => { await up.stop() })
  t.ok(await until(() => up.status().consecutiveFailures >= 2), 'no super hub: failures, back-off')
  t.equal(client.calls, 0, 'nothing sent without a target')
  wanUp = true
  up.kick({ reconnected: true })
  t.ok(await until(async () => (await hub.outboxStatus()).pending === 0), 'the outbox drains')
  t.same(await sup.waveTotals('142').then(c => [c.updated, c.rolledBack, c.total]), [3, 2, 5])
  t.ok(await until(() => hub.isWaveHalted('142')), 'the halt came back with an answer')
  // a kick with new work pushes at once (the poll interval is 10 s)
  await hub.acceptDeviceBatch({ type: 'device-events', deviceId: 'pos-9', entries: [{ seq: 1, at, kind: 'transition', waveId: '142', to: 'staged' }] })
  up.kick()
  t.ok(await until(async () => (await sup.waveTotals('142')).pending === 1, 5_000))
})

t.test('stop aborts an exchange in flight; flush throws the failure', async t => {
  const hub = await HubLedger.open(t.testdir())
  t.teardown(async () => { await hub.close() })
  let aborted = false
  const hanging: ReportClient = {
    send: async (_t, _r, o) => await new Promise<ReportAck>((_resolve, reject) => {
      o?.signal?.addEventListener('abort', () => { aborted = true; reject(new StoremeshError('E_ABORTED', 'aborted')) })
    })
  }
  const up = new HubUplink({ hubId: 'store-1', ledger: hub, client: hanging, superHub: () => TARGET, options: FAST })
  up.start()
  t.ok(await until(() => up.status().running))
  await new Promise(r => setTimeout(r, 20))
  await up.stop()
  t.ok(aborted, 'the exchange saw the abort')
  t.notOk(up.status().running)
  const failing = new HubUplink({ hubId: 'store-1', ledger: hub, client: ledgerClient({}, { failBefore: 1 }), superHub: () => TARGET, options: FAST })
  await t.rejects(failing.flush(), { code: 'E_NOT_CONNECTED' })
  t.equal(failing.status().consecutiveFailures, 1)
})

t.test('device uplink: polls that bring nothing new slow down to idlePollMaxMs; new orders or a kick restore the pace', async t => {
  const dir = t.testdir()
  const journal = await Journal.open(dir)
  t.teardown(async () => { await journal.close() })
  let orders: WaveOrder[] = []
  const at: number[] = []
  const client: ReportClient = {
    async send (): Promise<ReportAck> {
      at.push(Date.now())
      return { ackedSeq: 0, orders } as unknown as ReportAck
    }
  }
  const POLL_MS = 40
  const up = new DeviceUplink({ deviceId: 'pos-1', journal, client, hub: () => TARGET, options: { ...FAST, pollIntervalMs: POLL_MS, idlePollMaxMs: 8 * POLL_MS } })
  up.start()
  t.teardown(async () => { await up.stop() })
  // 40, 40, 80, 160, 320, 320...: a steady poll would ask ~40 times in 1.6 s
  await new Promise(r => setTimeout(r, 40 * POLL_MS))
  const idle = at.length
  t.ok(idle >= 5 && idle <= 12, `${idle} exchanges in ${40 * POLL_MS} ms while nothing changed`)
  const gaps = at.slice(1).map((x, i) => x - at[i]!)
  t.ok(Math.max(...gaps) >= 4 * POLL_MS, `the wait grew (largest gap ${Math.max(...gaps)} ms)`)
  t.ok(Math.max(...gaps) < 8 * POLL_MS + 200, 'and stayed near idlePollMaxMs')
  // an order changes: the next answer resets the pace
  orders = [{ waveId: '142', action: 'pause', reason: 'test', issuedAtMs: 1 }]
  up.kick()
  const kicked = at.length
  await new Promise(r => setTimeout(r, 6 * POLL_MS))
  t.ok(at.length >= kicked + 2, 'a kick asks at once and the changed orders bring back the poll interval')
})
