/**
 * A hoarder that keeps us choked (issue #20, item 1): an attacker that claims every
 * chunk and never unchokes the device holds none of its requests, so a clock that ran
 * only while requests waited never started, and the bench's hoarders spent 2-6 s
 * choking before they took a request (10-14 s from claim to disconnection). Now the
 * clock runs from the claim while the claimant keeps us choked (picker-trust.ts): an
 * honest node unchokes an interested peer it never served at once (choker.ts).
 *
 * Real libp2p nodes on loopback: a capped super-seeding hub, one honest device with a
 * shortened hoarderAfterMs, and the attacker (test/support/hostile-chunk-peer.ts,
 * `choking-hoarder`) dialling the device and redialling when dropped. Fails on the
 * code before: the attacker was never dropped.
 */
import t from 'tap'
import { blake3Hex } from '../../src/bundle/hash.js'
import { createStoremeshNode, type StoremeshNode } from '../../src/net/node.js'
import { generateSwarmKey } from '../../src/net/swarm-key.js'
import { BanList, chunkProtocol, type ChunkProtocol } from '../../src/swarm/index.js'
import { HostileChunkPeer } from '../support/hostile-chunk-peer.js'
import { MemoryStore } from '../support/memory-store.js'
import { startCappedHub } from '../support/capped-hub.js'
import { waitFor } from '../support/poll.js'
import { chunkSizes, makeBundle, within } from '../unit/swarm/helpers.js'

type Node = StoremeshNode<{ chunks: ChunkProtocol }>

const HOARDER_AFTER_MS = 2500
const HUB_RATE_BYTES_PER_SEC = 256 * 1024
// ~3 MiB: about 12 s from the capped hub, room for two offences
const bundle = makeBundle(chunkSizes(16, 128 * 1024, 256 * 1024, 22))
/** handshake (68) and one bitfield frame: anything more would be a piece */
const CLAIM_BYTES = 68 + 4 + 1 + Math.ceil(bundle.info.pieces.length / 8)

t.test('a claimant that never unchokes us is disconnected as a hoarder, banned when it comes back and does it again; the hub is spared', async t => {
  const swarmKey = generateSwarmKey()
  const hub: Node = await startCappedHub(swarmKey, new MemoryStore(bundle.chunks), HUB_RATE_BYTES_PER_SEC)
  const bans = new BanList()
  const store = new MemoryStore()
  const hubId = hub.peerId.toString()
  const device: Node = await createStoremeshNode({
    swarmKey,
    services: { chunks: chunkProtocol({ store, bans, options: { hoarderAfterMs: HOARDER_AFTER_MS }, spareHoarder: id => id === hubId }) }
  })
  const attacker = await HostileChunkPeer.create({ mode: 'choking-hoarder', bundle: bundle.info, chunks: bundle.chunks, swarmKey })
  t.teardown(async () => { await Promise.all([attacker.stop(), hub.stop(), device.stop()]) })
  await hub.services.chunks.join(bundle.info, { superseed: true })
  const swarm = await device.services.chunks.join(bundle.info)
  const violations: string[] = []
  device.services.chunks.scorer.on('violation', e => { if (e.peerId === attacker.peerId) violations.push(e.violation) })

  await device.dial(hub.getMultiaddrs())
  attacker.attack(device.getMultiaddrs())
  await waitFor(() => violations.length >= 1, 30_000, 'the choking claimant dropped')
  t.equal(violations[0], 'hoarding', 'dropped as a hoarder, for its claim and its choke alone')
  t.equal(swarm.droppedHoarders, 1, 'the swarm remembers it')
  t.ok(attacker.bytesSent <= CLAIM_BYTES * 2, `it never sent a piece (${attacker.bytesSent} bytes over its streams so far)`)

  await waitFor(() => bans.isBanned(attacker.peerId), 30_000, 'banned at its second offence')
  t.ok(violations.length >= 2 && violations.every(v => v === 'hoarding'), `banned for hoarding again (${violations.join(', ')})`)
  t.match(bans.list().find(b => b.peerId === attacker.peerId)?.reason ?? '', 'hoarding')

  await within(swarm.done, 90_000, 'honest download')
  t.equal(device.services.chunks.scorer.score(hubId), 0, 'the capped hub committed no violation')
  t.ok(device.getConnections(hub.peerId).length > 0, 'and kept its connection')
  const expected = new Set(bundle.info.pieces.map(p => p.hash))
  let good = 0
  for (const [hash, data] of store.chunks) if (expected.has(hash) && blake3Hex(data) === hash) good++
  t.equal(good, bundle.info.pieces.length, 'every stored chunk re-hashes to the manifest')
  t.equal(store.rejectedPuts, 0, 'no corrupt chunk ever reached the store')
})
