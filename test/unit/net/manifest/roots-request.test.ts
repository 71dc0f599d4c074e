/**
 * `/storemesh/manifest/1.1.0` `{rootsAfter}` (protocols/manifest/SPEC.md "Roots"): the
 * request is strict, 1.0.0 does not take it, and the exchange returns the server's
 * chain bytes or undefined, over an in-memory stream pair.
 */
import { streamPair } from '@libp2p/utils'
import t from 'tap'
import {
  decodeManifestRequest, decodeManifestRequestV1_1, encodeManifestRequestV1_1, MANIFEST_PROTOCOL_V1_1, ManifestProtocol,
  type ManifestProtocolComponents, type RootsLookup
} from '../../../../src/net/manifest/index.js'
import { stubProtocolComponents } from '../../../support/protocol-components.js'

const components = stubProtocolComponents<ManifestProtocolComponents>()
const enc = (x: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(x))

t.test('rootsAfter: exactly one member, a version; only in 1.1.0', async t => {
  t.same(decodeManifestRequestV1_1(encodeManifestRequestV1_1({ rootsAfter: 3 })), { rootsAfter: 3 })
  t.same(decodeManifestRequestV1_1(enc({ deviceClass: 'pos' })), { deviceClass: 'pos' }, '1.1.0 keeps 1.0.0\'s requests')
  for (const bad of [{ rootsAfter: -1 }, { rootsAfter: 1.5 }, { rootsAfter: '2' }, { rootsAfter: 1, deviceClass: 'pos' }, {}]) {
    t.throws(() => decodeManifestRequestV1_1(enc(bad)), { code: 'E_WIRE_MALFORMED' }, JSON.stringify(bad))
  }
  t.throws(() => decodeManifestRequest(enc({ rootsAfter: 0 })), { code: 'E_WIRE_MALFORMED' }, '1.0.0 refuses it')
})

async function ask (roots: RootsLookup | undefined, after: number): Promise<Uint8Array | undefined> {
  const [client, server] = await streamPair({ protocol: MANIFEST_PROTOCOL_V1_1 })
  const proto = new ManifestProtocol(components, { lookup: async () => undefined, ...(roots !== undefined ? { roots } : {}), timeoutMs: 5_000 })
  const served = proto.handleStream(server, 'test-peer', '1.1.0')
  try {
    return await proto.requestRootsOverStream(client, after)
  } finally {
    await served
  }
}

t.test('the answer is the chain bytes, or undefined when none is newer', async t => {
  const chain = enc({ roots: ['opaque here: the root module verifies'] })
  const seen: number[] = []
  const roots: RootsLookup = async (after) => { seen.push(after); return after < 2 ? chain : undefined }
  t.same(await ask(roots, 1), chain)
  t.equal(await ask(roots, 2), undefined)
  t.same(seen, [1, 2])
  t.equal(await ask(undefined, 0), undefined, 'a peer with no roots lookup answers not-found')
  await t.rejects(ask(async () => { throw new Error('disk gone') }, 0), { code: 'E_PEER_ERROR' })
})
