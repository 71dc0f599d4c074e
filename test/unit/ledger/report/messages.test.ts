import t from 'tap'
import * as varint from 'uint8-varint'
import type { JournalEntry } from '../../../../src/interface/types.js'
import { MAX_BATCH_ENTRIES, MAX_ORDERS, MAX_WIRE_ENTRY_BYTES } from '../../../../src/ledger/report/index.js'
import {
  decodeReportRequest, decodeReportResponse, encodeReportRequest, encodeReportResponse, parseJournalEntry, toWireEntry,
  type DeviceBatch, type HubBatch, type ReportAck, type WaveOrder
} from '../../../../src/ledger/report/index.js'
import { checkOrder, fleetFactsOf, supersedes } from '../../../../src/ledger/orders.js'

const enc = (x: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(x))
const at = '2025-01-01T00:00:00.000Z'
const EPOCH = 'a'.repeat(32)

t.test('device batches are strict', async t => {
  const ok: DeviceBatch = {
    type: 'device-events',
    deviceId: 'pos-17',
    entries: [
      { seq: 1, at, kind: 'transition', waveId: '142', installId: 'x', step: 1, from: 'idle', to: 'staged', event: 'stage' },
      { seq: 3, at, kind: 'decision', waveId: '142', reason: 'schedule.window', detail: 'closed', data: { verdict: 'defer', n: 1, b: true, z: null } }
    ]
  }
  t.same(decodeReportRequest(encodeReportRequest(ok)), ok)
  const e0 = ok.entries[0]!
  const bad: unknown[] = [
    {}, [], null, 'x',
    { ...ok, type: 'other' },
    { ...ok, deviceId: '../x' },
    { ...ok, deviceId: 'x'.repeat(200) },
    { ...ok, extra: 1 },
    { ...ok, entries: 'no' },
    { ...ok, entries: [e0, e0] },
    { ...ok, entries: [{ ...e0, seq: 5 }, { ...e0, seq: 4 }] },
    { ...ok, entries: [{ ...e0, seq: 0 }] },
    { ...ok, entries: [{ ...e0, seq: 1.5 }] },
    { ...ok, entries: [{ ...e0, waveId: 'a!b' }] },
    { ...ok, entries: [{ ...e0, kind: 'Bad Kind' }] },
    { ...ok, entries: [{ ...e0, unknown: 1 }] },
    { ...ok, entries: [{ ...e0, data: { x: { nested: true } } }] },
    { ...ok, entries: [{ ...e0, data: 'not an object' }] },
    { ...ok, entries: [{ ...e0, detail: 'x'.repeat(MAX_WIRE_ENTRY_BYTES + 1) }] },
    { ...ok, entries: Array.from({ length: MAX_BATCH_ENTRIES + 1 }, (_, i) => ({ seq: i + 1, at, kind: 'note' })) }
  ]
  for (const b of bad) t.throws(() => decodeReportRequest(enc(b)), { code: 'E_WIRE_MALFORMED' }, JSON.stringify(b)?.slice(0, 80))
  t.throws(() => decodeReportRequest(new Uint8Array([0xff, 0xfe])), { code: 'E_WIRE_MALFORMED' })
  t.throws(() => encodeReportRequest({ ...ok, deviceId: '' }), { code: 'E_WIRE_MALFORMED' }, 'we never send what we would refuse')
})

t.test('hub batches are strict', async t => {
  const ok: HubBatch = {
    type: 'hub-ledger',
    hubId: 'store-0042',
    epoch: EPOCH,
    entries: [
      { seq: 4, waveId: '142', deviceId: 'pos-1', state: 'blocked', gate: 'schedule.window', version: 9, atMs: 1 },
      { seq: 7, waveId: '142', deviceId: 'pos-2', state: 'updated', version: 3, atMs: 2 }
    ]
  }
  t.same(decodeReportRequest(encodeReportRequest(ok)), ok)
  const d = ok.entries[0]!
  for (const b of [
    { ...ok, epoch: 'nothex' },
    { ...ok, hubId: undefined },
    { ...ok, entries: [{ ...d, state: 'exploded' }] },
    { ...ok, entries: [{ ...d, gate: 'has space' }] },
    { ...ok, entries: [{ ...d, version: -1 }] },
    { ...ok, entries: [d, d] }
  ]) t.throws(() => decodeReportRequest(enc(b)), { code: 'E_WIRE_MALFORMED' }, JSON.stringify(b).slice(0, 80))
})

t.test('responses are strict; the encoder keeps the newest orders', async t => {
  const order: WaveOrder = { waveId: '142', action: 'halt', reason: 'ratio', issuedAtMs: 5 }
  const ack: ReportAck = { status: 'ok', ackedSeq: 9, orders: [order] }
  t.same(decodeReportResponse(encodeReportResponse(ack)), ack)
  const err = { status: 'error' as const, reason: 'bad-request' as const, detail: 'x'.repeat(1000) }
  const back = decodeReportResponse(encodeReportResponse(err))
  t.equal(back.status === 'error' && back.detail.length, 256, 'long detail cut')
  for (const b of [
    { status: 'ok', ackedSeq: -1, orders: [] },
    { status: 'ok', ackedSeq: 1 },
    { status: 'ok', ackedSeq: 1, orders: [{ ...order, action: 'explode' }] },
    { status: 'error', reason: 'nope', detail: '' },
    { status: 'maybe' }
  ]) t.throws(() => decodeReportResponse(enc(b)), { code: 'E_WIRE_MALFORMED' }, JSON.stringify(b))
  const many = Array.from({ length: MAX_ORDERS + 10 }, (_, i) => ({ ...order, waveId: `w${i}`, issuedAtMs: i }))
  const res = decodeReportResponse(encodeReportResponse({ status: 'ok', ackedSeq: 0, orders: many }))
  t.equal(res.status === 'ok' && res.orders.length, MAX_ORDERS)
  t.equal(res.status === 'ok' && res.orders[0]!.waveId, `w${MAX_ORDERS + 9}`, 'newest first')
})

t.test('toWireEntry trims any journal entry to something the hub accepts', async t => {
  const odd = {
    seq: 12, at, kind: 'Weird Kind', waveId: 'not a wave!', detail: '\u0001"'.repeat(8000), extra: 'dropped',
    data: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, i])), step: -1
  } as unknown as JournalEntry
  const w = toWireEntry(odd)
  const parsed = parseJournalEntry(JSON.parse(JSON.stringify(w)))
  t.equal(parsed.seq, 12)
  t.equal(parsed.kind, 'note')
  t.equal(parsed.waveId, undefined)
  t.equal(parsed.data?.invalidWaveId, 'not a wave!')
  t.notOk('extra' in parsed)
  t.notOk('step' in parsed)
  t.ok(Buffer.byteLength(JSON.stringify(w)) <= MAX_WIRE_ENTRY_BYTES)
  const normal: JournalEntry = { seq: 1, at, kind: 'transition', waveId: '142', to: 'committed', step: 3 }
  t.same(toWireEntry(normal), normal, 'a normal entry passes unchanged')
})

t.test('orders: the newest wins, ties go to the stronger', async t => {
  const o = (action: WaveOrder['action'], issuedAtMs: number): WaveOrder => ({ waveId: '142', action, reason: '', issuedAtMs })
  t.ok(supersedes(o('pause', 1), undefined))
  t.ok(supersedes(o('resume', 2), o('halt', 1)))
  t.notOk(supersedes(o('resume', 1), o('halt', 2)))
  t.ok(supersedes(o('halt', 1), o('resume', 1)))
  t.notOk(supersedes(o('resume', 1), o('pause', 1)))
  t.same(fleetFactsOf(undefined), { paused: false, halted: false })
  t.same(fleetFactsOf({ ...o('halt', 1), reason: 'ratio' }), { paused: false, halted: true, reason: 'ratio' })
  t.same(fleetFactsOf(o('pause', 1)), { paused: true, halted: false })
  t.same(fleetFactsOf(o('resume', 1)), { paused: false, halted: false })
  t.throws(() => checkOrder({ ...o('halt', 1), waveId: 'a b' }), { code: 'E_INVALID_ARGUMENT' })
  t.equal(checkOrder({ ...o('halt', 1), reason: 'r'.repeat(999) }).reason.length, 256)
})

t.test('SPEC.md test vectors', async t => {
  const frame = (b: Uint8Array): string => Buffer.concat([varint.encode(b.byteLength), b]).subarray(0, 10).toString('hex')
  const poll = encodeReportRequest({ type: 'device-events', deviceId: 'pos-17', entries: [] })
  t.equal(poll.byteLength, 57)
  t.equal(frame(poll).slice(0, 16), '397b227479706522')
  const ack = encodeReportResponse({ status: 'ok', ackedSeq: 0, orders: [] })
  t.equal(ack.byteLength, 40)
  t.equal(frame(ack), '287b22737461747573' + '22')
})
