/**
 * A store hub that stops reading mid-answer cannot keep the super hub's chunk bytes in
 * flight (src/wan/byte-budget.ts) past the stall time: over real libp2p nodes on
 * 127.0.0.1, raw clients that ask for chunks and never read hold the whole budget,
 * an honest client queues behind them, the server resets each stalled stream
 * (E_SERVE_STALLED) and gives its grants back, and the honest client gets every chunk.
 * A slow honest reader (its own download limiter well below the server's pace, so the
 * server waits on its drains over and over) is never taken for a stalled one.
 *
 * Everything is counted from the server's own events and stats; the stall time is the
 * server's setting, not an assertion. Without the release (the grants of a stalled
 * stream kept until its connection dies) the honest client never gets a chunk and
 * the first test times out.
 */
import t, { type Test } from 'tap'
import { blake3Hex } from '../../../../src/bundle/hash.js'
import { createStoremeshNode, type StoremeshNode } from '../../../../src/net/node.js'
import { toNodeDuplex } from '../../../../src/net/stream.js'
import { Limiter } from '../../../../src/wan/limiter.js'
import { ByteBudget } from '../../../../src/wan/byte-budget.js'
import { encodePullRequest, pullServer, PullClient, WAN_PULL_PROTOCOL, type PullServer } from '../../../../src/wan/pull/index.js'
import type { ChunkSource } from '../../../../src/interface/types.js'
import { waitFor } from '../../../support/poll.js'

const MiB = 1024 * 1024
/**
 * Larger than what a stream that is not read absorbs before the server's writes block
 * (the client's readable buffer and yamux window, the server's writable buffer, batch
 * and yamux window: well under 2 MiB), so a stalled stream never finishes its first answer.
 */
const CHUNK_BYTES = 2 * MiB
const CHUNKS = 6
/** four chunks: one stalled stream reading ahead can hold all of it */
const BUDGET_BYTES = 4 * CHUNK_BYTES
/** the server's stall time for this test; an honest reader here drains within a fraction of it */
const STALL_MS = 3_000
const HOSTILE_CLIENTS = 2
const STREAMS_PER_HOSTILE = 2

type ServerNode = StoremeshNode<{ wanPull: PullServer }>

function chunks (n: number, size: number): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>()
  for (let i = 0; i < n; i++) {
    const b = new Uint8Array(size).map((_, j) => (j * 13 + i * 29 + 5) & 0xff)
    out.set(blake3Hex(b), b)
  }
  return out
}

interface Server { node: ServerNode, budget: ByteBudget, events: string[], pieces: Array<{ hash: string, size: number }> }

async function startServer (t: Test): Promise<Server> {
  const data = chunks(CHUNKS, CHUNK_BYTES)
  const source: ChunkSource = {
    has: async h => data.has(h),
    // a copy per answer, as a store read or an origin fetch makes
    get: async h => data.get(h)?.slice(),
    sizeOf: h => data.get(h)?.byteLength
  }
  const budget = new ByteBudget(BUDGET_BYTES)
  const events: string[] = []
  const node = await createStoremeshNode<{ wanPull: PullServer }>({
    swarmKey: null,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    services: {
      wanPull: pullServer({
        source,
        limiterFor: () => new Limiter({ rateBytesPerSec: Infinity }),
        budget,
        stallMs: STALL_MS,
        onServed: e => { events.push(`served ${e.peerId}`) },
        onStalled: e => { events.push(`stalled ${e.peerId}`) }
      })
    }
  })
  t.teardown(async () => { await node.stop() })
  return { node, budget, events, pieces: [...data].map(([hash, b]) => ({ hash, size: b.byteLength })) }
}

async function client (t: Test): Promise<StoremeshNode> {
  const node = await createStoremeshNode({ swarmKey: null, listen: [] })
  t.teardown(async () => { await node.stop() })
  return node
}

/** A store hub that asks for every chunk and never reads a byte of the answers; resolves `reset` when the server drops the stream. */
async function stalledStream (from: StoremeshNode, server: ServerNode, hashes: string[]): Promise<{ reset: Promise<void> }> {
  const duplex = toNodeDuplex(await from.dialProtocol(server.getMultiaddrs(), WAN_PULL_PROTOCOL))
  duplex.on('error', () => {})
  const reset = new Promise<void>(resolve => { duplex.once('close', () => { resolve() }) })
  // paused mode and never read: the readable buffer fills, the stream pauses, yamux stops the server
  duplex.write(encodePullRequest(hashes))
  return { reset }
}

/** An honest store hub's stream through its own download limiter; resolves with the chunks it verified. */
async function honestPull (from: StoremeshNode, server: ServerNode, pieces: Server['pieces'], rateBytesPerSec: number): Promise<number> {
  const stream = await from.dialProtocol(server.getMultiaddrs(), WAN_PULL_PROTOCOL)
  let intact = 0
  const c = new PullClient(stream, {
    limiter: new Limiter({ rateBytesPerSec, name: 'honest' }),
    onChunk: async ch => { if (ch.bytes !== undefined && blake3Hex(ch.bytes) === ch.hash) intact++ }
  })
  c.request(pieces)
  c.end()
  await c.done
  return intact
}

t.test('streams that never read hold the budget only until the stall time; another store hub is served', async t => {
  const server = await startServer(t)
  const hostile = await Promise.all(Array.from({ length: HOSTILE_CLIENTS }, async () => await client(t)))
  const honest = await client(t)
  const honestId = honest.peerId.toString()
  const hostileIds = new Set(hostile.map(n => n.peerId.toString()))
  const hashes = server.pieces.map(p => p.hash)
  const stalled = await Promise.all(hostile.flatMap(n => Array.from({ length: STREAMS_PER_HOSTILE }, async () => await stalledStream(n, server.node, hashes))))

  // the stalled streams hold every byte of the budget and more of them wait for it
  await waitFor(() => { const s = server.budget.stats(); return s.inFlightBytes === BUDGET_BYTES && s.waiters > 0 }, 30_000, 'the budget held by streams that do not read')
  const heldWhenHonestCame = server.budget.stats().inFlightBytes
  const served = await honestPull(honest, server.node, server.pieces, Infinity)

  t.equal(heldWhenHonestCame, BUDGET_BYTES, 'the honest store hub came when the stalled ones held the whole budget')
  t.equal(served, CHUNKS, 'the honest store hub got every chunk, verified')
  const stalls = server.events.filter(e => e.startsWith('stalled '))
  t.ok(stalls.length >= 1, `${stalls.length} stalled streams reset`)
  t.ok(stalls.every(e => hostileIds.has(e.slice('stalled '.length))), 'only streams that never read were taken for stalled')
  const firstHonest = server.events.indexOf(`served ${honestId}`)
  t.ok(firstHonest > server.events.indexOf(stalls[0]!), 'the honest store hub was first served after a stalled stream gave its grants back')
  t.ok(server.events.filter(e => e.startsWith('served ') && hostileIds.has(e.slice('served '.length))).length === 0, 'no stalled stream finished an answer')
  t.equal(server.node.services.wanPull.stats().stalledAborts, stalls.length, 'stats count every reset')

  // every stalled stream is reset in turn (each took the budget once the one before gave it back), and nothing stays held
  await Promise.all(stalled.map(async s => { await s.reset }))
  await waitFor(() => server.budget.stats().inFlightBytes === 0, 30_000, 'the budget given back')
  t.equal(server.node.services.wanPull.stats().stalledAborts, HOSTILE_CLIENTS * STREAMS_PER_HOSTILE, 'each stream that never read was reset as stalled')
  t.equal(server.budget.stats().waiters, 0)
})

t.test('a slow honest reader is not taken for a stalled one', async t => {
  const server = await startServer(t)
  const slow = await client(t)
  // ~400 KiB per drain of the server's writable buffer at 1 MiB/s: well within the stall time, and the whole pull lasts several of them
  const served = await honestPull(slow, server.node, server.pieces.slice(0, 3), 1 * MiB)
  t.equal(served, 3, 'every chunk, verified')
  t.equal(server.node.services.wanPull.stats().stalledAborts, 0, 'never reset')
  t.ok(server.node.services.wanPull.stats().drainWaits > 0, `the server waited on the slow reader's drains ${server.node.services.wanPull.stats().drainWaits} times`)
  t.equal(server.budget.stats().inFlightBytes, 0)
})
