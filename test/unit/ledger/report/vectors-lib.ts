/**
 * The test vectors of `/storemesh/report/1.2.0` (protocols/report/vectors.json): good
 * requests and answers as the exact bytes the encoders write, and bad ones with the
 * field the strict decoders name. The signed documents come from seeded keys (the
 * root vectors' chain, an enrolment key for the revocation list, the root's timestamp
 * key), so the bytes never change. make-vectors.ts writes them; vectors.test.ts
 * recomputes, compares, and runs every case.
 */
import { signingKeyFromSeed } from '../../../../src/bundle/keys.js'
import { signRevocationList } from '../../../../src/identity/revocation.js'
import { signTimestamp } from '../../../../src/identity/root/timestamp.js'
import { encodeReportRequestV12, encodeReportResponseV12, type ReportAckV12, type ReportRequestV12 } from '../../../../src/ledger/report/messages-v12.js'
import { SEEDS, vectorChain } from '../../identity/root/vectors-lib.js'

export const ENROLMENT_SEED = Uint8Array.from({ length: 32 }, (_, i) => i)
const BUNDLE = `b3:${'ab'.repeat(32)}`
const text = (b: Uint8Array): string => new TextDecoder().decode(b)

export interface BadCase {
  name: string
  /** the message as sent */
  body: string
  /** `request` or `response` */
  message: 'request' | 'response'
  /** the start of the error's field (E_WIRE_MALFORMED meta.field) */
  field: string
}

export function vectorTrust (): ReportAckV12['trust'] & object {
  const [, r2] = vectorChain()
  const enrol = signingKeyFromSeed(ENROLMENT_SEED)
  const tsKey = signingKeyFromSeed(SEEDS.other)
  return {
    roots: [r2!],
    revocations: signRevocationList({ version: 3, serials: ['00112233445566778899aabbccddeeff'], peerIds: [], issuedAt: new Date('2025-02-01T00:00:00.000Z') }, [enrol]),
    timestamp: signTimestamp({ entries: [{ deviceClass: 'pos', bundleId: BUNDLE }], issuedAt: new Date('2025-06-01T00:00:00.000Z'), expiresAt: new Date('2025-06-02T00:00:00.000Z') }, [tsKey])
  }
}

export function computeVectors (): Record<string, unknown> {
  const poll: ReportRequestV12 = {
    type: 'hub-ledger',
    hubId: 'store-0042',
    epoch: '9f0c'.repeat(8),
    entries: [],
    waitMs: 25000,
    have: { orderCursor: '0'.repeat(32), rootVersion: 1, revocationVersion: 2, timestampIssuedMs: 1748649600000 },
    ackOrders: ['o-00112233aabbccdd']
  }
  const devicePoll: ReportRequestV12 = { type: 'device-events', deviceId: 'pos-17', entries: [], waitMs: 0 }
  const holding = { bundleId: BUNDLE, heldChunks: 40, totalChunks: 40, complete: true }
  const withHoldings: ReportRequestV12 = {
    type: 'hub-ledger',
    hubId: 'store-0042',
    epoch: '9f0c'.repeat(8),
    entries: [],
    holdings: { atMs: 1763892000000, bundles: [holding, { bundleId: `b3:${'cd'.repeat(32)}`, heldChunks: 12, totalChunks: 40, complete: false }] }
  }
  const answer: ReportAckV12 = {
    status: 'ok',
    ackedSeq: 0,
    orders: [{ waveId: '142', action: 'pause', reason: 'ops', issuedAtMs: 1763892000000 }],
    fleetOrders: [
      { orderId: 'o-00112233aabbccdd', action: 'hold', bundleId: BUNDLE, reason: 'bad scanner driver', issuedAtMs: 1763892000000 },
      { orderId: 'o-0011223344556677', action: 'rollback', storeId: 'store-0042', deviceId: 'pos-17', reason: 'scanner broken', issuedAtMs: 1763892000001 },
      { orderId: 'o-8899aabbccddeeff', action: 'prestage', bundleId: BUNDLE, reason: 'wave 143', issuedAtMs: 1763892000002 }
    ],
    trust: vectorTrust()
  }
  const empty: ReportAckV12 = { status: 'ok', ackedSeq: 0, orders: [] }
  const good = {
    requests: [{ name: 'hub long-poll with what it holds and an ack', bytes: text(encodeReportRequestV12(poll)) },
      { name: 'device poll, answer at once', bytes: text(encodeReportRequestV12(devicePoll)) },
      { name: 'hub holdings: one bundle complete, one partial', bytes: text(encodeReportRequestV12(withHoldings)) }],
    responses: [{ name: 'fleet orders and trust news', bytes: text(encodeReportResponseV12(answer)) },
      { name: 'nothing: only the cursor is new', bytes: text(encodeReportResponseV12(empty)) }]
  }
  const emptyBytes = good.responses[1]!.bytes
  const req = (x: Record<string, unknown>): string => JSON.stringify({ type: 'hub-ledger', hubId: 'store-0042', epoch: '9f0c'.repeat(8), entries: [], ...x })
  const res = (x: Record<string, unknown>): string => JSON.stringify({ ...JSON.parse(emptyBytes), ...x })
  const hold = answer.fleetOrders![0]!
  const bad: BadCase[] = [
    { name: 'waitMs over 30 s', message: 'request', body: req({ waitMs: 30001 }), field: 'waitMs' },
    { name: 'waitMs not an integer', message: 'request', body: req({ waitMs: 1.5 }), field: 'waitMs' },
    { name: 'unknown member in have', message: 'request', body: req({ have: { rootVersion: 1, admin: true } }), field: '' },
    { name: 'malformed order cursor', message: 'request', body: req({ have: { orderCursor: 'XYZ' } }), field: 'have.orderCursor' },
    { name: 'the same order acked twice', message: 'request', body: req({ ackOrders: ['o-1', 'o-1'] }), field: 'ackOrders' },
    { name: 'unknown member beside the 1.2.0 ones', message: 'request', body: req({ waitMs: 1, extra: 1 }), field: '' },
    { name: 'holdings: more chunks held than the bundle has', message: 'request', body: req({ holdings: { atMs: 1, bundles: [{ ...holding, heldChunks: 41, complete: false }] } }), field: 'holdings.bundles.0.heldChunks' },
    { name: 'holdings: complete with chunks missing', message: 'request', body: req({ holdings: { atMs: 1, bundles: [{ ...holding, heldChunks: 39 }] } }), field: 'holdings.bundles.0.complete' },
    { name: 'holdings: the same bundle twice', message: 'request', body: req({ holdings: { atMs: 1, bundles: [holding, holding] } }), field: 'holdings.bundles' },
    { name: 'holdings: over 64 bundles', message: 'request', body: req({ holdings: { atMs: 1, bundles: Array.from({ length: 65 }, (_, i) => ({ ...holding, bundleId: `b3:${i.toString(16).padStart(64, '0')}` })) } }), field: 'holdings.bundles' },
    { name: 'holdings: unknown member of a bundle', message: 'request', body: req({ holdings: { atMs: 1, bundles: [{ ...holding, verified: true }] } }), field: 'holdings.bundles.0' },
    { name: 'holdings: a total of 0 chunks', message: 'request', body: req({ holdings: { atMs: 1, bundles: [{ ...holding, heldChunks: 0, totalChunks: 0, complete: false }] } }), field: 'holdings.bundles.0.totalChunks' },
    { name: 'holdings from a device', message: 'request', body: JSON.stringify({ type: 'device-events', deviceId: 'pos-17', entries: [], holdings: { atMs: 1, bundles: [] } }), field: 'holdings' },
    { name: 'ok answer without a cursor', message: 'response', body: JSON.stringify({ status: 'ok', ackedSeq: 0, orders: [] }), field: 'orderCursor' },
    { name: 'hold without a bundle', message: 'response', body: res({ fleetOrders: [{ ...hold, bundleId: undefined }] }), field: 'fleetOrders.0.bundleId' },
    { name: 'rollback naming a bundle', message: 'response', body: res({ fleetOrders: [{ ...answer.fleetOrders![1], bundleId: BUNDLE }] }), field: 'fleetOrders.0.bundleId' },
    { name: 'unknown fleet order action', message: 'response', body: res({ fleetOrders: [{ ...hold, action: 'wipe' }] }), field: 'fleetOrders.0.action' },
    { name: 'an empty fleetOrders list', message: 'response', body: res({ fleetOrders: [] }), field: 'fleetOrders' },
    { name: 'root with an unknown body member', message: 'response', body: res({ trust: { roots: [{ ...answer.trust!.roots![0], signed: { ...answer.trust!.roots![0]!.signed, admin: true } }] } }), field: 'trust.roots.0.signed' },
    { name: 'roots not consecutive', message: 'response', body: res({ trust: { roots: [vectorChain()[0], vectorChain()[2]] } }), field: 'trust.roots' },
    { name: 'unknown trust member', message: 'response', body: res({ trust: { keys: [] } }), field: '' },
    { name: 'error answer with a cursor', message: 'response', body: JSON.stringify({ status: 'error', reason: 'bad-request', detail: 'x', orderCursor: '0'.repeat(32) }), field: '' }
  ]
  return {
    description: 'Test vectors of /storemesh/report/1.2.0 (protocols/report/SPEC.md "1.2.0"); regenerate with `node --import tsx test/unit/ledger/report/make-vectors.ts`.',
    enrolmentSeedHex: Buffer.from(ENROLMENT_SEED).toString('hex'),
    timestampSeedHex: Buffer.from(SEEDS.other).toString('hex'),
    rootsFrom: 'protocols/root/vectors.json (root 2 of its chain)',
    good,
    bad
  }
}
