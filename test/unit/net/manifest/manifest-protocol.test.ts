import t from 'tap'
import { stubProtocolComponents } from '../../../support/protocol-components.js'
import { streamPair } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import { signEnvelope } from '../../../../src/bundle/envelope.js'
import { generateSigningKey, type PrivateSigningKey } from '../../../../src/bundle/keys.js'
import { bundleIdOf, encodeManifest, MAX_MANIFEST_BYTES } from '../../../../src/bundle/manifest.js'
import type { ManifestBody, TrustOptions } from '../../../../src/interface/types.js'
import * as varint from 'uint8-varint'
import { readBounded, writeMessage } from '../../../../src/net/length-prefixed.js'
import {
  decodeManifestRequest, encodeManifestRequest, MANIFEST_PROTOCOL, ManifestProtocol, STATUS,
  type ManifestLookup, type ManifestProtocolComponents
} from '../../../../src/net/manifest/index.js'

const components = stubProtocolComponents<ManifestProtocolComponents>()

function body (deviceClass = 'pos', version = '1.2.3'): ManifestBody {
  return {
    type: 'storemesh/bundle',
    specVersion: 1,
    name: 'pos-firmware',
    version,
    deviceClass,
    created: new Date(Date.now() - 60_000).toISOString(),
    expires: new Date(Date.now() + 86_400_000).toISOString(),
    chunking: { algorithm: 'fastcdc', minBytes: 65536, avgBytes: 262144, maxBytes: 1048576 },
    artifacts: [{ name: 'rootfs.img', size: 5, blake3: 'a'.repeat(64), chunks: [{ hash: 'b'.repeat(64), size: 5 }] }]
  }
}

function signed (key: PrivateSigningKey, b = body()): { bytes: Uint8Array, id: string } {
  const env = signEnvelope(b, [key])
  return { bytes: encodeManifest(env), id: bundleIdOf(env) }
}

const key = generateSigningKey()
const trust: TrustOptions = { keys: [{ keyid: key.keyid, publicKey: key.publicKey }] }

async function exchange (lookup: ManifestLookup, req: Parameters<ManifestProtocol['requestOverStream']>[1], tr = trust) {
  const [client, server] = await streamPair({ protocol: MANIFEST_PROTOCOL })
  const proto = new ManifestProtocol(components, { lookup, trust: tr, timeoutMs: 5_000 })
  const served = proto.handleStream(server, 'test-peer')
  try {
    return await proto.requestOverStream(client, req)
  } finally {
    await served
  }
}

t.test('requests are strict: one field, well formed', async t => {
  const id = 'b3:' + 'c'.repeat(64)
  t.same(decodeManifestRequest(encodeManifestRequest({ bundleId: id })), { bundleId: id })
  t.same(decodeManifestRequest(encodeManifestRequest({ deviceClass: 'pos' })), { deviceClass: 'pos' })
  const enc = (x: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(x))
  for (const bad of [{}, { bundleId: id, deviceClass: 'pos' }, { bundleId: 'b3:xyz' }, { deviceClass: '../x' }, [], 'pos', { policy: true }]) {
    t.throws(() => decodeManifestRequest(enc(bad)), { code: 'E_WIRE_MALFORMED' }, JSON.stringify(bad))
  }
  t.throws(() => decodeManifestRequest(new Uint8Array([0xff, 0xfe])), { code: 'E_WIRE_MALFORMED' })
})

t.test('round trip by bundle id and by device class, verified', async t => {
  const m = signed(key)
  const lookup: ManifestLookup = async (req) => ('bundleId' in req ? req.bundleId === m.id : req.deviceClass === 'pos') ? m.bytes : undefined
  const byId = await exchange(lookup, { bundleId: m.id })
  t.equal(byId.id, m.id)
  t.equal(byId.manifest.signed.version, '1.2.3')
  const byClass = await exchange(lookup, { deviceClass: 'pos' })
  t.equal(byClass.id, m.id)
})

t.test('not found and lookup failures are typed', async t => {
  await t.rejects(exchange(async () => undefined, { deviceClass: 'kiosk' }), { code: 'E_BUNDLE_NOT_FOUND' })
  await t.rejects(exchange(async () => { throw new Error('disk gone') }, { deviceClass: 'kiosk' }), { code: 'E_PEER_ERROR' })
})

t.test('the answer is verified before it is returned', async t => {
  const stranger = generateSigningKey()
  const foreign = signed(stranger)
  await t.rejects(exchange(async () => foreign.bytes, { bundleId: foreign.id }), { code: 'E_SIGNATURE_UNTRUSTED' })
  const a = signed(key, body('pos', '1.0.0'))
  const b = signed(key, body('pos', '2.0.0'))
  await t.rejects(exchange(async () => b.bytes, { bundleId: a.id }), { code: 'E_MANIFEST_INVALID' }, 'a different bundle than asked')
  await t.rejects(exchange(async () => a.bytes, { deviceClass: 'kiosk' }), { code: 'E_MANIFEST_INVALID' }, 'another device class')
  await t.rejects(exchange(async () => new TextEncoder().encode('{"not":"a manifest"}'), { deviceClass: 'pos' }), { code: 'E_MANIFEST_INVALID' })
})

t.test('the server refuses to send a manifest over the limit', async t => {
  const huge = new Uint8Array(MAX_MANIFEST_BYTES + 1)
  await t.rejects(exchange(async () => huge, { deviceClass: 'pos' }), { code: 'E_PEER_ERROR' })
})

t.test('an oversize reply is rejected from its length prefix', async t => {
  const [client, server] = await streamPair({ protocol: MANIFEST_PROTOCOL })
  // a hostile server: reads the request, announces 5 MiB and starts sending
  const hostile = (async (s: Stream) => {
    await readBounded(s, { maxBytes: 1024 })
    s.send(varint.encode(5 * 1024 * 1024))
    s.send(new Uint8Array(64 * 1024))
  })(server)
  const proto = new ManifestProtocol(components, { trust, timeoutMs: 5_000 })
  await t.rejects(proto.requestOverStream(client, { deviceClass: 'pos' }), { code: 'E_WIRE_MESSAGE_TOO_LARGE' })
  t.equal(client.status, 'aborted', 'the stream is closed on an oversize message')
  await hostile.catch(() => {})
})

t.test('a bad request gets a BAD_REQUEST answer', async t => {
  const [client, server] = await streamPair({ protocol: MANIFEST_PROTOCOL })
  const proto = new ManifestProtocol(components, { lookup: async () => undefined })
  const served = proto.handleStream(server)
  await writeMessage(client, new TextEncoder().encode('{"bundleId":"nope"}'))
  const answer = await readBounded(client, { maxBytes: 1024 })
  t.equal(answer[0], STATUS.BAD_REQUEST)
  t.match(new TextDecoder().decode(answer.subarray(1)), /bad manifest request/)
  await served
})

t.test('an oversize request is cut off by the server', async t => {
  const [client, server] = await streamPair({ protocol: MANIFEST_PROTOCOL })
  const proto = new ManifestProtocol(components, { lookup: async () => undefined })
  const served = proto.handleStream(server)
  await writeMessage(client, new Uint8Array(4096))
  await served
  t.equal(server.status, 'aborted')
})

t.test('a silent server times out', async t => {
  const [client] = await streamPair({ protocol: MANIFEST_PROTOCOL })
  const proto = new ManifestProtocol(components, { trust, timeoutMs: 200 })
  // AbortSignal.timeout() is unref'd and an in-memory pair holds no handle: keep the loop alive
  const keepAlive = setInterval(() => {}, 1000)
  t.teardown(() => { clearInterval(keepAlive) })
  await t.rejects(proto.requestOverStream(client, { deviceClass: 'pos' }), { code: 'E_TIMEOUT' })
})

t.test('fetch without trust keys is a usage error', async t => {
  const [client] = await streamPair({ protocol: MANIFEST_PROTOCOL })
  const proto = new ManifestProtocol(components, {})
  await t.rejects(proto.requestOverStream(client, { deviceClass: 'pos' }), { code: 'E_INVALID_ARGUMENT' })
})
