import t from 'tap'
import { stubProtocolComponents } from '../../../support/protocol-components.js'
import { streamPair } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import * as varint from 'uint8-varint'
import { readBounded, writeMessage } from '../../../../src/net/length-prefixed.js'
import { LEASE_PROTOCOL, MAX_LEASE_REQUEST_BYTES } from '../../../../src/lease/protocol/index.js'
import { LeaseProtocol, type LeaseProtocolComponents } from '../../../../src/lease/protocol/index.js'
import { LeaseTable } from '../../../../src/lease/lease-table.js'
import {
  decodeLeaseRequest, decodeLeaseResponse, encodeLeaseRequest, encodeLeaseResponse, type LeaseRequest
} from '../../../../src/lease/protocol/index.js'

const components = stubProtocolComponents<LeaseProtocolComponents>()

const BUNDLE = 'b3:' + 'c'.repeat(64)
const enc = (x: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(x))

function acquire (deviceId: string): LeaseRequest {
  return { op: 'acquire', deviceId, bundleId: BUNDLE, waveId: '142' }
}

t.test('requests are strict', async t => {
  const ok = { op: 'renew', deviceId: 'pos-17', bundleId: BUNDLE, waveId: '142', ttlMs: 60_000 }
  t.same(decodeLeaseRequest(encodeLeaseRequest(ok as LeaseRequest)), ok)
  const bad: unknown[] = [
    {}, [], 'acquire', null,
    { ...ok, op: 'steal' },
    { ...ok, deviceId: '../etc' },
    { ...ok, deviceId: 'x'.repeat(200) },
    { ...ok, bundleId: 'b3:xyz' },
    { ...ok, waveId: '' },
    { ...ok, ttlMs: 0 },
    { ...ok, ttlMs: -5 },
    { ...ok, ttlMs: 1.5 },
    { ...ok, ttlMs: 48 * 3600_000 },
    { ...ok, extra: true }
  ]
  for (const b of bad) t.throws(() => decodeLeaseRequest(enc(b)), { code: 'E_WIRE_MALFORMED' }, JSON.stringify(b)?.slice(0, 60))
  t.throws(() => decodeLeaseRequest(new Uint8Array([0xff, 0xfe])), { code: 'E_WIRE_MALFORMED' })
  t.throws(() => encodeLeaseRequest({ ...ok, op: 'nope' } as unknown as LeaseRequest), { code: 'E_WIRE_MALFORMED' }, 'we never send what we would refuse')
})

t.test('responses are strict; a grant must be complete', async t => {
  const grant = { granted: true, leaseId: 'f'.repeat(32), expiresAtMs: 1, ttlMs: 1000, active: 1, limit: 4, reason: 'granted' }
  t.same(decodeLeaseResponse(encodeLeaseResponse(grant)), grant)
  const denial = { granted: false, retryAfterMs: 500, active: 4, limit: 4, reason: 'cap-reached' }
  t.same(decodeLeaseResponse(enc(denial)), denial)
  t.same(decodeLeaseResponse(enc({ ...denial, reason: 'some-future-reason' })).granted, false, 'unknown reasons pass as denials')
  for (const b of [
    { ...grant, leaseId: undefined }, { ...grant, ttlMs: 0 }, { ...grant, leaseId: 'short' }, { ...grant, granted: 'yes' },
    { ...denial, active: -1 }, { ...denial, reason: 'Cap Reached!' }, { ...denial, detail: 'x'.repeat(300) }, { ...denial, more: 1 }
  ]) {
    t.throws(() => decodeLeaseResponse(enc(b)), { code: 'E_WIRE_MALFORMED' }, JSON.stringify(b).slice(0, 80))
  }
  const long = decodeLeaseResponse(encodeLeaseResponse({ ...denial, detail: 'y'.repeat(1000) }))
  t.equal(long.detail?.length, 256, 'the encoder cuts a long detail instead of sending an invalid answer')
})

t.test('the test vectors of SPEC.md', async t => {
  const req = encodeLeaseRequest({ op: 'release', deviceId: 'd', bundleId: 'b3:' + '0'.repeat(64), waveId: '1' })
  t.equal(req.byteLength, 0x7d)
  t.equal(Buffer.from(req.subarray(0, 5)).toString('hex'), '7b226f7022')
  const res = encodeLeaseResponse({ granted: false, active: 0, limit: 4, reason: 'not-held' })
  t.equal(new TextDecoder().decode(res), '{"granted":false,"active":0,"limit":4,"reason":"not-held"}')
  t.equal(res.byteLength, 0x3a)
  t.equal(Buffer.from(varint.encode(res.byteLength)).toString('hex'), '3a')
})

t.test('acquire, renew and release over an in-memory stream pair', async t => {
  const table = new LeaseTable({ maxConcurrentPerHub: 1 })
  const proto = new LeaseProtocol(components, { authority: table, timeoutMs: 5_000 })
  const exchange = async (req: LeaseRequest, peer = 'peer-a') => {
    const [client, server] = await streamPair({ protocol: LEASE_PROTOCOL })
    const served = proto.handleStream(server, peer)
    try {
      return await proto.requestOverStream(client, req)
    } finally {
      await served
    }
  }
  const a = await exchange(acquire('pos-1'))
  t.match(a, { granted: true, reason: 'granted', active: 1, limit: 1 })
  t.match(await exchange(acquire('pos-2'), 'peer-b'), { granted: false, reason: 'cap-reached' })
  t.match(await exchange({ ...acquire('pos-1'), op: 'renew' }), { granted: true, reason: 'renewed', leaseId: a.leaseId })
  t.match(await exchange({ ...acquire('pos-1'), op: 'release' }, 'peer-b'), { granted: false, reason: 'wrong-peer' }, 'the peer id is passed on')
  t.match(await exchange({ ...acquire('pos-1'), op: 'release' }), { granted: false, reason: 'released', active: 0 })
})

t.test('a malformed request gets a bad-request answer, no lease, and the stream closes', async t => {
  const table = new LeaseTable({ maxConcurrentPerHub: 4 })
  const proto = new LeaseProtocol(components, { authority: table, timeoutMs: 5_000 })
  const [client, server] = await streamPair({ protocol: LEASE_PROTOCOL })
  const served = proto.handleStream(server, 'peer-a')
  await writeMessage(client, enc({ op: 'acquire', deviceId: 'pos-1', bundleId: 'b3:nope', waveId: '142' }))
  await client.close()
  const answer = decodeLeaseResponse(await readBounded(client, { maxBytes: 4096 }))
  t.match(answer, { granted: false, reason: 'bad-request', active: 0, limit: 4, detail: /bundleId/ })
  await served
  t.equal(table.activeCount, 0, 'no lease')
  t.equal(server.writeStatus, 'closed', 'the hub closed its side after the answer')
  await t.rejects(readBounded(client, { maxBytes: 4096, timeoutMs: 2_000 }), { code: 'E_WIRE_MALFORMED' }, 'nothing follows the answer')
})

t.test('the client turns bad-request and hub-error into E_PEER_ERROR', async t => {
  const proto = new LeaseProtocol(components, { timeoutMs: 5_000 })
  for (const reason of ['bad-request', 'hub-error']) {
    const [client, server] = await streamPair({ protocol: LEASE_PROTOCOL })
    const fake = (async () => {
      await readBounded(server, { maxBytes: 4096 })
      await writeMessage(server, enc({ granted: false, active: 0, limit: 4, reason }))
      await server.close()
    })()
    await t.rejects(proto.requestOverStream(client, acquire('pos-1')), { code: 'E_PEER_ERROR' }, reason)
    await fake
  }
})

t.test('a malformed answer is E_WIRE_MALFORMED and the stream is reset', async t => {
  const proto = new LeaseProtocol(components, { timeoutMs: 5_000 })
  const [client, server] = await streamPair({ protocol: LEASE_PROTOCOL })
  const fake = (async () => {
    await readBounded(server, { maxBytes: 4096 })
    await writeMessage(server, enc({ granted: true, active: 1, limit: 4, reason: 'granted' })) // a grant without a lease id
  })()
  await t.rejects(proto.requestOverStream(client, acquire('pos-1')), { code: 'E_WIRE_MALFORMED' })
  t.equal(client.status, 'aborted')
  await fake.catch(() => {})
})

t.test('an oversize request is cut off at its length prefix', async t => {
  const table = new LeaseTable({ maxConcurrentPerHub: 4 })
  const proto = new LeaseProtocol(components, { authority: table, timeoutMs: 5_000 })
  const [client, server] = await streamPair({ protocol: LEASE_PROTOCOL })
  const served = proto.handleStream(server, 'peer-a')
  client.send(varint.encode(MAX_LEASE_REQUEST_BYTES + 1))
  client.send(new Uint8Array(1024))
  await served
  t.equal(server.status, 'aborted')
  t.equal(table.activeCount, 0)
})

t.test('an oversize answer is cut off too', async t => {
  const proto = new LeaseProtocol(components, { timeoutMs: 5_000 })
  const [client, server] = await streamPair({ protocol: LEASE_PROTOCOL })
  const hostile = (async (s: Stream) => {
    await readBounded(s, { maxBytes: 4096 })
    s.send(varint.encode(1024 * 1024))
    s.send(new Uint8Array(8192))
  })(server)
  await t.rejects(proto.requestOverStream(client, acquire('pos-1')), { code: 'E_WIRE_MESSAGE_TOO_LARGE' })
  t.equal(client.status, 'aborted')
  await hostile.catch(() => {})
})

t.test('a silent hub times out with E_TIMEOUT; a caller abort is E_ABORTED', async t => {
  const proto = new LeaseProtocol(components, { timeoutMs: 200 })
  // AbortSignal.timeout() is unref'd and an in-memory pair holds no handle: keep the loop alive
  const keepAlive = setInterval(() => {}, 1000)
  t.teardown(() => { clearInterval(keepAlive) })
  const [c1] = await streamPair({ protocol: LEASE_PROTOCOL })
  await t.rejects(proto.requestOverStream(c1, acquire('pos-1')), { code: 'E_TIMEOUT' })
  const [c2] = await streamPair({ protocol: LEASE_PROTOCOL })
  const ctl = new AbortController()
  setTimeout(() => { ctl.abort() }, 20)
  await t.rejects(proto.requestOverStream(c2, acquire('pos-1'), { signal: ctl.signal, timeoutMs: 5_000 }), { code: 'E_ABORTED' })
})

t.test('a client-only protocol registers no handler', async t => {
  const handled: string[] = []
  const comps = { ...components, registrar: { handle: async (p: string) => { handled.push(p) }, unhandle: async () => {} } } as unknown as LeaseProtocolComponents
  await new LeaseProtocol(comps).start()
  t.same(handled, [])
  await new LeaseProtocol(comps, { authority: new LeaseTable() }).start()
  t.same(handled, [LEASE_PROTOCOL])
  t.equal(LEASE_PROTOCOL, '/storemesh/lease/1.0.0')
})
