/**
 * `/storemesh/manifest/1.0.0` between real nodes on 127.0.0.1 (pnet, noise, yamux),
 * registered as libp2p services the way the roles do it.
 */
import t, { type Test } from 'tap'
import { signEnvelope } from '../../src/bundle/envelope.js'
import { generateSigningKey } from '../../src/bundle/keys.js'
import { bundleIdOf, encodeManifest } from '../../src/bundle/manifest.js'
import type { ManifestBody, TrustOptions } from '../../src/interface/types.js'
import * as varint from 'uint8-varint'
import { readBounded } from '../../src/net/length-prefixed.js'
import { MANIFEST_PROTOCOL, manifestProtocol, type ManifestLookup } from '../../src/net/manifest/index.js'
import { createStoremeshNode } from '../../src/net/node.js'
import { generateSwarmKey } from '../../src/net/swarm-key.js'

const swarmKey = generateSwarmKey()
const signer = generateSigningKey()
const trust: TrustOptions = { keys: [{ keyid: signer.keyid, publicKey: signer.publicKey }] }

function manifest (version: string, chunks: number): { bytes: Uint8Array, id: string } {
  const list = Array.from({ length: chunks }, (_, i) => ({ hash: i.toString(16).padStart(64, '0'), size: 262144 }))
  const body: ManifestBody = {
    type: 'storemesh/bundle',
    specVersion: 1,
    name: 'pos-image',
    version,
    deviceClass: 'pos',
    created: new Date(Date.now() - 60_000).toISOString(),
    expires: new Date(Date.now() + 86_400_000).toISOString(),
    chunking: { algorithm: 'fastcdc', minBytes: 65536, avgBytes: 262144, maxBytes: 1048576 },
    artifacts: [{ name: 'rootfs.img', size: chunks * 262144, blake3: 'e'.repeat(64), chunks: list }]
  }
  const env = signEnvelope(body, [signer])
  return { bytes: encodeManifest(env), id: bundleIdOf(env) }
}

async function hubAndDevice (t: Test, lookup: ManifestLookup) {
  const hub = await createStoremeshNode({ swarmKey, services: { manifest: manifestProtocol({ lookup }) } })
  t.teardown(async () => { await hub.stop() })
  const device = await createStoremeshNode({ swarmKey, services: { manifest: manifestProtocol({ trust }) } })
  t.teardown(async () => { await device.stop() })
  return { hub, device }
}

t.test('a device fetches and verifies manifests from the hub', async t => {
  // ~20k chunk entries: a manifest of about 2 MiB, well over one yamux window
  const big = manifest('3.8.2', 20_000)
  const small = manifest('3.8.1', 3)
  t.ok(big.bytes.byteLength > 1024 * 1024, `manifest is ${(big.bytes.byteLength / 1048576).toFixed(1)} MiB`)
  const { hub, device } = await hubAndDevice(t, async (req) => {
    if ('deviceClass' in req) return req.deviceClass === 'pos' ? big.bytes : undefined
    return [big, small].find(m => m.id === req.bundleId)?.bytes
  })
  const addr = hub.getMultiaddrs()[0]!
  const newest = await device.services.manifest.fetch(addr, { deviceClass: 'pos' })
  t.equal(newest.id, big.id)
  t.equal(newest.pieces.length, 20_000)
  const older = await device.services.manifest.fetch(hub.peerId, { bundleId: small.id })
  t.equal(older.manifest.signed.version, '3.8.1', 'by bundle id, over the existing connection')
  await t.rejects(device.services.manifest.fetch(hub.peerId, { deviceClass: 'kiosk' }), { code: 'E_BUNDLE_NOT_FOUND' })
  const stranger = generateSigningKey()
  await t.rejects(device.services.manifest.fetch(hub.peerId, { deviceClass: 'pos' }, {
    trust: { keys: [{ keyid: stranger.keyid, publicKey: stranger.publicKey }] }
  }), { code: 'E_SIGNATURE_UNTRUSTED' }, 'other trust keys refuse the same answer')
})

t.test('an oversize reply from a real peer is rejected and the stream reset', async t => {
  const hostile = await createStoremeshNode({ swarmKey })
  t.teardown(async () => { await hostile.stop() })
  await hostile.handle(MANIFEST_PROTOCOL, (stream) => {
    void (async () => {
      await readBounded(stream, { maxBytes: 1024 })
      // announce 64 MiB and start streaming junk: the client must stop at the prefix
      stream.send(varint.encode(64 * 1024 * 1024))
      for (let i = 0; i < 64 && stream.status === 'open'; i++) {
        if (!stream.send(new Uint8Array(64 * 1024))) await new Promise(r => stream.addEventListener('drain', r, { once: true }))
      }
    })().catch(() => {})
  })
  const device = await createStoremeshNode({ swarmKey, services: { manifest: manifestProtocol({ trust }) } })
  t.teardown(async () => { await device.stop() })
  await t.rejects(device.services.manifest.fetch(hostile.getMultiaddrs()[0]!, { deviceClass: 'pos' }), { code: 'E_WIRE_MESSAGE_TOO_LARGE' })
  t.equal(device.getConnections(hostile.peerId).length, 1, 'only the stream was reset, not the connection')
})

t.test('a client-only node registers no handler', async t => {
  const device = await createStoremeshNode({ swarmKey, services: { manifest: manifestProtocol({ trust }) } })
  t.teardown(async () => { await device.stop() })
  t.notOk(device.getProtocols().includes(MANIFEST_PROTOCOL))
  const { hub } = await hubAndDevice(t, async () => undefined)
  t.ok(hub.getProtocols().includes(MANIFEST_PROTOCOL))
})
