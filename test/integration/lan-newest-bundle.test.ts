/**
 * Issue #20: a peer posing as a hub answers the manifest question first with an older,
 * validly signed bundle. The device's manifest round (src/roles/manifest-round.ts)
 * collects answers for a window after the first and takes the newest; real nodes on
 * 127.0.0.1 (pnet, noise, yamux) and the real manifest protocol, which verifies each
 * answer's signature against the trusted keys.
 */
import t from 'tap'
import { signEnvelope } from '../../src/bundle/envelope.js'
import { generateSigningKey } from '../../src/bundle/keys.js'
import { bundleIdOf, encodeManifest } from '../../src/bundle/manifest.js'
import type { ManifestBody, TrustOptions } from '../../src/interface/types.js'
import { manifestProtocol, type ManifestLookup } from '../../src/net/manifest/index.js'
import { createStoremeshNode } from '../../src/net/node.js'
import { generateSwarmKey } from '../../src/net/swarm-key.js'
import { MANIFEST_ANSWER_WINDOW_MS } from '../../src/roles/lan-constants.js'
import { collectManifestAnswers, newestAnswer } from '../../src/roles/manifest-round.js'

const swarmKey = generateSwarmKey()
const signer = generateSigningKey()
const stranger = generateSigningKey()
const trust: TrustOptions = { keys: [{ keyid: signer.keyid, publicKey: signer.publicKey }] }

function manifest (version: string, deviceClass = 'pos', key = signer): { bytes: Uint8Array, id: string } {
  const body: ManifestBody = {
    type: 'storemesh/bundle',
    specVersion: 1,
    name: 'pos-image',
    version,
    deviceClass,
    created: new Date(Date.now() - 60_000).toISOString(),
    expires: new Date(Date.now() + 86_400_000).toISOString(),
    chunking: { algorithm: 'fastcdc', minBytes: 65536, avgBytes: 262144, maxBytes: 1048576 },
    artifacts: [{ name: 'rootfs.img', size: 262144, blake3: 'e'.repeat(64), chunks: [{ hash: 'a'.repeat(64), size: 262144 }] }]
  }
  const env = signEnvelope(body, [key])
  return { bytes: encodeManifest(env), id: bundleIdOf(env) }
}

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

t.test('an older signed bundle that answers first is not chosen; the newest valid one is', async t => {
  const older = manifest('1.0.0')
  const newer = manifest('2.0.0')
  const forged = manifest('9.0.0', 'pos', stranger)
  const otherClass = manifest('5.0.0', 'kiosk')
  const served = (bytes: Uint8Array, delayMs: number): ManifestLookup => async (req) => {
    await sleep(delayMs)
    return 'deviceClass' in req ? bytes : undefined
  }
  // the poser answers at once; the real hub a little later (a loaded hub, a slow LAN)
  const poser = await createStoremeshNode({ swarmKey, services: { manifest: manifestProtocol({ lookup: served(older.bytes, 0) }) } })
  const hub = await createStoremeshNode({ swarmKey, services: { manifest: manifestProtocol({ lookup: served(newer.bytes, 300) }) } })
  const forger = await createStoremeshNode({ swarmKey, services: { manifest: manifestProtocol({ lookup: served(forged.bytes, 0) }) } })
  const kiosk = await createStoremeshNode({ swarmKey, services: { manifest: manifestProtocol({ lookup: served(otherClass.bytes, 0) }) } })
  const device = await createStoremeshNode({ swarmKey, services: { manifest: manifestProtocol({ trust }) } })
  t.teardown(async () => { await Promise.all([poser, hub, forger, kiosk, device].map(async n => { await n.stop() })) })
  for (const n of [poser, hub, forger, kiosk]) await device.dial(n.getMultiaddrs()[0]!)

  const peers = [poser.peerId, hub.peerId, forger.peerId, kiosk.peerId]
  const ask = async (id: typeof poser.peerId, signal: AbortSignal): Promise<import('../../src/interface/types.js').BundleInfo> =>
    await device.services.manifest.fetch(id, { deviceClass: 'pos' }, { signal, timeoutMs: 5000 })
  const started = Date.now()
  const answers = await collectManifestAnswers(peers, ask, { windowMs: MANIFEST_ANSWER_WINDOW_MS })
  const tookMs = Date.now() - started
  t.equal(answers[0]?.info.id, older.id, 'the older bundle did answer first')
  t.notOk(answers.some(a => a.info.id === forged.id), 'a bundle signed by an untrusted key is no answer')
  // the rule before issue #20 would have taken answers[0]
  const pick = newestAnswer(answers, 'pos', undefined)
  t.equal(pick?.info.id, newer.id, 'the newest valid bundle of our class is chosen')
  t.ok(pick?.peer.equals(hub.peerId))
  t.ok(tookMs < MANIFEST_ANSWER_WINDOW_MS + 5000, `the round is bounded (${tookMs} ms)`)

  // never older than what the device has; nothing newer: nothing to join
  t.equal(newestAnswer(answers, 'pos', pick?.info), undefined, 'the target is already the newest')
  t.equal(newestAnswer(answers.filter(a => a.info.id === older.id), 'pos', pick?.info), undefined, 'an older bundle alone is not joined')
  t.not(pick?.info.id, otherClass.id, 'another class\'s newer bundle (5.0.0) is never chosen')
})

t.test('the window closes: a peer that never answers does not hold the round', async t => {
  const newer = manifest('2.0.0')
  const quick = await createStoremeshNode({ swarmKey, services: { manifest: manifestProtocol({ lookup: async () => newer.bytes }) } })
  const mute = await createStoremeshNode({
    swarmKey,
    services: { manifest: manifestProtocol({ lookup: async (_req, ctx) => await new Promise((_resolve, reject) => { ctx.signal.addEventListener('abort', () => { reject(new Error('aborted')) }) }) }) }
  })
  const device = await createStoremeshNode({ swarmKey, services: { manifest: manifestProtocol({ trust }) } })
  t.teardown(async () => { await Promise.all([quick, mute, device].map(async n => { await n.stop() })) })
  for (const n of [mute, quick]) await device.dial(n.getMultiaddrs()[0]!)
  const started = Date.now()
  const answers = await collectManifestAnswers([mute.peerId, quick.peerId],
    async (id, signal) => await device.services.manifest.fetch(id, { deviceClass: 'pos' }, { signal, timeoutMs: 30_000 }),
    { windowMs: 500 })
  const tookMs = Date.now() - started
  t.same(answers.map(a => a.info.id), [newer.id])
  t.ok(tookMs < 10_000, `closed ${tookMs} ms after the start, not at the mute peer's 30 s timeout`)
})
