/**
 * Issue #19, bad input: "a peer that asks for the same piece repeatedly is metered by
 * the upload cap and then banned, never served for free". Real libp2p nodes on
 * loopback under one fleet key: a capped super-seeding hub (test/support/capped-hub.ts,
 * upload turns behind one limiter as roles/peer.ts wires it), an honest device
 * downloading the bundle, and a peer that asks the hub for the same chunk again each
 * time the copy arrived (test/support/repeat-requester.ts).
 *
 * The hub serves it a chunk at most twice over one wire (the second: an honest re-ask
 * after a copy it could not store), each copy through the cap, then closes the wire
 * with a `repeat-request` violation, which bans. On the code before, the hub sent the
 * same chunk as often as it was asked (REPEAT_MAX_COPIES copies here, no violation).
 */
import t from 'tap'
import { createStoremeshNode, type StoremeshNode } from '../../src/net/node.js'
import { generateSwarmKey } from '../../src/net/swarm-key.js'
import { chunkProtocol, type ChunkProtocol } from '../../src/swarm/index.js'
import { MAX_SENDS_PER_CHUNK } from '../../src/swarm/uploader.js'
import { MemoryStore } from '../support/memory-store.js'
import { startCappedHub } from '../support/capped-hub.js'
import { RepeatRequester, REPEAT_MAX_COPIES } from '../support/repeat-requester.js'
import { chunkSizes, makeBundle, within } from '../unit/swarm/helpers.js'

type Node = StoremeshNode<{ chunks: ChunkProtocol }>

const HUB_RATE_BYTES_PER_SEC = 512 * 1024
// ~1.5 MiB: about 3 s from the capped hub; REPEAT_MAX_COPIES copies of one chunk take longer
const bundle = makeBundle(chunkSizes(16, 64 * 1024, 128 * 1024, 31))

t.test('a peer asking the hub for the same chunk again and again: each copy through the cap, banned at the third ask, the honest device unharmed', async t => {
  const swarmKey = generateSwarmKey()
  const hub: Node = await startCappedHub(swarmKey, new MemoryStore(bundle.chunks), HUB_RATE_BYTES_PER_SEC)
  const store = new MemoryStore()
  const device: Node = await createStoremeshNode({ swarmKey, services: { chunks: chunkProtocol({ store }) } })
  const repeater = await RepeatRequester.create(bundle.info, swarmKey)
  t.teardown(async () => { await Promise.all([repeater.stop(), hub.stop(), device.stop()]) })
  await hub.services.chunks.join(bundle.info, { superseed: true })
  const swarm = await device.services.chunks.join(bundle.info)
  const violations: string[] = []
  hub.services.chunks.scorer.on('violation', e => { if (e.peerId === repeater.peerId) violations.push(e.violation) })

  await device.dial(hub.getMultiaddrs())
  await within(repeater.run(hub.getMultiaddrs()), 120_000, 'the repeater ends')
  const index = repeater.index ?? -1
  const size = bundle.info.pieces[index]?.size ?? 0
  const copies = repeater.copiesAt.length
  t.comment(`chunk ${index} (${size} bytes): ${copies} copies, stream closed ${repeater.closedAt !== undefined ? 'by the hub' : 'never'}, violations ${violations.join(', ')}`)
  t.ok(index >= 0, 'the hub offered it a chunk')
  t.ok(copies >= 1, 'it was served a first copy (it asked as an honest peer would)')
  t.ok(copies <= MAX_SENDS_PER_CHUNK, `served the same chunk at most ${MAX_SENDS_PER_CHUNK} times over one wire (${copies}; unbounded it stops at ${REPEAT_MAX_COPIES})`)
  t.ok(repeater.closedAt !== undefined, 'the hub closed its stream')
  t.equal(violations[0], 'repeat-request', 'for a repeated request')
  t.ok(hub.services.chunks.bans.isBanned(repeater.peerId), 'and banned it')
  // metered: the copies it got took their bytes from the cap (the cap's own burst aside)
  if (copies >= 2 && repeater.firstAskAt !== undefined) {
    const spanSec = ((repeater.copiesAt[copies - 1] ?? 0) - repeater.firstAskAt) / 1000
    t.ok(copies * size <= HUB_RATE_BYTES_PER_SEC * spanSec + size, `its ${copies} copies came no faster than the cap (${copies * size} bytes in ${spanSec.toFixed(2)} s)`)
  }

  await within(swarm.done, 60_000, 'honest download')
  t.equal(swarm.progress().heldChunks, bundle.info.pieces.length, 'the honest device completed')
  t.notOk(hub.services.chunks.bans.isBanned(device.peerId.toString()), 'the honest device is not banned')
  t.equal(hub.services.chunks.scorer.score(device.peerId.toString()), 0, 'nor scored')
})
