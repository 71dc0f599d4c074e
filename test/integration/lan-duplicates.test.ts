/**
 * Duplicate chunks on the LAN swarm: a super-seeding hub and four devices as real
 * libp2p nodes on 127.0.0.1, every node's upload capped by its own token bucket (the
 * product's Limiter), full mesh. Every byte a device receives beyond the bundle is
 * upload capacity lost to the whole swarm, so the bytes received twice or refused
 * (progress().wastedBytes: endgame copies that crossed a cancel, late answers) must
 * stay a few chunks per device, not a multiple of the bundle (the demo measured 40–47%).
 */
import t from 'tap'
import { createStoremeshNode, type StoremeshNode } from '../../src/net/node.js'
import { chunkProtocol, type ChunkProtocol } from '../../src/swarm/index.js'
import { Limiter } from '../../src/wan/limiter.js'
import { MemoryStore } from '../support/memory-store.js'
import { chunkSizes, makeBundle, within } from '../unit/swarm/helpers.js'

type Node = StoremeshNode<{ chunks: ChunkProtocol }>

const DEVICES = 4
/** per node; low enough that the run is link-bound on a loaded machine */
const UPLOAD_BYTES_PER_SEC = 3 * 1024 * 1024
/** share of the bundle a device may receive twice: a few endgame chunks */
const MAX_WASTED_FRACTION = 0.05
/** the product rotates every 10 s; 500 ms puts many rotations into a run of seconds */
const CHOKE_INTERVAL_MS = 500
const DONE_DEADLINE_MS = 120_000

async function mkNode (store: MemoryStore): Promise<Node> {
  const limiter = new Limiter({ rateBytesPerSec: UPLOAD_BYTES_PER_SEC, name: 'lan-upload' })
  return await createStoremeshNode<{ chunks: ChunkProtocol }>({
    swarmKey: null,
    services: {
      // fewer slots than peers and a fast rotation: chokes and unchokes land while requests are in flight
      chunks: chunkProtocol({ store, options: { uploadSlots: 2, optimisticSlots: 1, chokeIntervalMs: CHOKE_INTERVAL_MS }, uploadLimiter: async (bytes, o) => { await limiter.acquire(bytes, o?.signal) } })
    }
  })
}

t.test('hub + 4 capped devices over libp2p: each device receives at most a few chunks twice', async t => {
  // ~8 MiB in 32–128 KiB chunks: one chunk is ~1% of the bundle, so the bound below
  // allows a few endgame copies and still fails at the demo's rate of duplicates
  const bundle = makeBundle(chunkSizes(104, 32 * 1024, 128 * 1024, 33))
  const hub = await mkNode(new MemoryStore(bundle.chunks))
  const devices = await Promise.all(Array.from({ length: DEVICES }, async () => await mkNode(new MemoryStore())))
  t.teardown(async () => { await Promise.all([hub, ...devices].map(async n => { await n.stop() })) })
  const hubSwarm = await hub.services.chunks.join(bundle.info, { superseed: true })
  const swarms = await Promise.all(devices.map(async d => await d.services.chunks.join(bundle.info)))
  for (const [i, d] of devices.entries()) {
    await d.dial(hub.getMultiaddrs())
    for (const e of devices.slice(0, i)) await d.dial(e.getMultiaddrs())
  }
  await within(Promise.all(swarms.map(async s => await s.done)), DONE_DEADLINE_MS, 'devices done')

  const F = bundle.info.totalBytes
  let worst = 0
  for (const [i, s] of swarms.entries()) {
    const p = s.progress()
    t.equal(p.heldChunks, p.totalChunks, `device ${i} complete`)
    t.equal(p.badChunks, 0, 'no bad chunks among honest peers')
    worst = Math.max(worst, p.wastedBytes / F)
    t.comment(`device ${i}: received ${(p.bytes.lan.down / F).toFixed(3)} bundles, wasted ${p.wastedBytes} B (${(100 * p.wastedBytes / F).toFixed(1)}%)`)
  }
  t.comment(`hub uploaded ${(hubSwarm.progress().bytes.lan.up / F).toFixed(2)} copies`)
  t.ok(worst <= MAX_WASTED_FRACTION, `worst device wasted ${(100 * worst).toFixed(1)}% of the bundle (<= ${100 * MAX_WASTED_FRACTION}%)`)
})
