/**
 * The uplinks on a 1.2.0 peer: an idle uplink is one held request carrying the order
 * cursor it last saw; a kick (new journal entries) ends the held request so the entries
 * go up at once; a peer without 1.2.0 is polled on the timer as before. The hub uplink
 * stores fleet orders before it acks them, and acks them in its next request.
 */
import t from 'tap'
import { Journal } from '../../../src/install/journal.js'
import { StoremeshError } from '../../../src/interface/errors.js'
import type { FleetOrderWire, ReportAckV12, ReportClient, ReportRequestV12 } from '../../../src/ledger/report/index.js'
import { DeviceUplink, HubUplink } from '../../../src/ledger/uplink.js'
import { HubLedger } from '../../../src/ledger/hub-ledger.js'
import { until } from '../../support/poll.js'

const OPTS = { retryBaseMs: 2, retryMaxMs: 20, pollIntervalMs: 1_000_000, timeoutMs: 5_000, longPollWaitMs: 25_000 }
const TARGET = [] as never

/** A 1.2.0 (or, with `legacy`, 1.1.0) peer: holds every request with waitMs until released or aborted. */
function holdingClient (legacy = false): ReportClient & { reqs: ReportRequestV12[], held: number, release: () => void, answer: (r: ReportRequestV12) => ReportAckV12 } {
  const waiters: Array<() => void> = []
  const c = {
    reqs: [] as ReportRequestV12[],
    held: 0,
    release: () => { for (const w of waiters.splice(0)) w() },
    answer: (r: ReportRequestV12): ReportAckV12 => ({ status: 'ok', ackedSeq: r.entries.at(-1)?.seq ?? 0, orders: [], ...(legacy ? {} : { orderCursor: 'c'.repeat(32) }) }),
    async send (_t: unknown, req: ReportRequestV12, o: { signal?: AbortSignal } = {}): Promise<ReportAckV12> {
      c.reqs.push(req)
      if (!legacy && (req.waitMs ?? 0) > 0) {
        c.held++
        try {
          await new Promise<void>((resolve, reject) => {
            waiters.push(resolve)
            o.signal?.addEventListener('abort', () => { reject(new StoremeshError('E_ABORTED', 'aborted')) }, { once: true })
          })
        } finally { c.held-- }
      }
      return c.answer(req)
    }
  }
  return c
}

t.test('an idle device uplink is one held request; a kick sends new entries at once', async t => {
  const journal = await Journal.open(t.testdir())
  const client = holdingClient()
  const up = new DeviceUplink({ deviceId: 'pos-1', journal, client, hub: () => TARGET, options: OPTS })
  up.start()
  t.teardown(async () => { await up.stop() })
  await until(() => client.held === 1)
  const held = client.reqs.at(-1)!
  t.equal(held.waitMs, 25_000, 'asks to be held')
  t.equal(held.have?.orderCursor, 'c'.repeat(32), 'with the cursor of the answer before')
  t.equal(client.reqs.length, 2, 'one poll to learn the cursor, then the held one')
  t.ok(up.status().longPolling)
  await journal.append({ kind: 'note', reason: 'x' })
  up.kick()
  await until(() => client.reqs.some(r => r.entries.length === 1))
  const sent = client.reqs.find(r => r.entries.length === 1)!
  t.equal(sent.waitMs, undefined, 'entries are never held')
  await until(() => client.held === 1 && client.reqs.at(-1)!.entries.length === 0)
  t.same(await journal.readFrom(0), [], 'acked')
})

t.test('on a peer without 1.2.0 the idle poll waits its timer', async t => {
  const journal = await Journal.open(t.testdir())
  const client = holdingClient(true)
  const up = new DeviceUplink({ deviceId: 'pos-1', journal, client, hub: () => TARGET, options: OPTS })
  up.start()
  await until(() => client.reqs.length === 1)
  await up.stop()
  t.equal(client.reqs.length, 1, 'no second exchange before the poll interval')
  t.notOk(up.status().longPolling)
})

t.test('the hub uplink stores fleet orders durably, then acks them in its next request', async t => {
  const ledger = await HubLedger.open(t.testdir())
  t.teardown(async () => { await ledger.close() })
  const hold: FleetOrderWire = { orderId: 'o-1', action: 'hold', bundleId: `b3:${'a'.repeat(64)}`, reason: 'x', issuedAtMs: 1 }
  const stored: string[] = []
  const client = holdingClient()
  let delivered = false
  const base = client.answer
  client.answer = (r) => {
    const a = base(r)
    if (!delivered && (r.ackOrders ?? []).length === 0) return { ...a, fleetOrders: [hold], orderCursor: 'd'.repeat(32) }
    delivered = true
    return a
  }
  const up = new HubUplink({
    hubId: 'store-1', ledger, client, superHub: () => TARGET, options: OPTS,
    fleet: { storeFleetOrders: async (os) => { stored.push(...os.map(o => o.orderId)) } }
  })
  up.start()
  t.teardown(async () => { await up.stop() })
  await until(() => client.held === 1)
  const ackReq = client.reqs.findIndex(r => (r.ackOrders ?? []).includes('o-1'))
  t.ok(ackReq > 0, 'acked in a later request')
  t.same(stored, ['o-1'], 'stored before the ack went out')
  t.equal(client.reqs[ackReq]!.waitMs, undefined, 'a request carrying acks is not held')
})
