/**
 * Certificates required: nothing is stored from a peer that is not verified. Real
 * libp2p nodes on 127.0.0.1 with the chunk protocol and the identity protocol; the
 * device's PeerIdentities decides `isAllowed` for the swarm.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import t, { type Test } from 'tap'
import { generateSigningKey } from '../../src/bundle/keys.js'
import { identityGater, issueCertificate, PeerIdentities, type NodeCertificate } from '../../src/identity/index.js'
import { identityProtocol, type IdentityProtocol } from '../../src/identity/protocol/index.js'
import { mergePeerGaters } from '../../src/net/gater.js'
import { createStoremeshNode, type StoremeshNode } from '../../src/net/node.js'
import { generateSwarmKey } from '../../src/net/swarm-key.js'
import { BanList, banGater, chunkProtocol, type ChunkProtocol } from '../../src/swarm/index.js'
import { simpleBundle } from '../support/bundles.js'
import { MemoryStore } from '../support/memory-store.js'
import { until } from '../support/poll.js'

const fleetKey = generateSwarmKey()
const enrolment = generateSigningKey()
const trust = [{ keyid: enrolment.keyid, publicKey: enrolment.publicKey }]
const bundle = simpleBundle(11, 16, 64 * 1024)

type Node = StoremeshNode<{ chunks: ChunkProtocol, identity?: IdentityProtocol }>

interface Made { node: Node, store: MemoryStore, ids: PeerIdentities }

async function make (t: Test, o: { seed?: boolean, certified?: boolean, speaksIdentity?: boolean, require?: boolean }): Promise<Made> {
  const key = await generateKeyPair('Ed25519')
  const peerId = peerIdFromPrivateKey(key).toString()
  const ids = new PeerIdentities({ trust, requireCertificates: o.require === true })
  const store = new MemoryStore(o.seed === true ? bundle.chunks.values() : [])
  const bans = new BanList()
  let certificate: NodeCertificate | undefined
  if (o.certified === true) {
    certificate = issueCertificate({ peerId, deviceId: `d-${peerId.slice(-6)}`, storeId: 's', role: 'hub', deviceClass: 'pos', expiresAt: new Date(Date.now() + 86_400_000) }, [enrolment])
  }
  const node = await createStoremeshNode<{ chunks: ChunkProtocol, identity?: IdentityProtocol }>({
    swarmKey: fleetKey,
    privateKey: key,
    gater: mergePeerGaters(banGater(bans), identityGater(ids)),
    services: {
      chunks: chunkProtocol({ store, bans, isAllowed: id => ids.isAllowed(id) }),
      // a long deadline: the swarm runs for a while before the unverified peer is refused
      ...(o.speaksIdentity !== false ? { identity: identityProtocol({ identities: ids, presentTimeoutMs: 60_000, ...(certificate !== undefined ? { certificate } : {}) }) } : {})
    }
  })
  t.teardown(async () => { await node.stop() })
  return { node, store, ids }
}

/** `p`, or a rejection after `ms` (the timer does not hold the process open). */
async function within<T> (p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`not done in ${ms} ms`)) }, ms) })
  try {
    return await Promise.race([p, late])
  } finally {
    clearTimeout(timer)
  }
}

/** The hub seeds, the device joins and dials it. */
async function download (hub: Made, device: Made): Promise<{ swarm: Awaited<ReturnType<ChunkProtocol['join']>> }> {
  const hubSwarm = await hub.node.services.chunks.join(bundle.info)
  if (!hubSwarm.complete) throw new Error('the hub does not hold the bundle')
  const swarm = await device.node.services.chunks.join(bundle.info)
  await device.node.dial(hub.node.getMultiaddrs())
  return { swarm }
}

t.test('a device that requires certificates stores nothing from an unverified hub', async t => {
  // the hub does not speak the identity protocol: it is never refused before the deadline
  const hub = await make(t, { seed: true, speaksIdentity: false })
  const device = await make(t, { require: true })
  const { swarm } = await download(hub, device)
  t.ok(await until(() => swarm.peerIds().length === 1, 10_000), 'the chunk wire is up')
  // long enough for a 1 MiB bundle to pass over loopback many times
  await new Promise(resolve => setTimeout(resolve, 3_000))
  t.equal(device.store.chunks.size, 0, 'no chunk stored')
  t.equal(swarm.progress().heldChunks, 0)
  t.notOk(device.ids.isAllowed(hub.node.peerId.toString()))
})

t.test('the same device completes from a certified hub', async t => {
  const hub = await make(t, { seed: true, certified: true })
  const device = await make(t, { require: true })
  const { swarm } = await download(hub, device)
  await within(swarm.done, 30_000)
  t.equal(device.store.chunks.size, bundle.chunks.size, 'every chunk stored')
  t.ok(device.ids.identityOf(hub.node.peerId.toString()) !== undefined, 'the hub was verified')
})

t.test('without the mode, an uncertified hub is served as before', async t => {
  const hub = await make(t, { seed: true, speaksIdentity: false })
  const device = await make(t, {})
  const { swarm } = await download(hub, device)
  await within(swarm.done, 30_000)
  t.equal(device.store.chunks.size, bundle.chunks.size)
})
