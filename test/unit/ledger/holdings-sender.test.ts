import t from 'tap'
import { StoremeshError } from '../../../src/interface/errors.js'
import { HOLDINGS_REFRESH_MS, HoldingsSender } from '../../../src/ledger/holdings-sender.js'
import { HubLedger } from '../../../src/ledger/hub-ledger.js'
import type { BundleHolding, ReportAckV12, ReportClient, ReportRequestV12 } from '../../../src/ledger/report/index.js'
import { HubUplink } from '../../../src/ledger/uplink.js'

const B = 'b3:' + 'ab'.repeat(32)
const FAST = { retryBaseMs: 2, retryMaxMs: 20, pollIntervalMs: 10_000, timeoutMs: 5_000 }

t.test('holdings go up when they change, and again after the refresh time', async t => {
  let now = 1_000
  let bundles: BundleHolding[] = [{ bundleId: B, heldChunks: 1, totalChunks: 4, complete: false }]
  const s = new HoldingsSender(async () => bundles, () => now)
  const first = await s.next()
  t.same(first?.holdings, { atMs: 1_000, bundles })
  t.ok(await s.next(), 'not taken yet: sent again')
  s.taken(first!.digest)
  t.equal(await s.next(), undefined, 'unchanged: not sent')
  bundles = [{ bundleId: B, heldChunks: 4, totalChunks: 4, complete: true }]
  const second = await s.next()
  t.equal(second?.holdings.bundles[0]?.complete, true, 'changed: sent')
  s.taken(second!.digest)
  now += HOLDINGS_REFRESH_MS
  t.ok(await s.next(), 'unchanged for the refresh time: sent again')
})

t.test('a super hub from before holdings: the batch goes again without them, and they are never sent again', async t => {
  const dir = t.testdir()
  const ledger = await HubLedger.open(dir)
  t.teardown(async () => { await ledger.close() })
  const seen: ReportRequestV12[] = []
  // the old decoder's answer to an unknown member (strict schema): bad-request naming it
  const old: ReportClient = {
    async send (_target: unknown, req: ReportRequestV12): Promise<ReportAckV12> {
      seen.push(req)
      if (req.holdings !== undefined) throw new StoremeshError('E_PEER_ERROR', 'peer answered bad-request', { reason: 'bad-request', detail: 'bad report request: Unrecognized key: "holdings"' })
      return { status: 'ok', ackedSeq: 0, orders: [], orderCursor: '0'.repeat(32) }
    }
  }
  const up = new HubUplink({ hubId: 'store-1', ledger, client: old, superHub: () => [] as never, options: FAST, holdings: async () => [{ bundleId: B, heldChunks: 4, totalChunks: 4, complete: true }] })
  t.equal(up.sendsHoldings, true)
  await up.flush()
  t.same(seen.map(r => r.holdings !== undefined), [true, false], 'refused once, then the same batch without them')
  t.equal(up.sendsHoldings, false)
  await up.flush()
  t.notOk(seen.slice(2).some(r => r.holdings !== undefined), 'not sent again')

  // any other refusal is the uplink's failure as before
  const other: ReportClient = { async send () { throw new StoremeshError('E_PEER_ERROR', 'no', { reason: 'ledger-error', detail: 'E_DB_UNAVAILABLE' }) } }
  const up2 = new HubUplink({ hubId: 'store-1', ledger, client: other, superHub: () => [] as never, options: FAST, holdings: async () => [] })
  await t.rejects(up2.flush(), { code: 'E_PEER_ERROR' })
  t.equal(up2.sendsHoldings, true)
})
