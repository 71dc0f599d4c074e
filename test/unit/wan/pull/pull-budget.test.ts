/**
 * The super hub's server-wide bound on chunk bytes in flight (src/wan/byte-budget.ts)
 * on the real PullServer: many store-hub clients, each on its own stream, ask for
 * chunks at once. The bytes the server holds (from the source's answer until the chunk
 * went out whole, counted from its own events, not from the budget) never pass the
 * bound, every chunk still arrives intact, and without the bound the same load does
 * pass it (so the check can fail).
 */
import t from 'tap'
import { streamPair } from '@libp2p/utils'
import { blake3Hex } from '../../../../src/bundle/hash.js'
import { Limiter } from '../../../../src/wan/limiter.js'
import { ByteBudget } from '../../../../src/wan/byte-budget.js'
import { PullClient, PullServer, WAN_PULL_PROTOCOL } from '../../../../src/wan/pull/index.js'
import type { ChunkSource } from '../../../../src/interface/types.js'

const keepAlive = setInterval(() => {}, 1_000)
t.teardown(() => { clearInterval(keepAlive) })

const KiB = 1024
const MiB = 1024 * KiB
const CLIENTS = 16
const CHUNKS = 4
const CHUNK_BYTES = 256 * KiB
const BOUND_BYTES = 1 * MiB
/** each store hub's own limit: answers take a while to go out, so many are in flight at once */
const PER_HUB_BYTES_PER_SEC = 8 * MiB

function chunks (n: number, size: number): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>()
  for (let i = 0; i < n; i++) {
    const b = new Uint8Array(size).map((_, j) => (j * 7 + i * 11 + 3) & 0xff)
    out.set(blake3Hex(b), b)
  }
  return out
}

interface Run { peakHeldBytes: number, delivered: number, intact: boolean }

/** CLIENTS streams, each asking for every chunk, each paced by its own limiter so the answers overlap. */
async function run (budget: ByteBudget | undefined, withSizes: boolean): Promise<Run> {
  const data = chunks(CHUNKS, CHUNK_BYTES)
  let held = 0
  let peakHeldBytes = 0
  const source: ChunkSource = {
    has: async h => data.has(h),
    get: async h => {
      await new Promise(resolve => setTimeout(resolve, 1))
      const b = data.get(h)
      // a copy per answer, as a store read or an origin fetch makes
      if (b === undefined) return undefined
      held += b.byteLength
      peakHeldBytes = Math.max(peakHeldBytes, held)
      return b.slice()
    },
    ...(withSizes ? { sizeOf: (h: string) => data.get(h)?.byteLength } : {})
  }
  const server = new PullServer({ registrar: { handle: async () => {}, unhandle: async () => {} } }, {
    source,
    limiterFor: () => new Limiter({ rateBytesPerSec: PER_HUB_BYTES_PER_SEC }),
    onServed: e => { held -= e.bytes },
    ...(budget !== undefined ? { budget } : {})
  })
  let delivered = 0
  let intact = true
  const pieces = [...data].map(([hash, b]) => ({ hash, size: b.byteLength }))
  await Promise.all(Array.from({ length: CLIENTS }, async (_, i) => {
    const [c, s] = await streamPair({ protocol: WAN_PULL_PROTOCOL })
    const serving = server.handleStream(s, `peer-${i}`)
    const client = new PullClient(c, {
      limiter: new Limiter({ rateBytesPerSec: Infinity }),
      onChunk: async ch => {
        delivered++
        if (ch.bytes === undefined || blake3Hex(ch.bytes) !== ch.hash) intact = false
      }
    })
    client.request(pieces)
    client.end()
    await client.done
    await serving
  }))
  return { peakHeldBytes, delivered, intact }
}

t.test('many concurrent requesters never hold more chunk bytes than the bound', async t => {
  const budget = new ByteBudget(BOUND_BYTES)
  const r = await run(budget, true)
  t.equal(r.delivered, CLIENTS * CHUNKS, 'every chunk answered')
  t.ok(r.intact, 'every chunk intact')
  t.ok(r.peakHeldBytes <= BOUND_BYTES, `held at most ${r.peakHeldBytes} bytes, bound ${BOUND_BYTES}`)
  const s = budget.stats()
  t.ok(s.peakBytes <= BOUND_BYTES, `the budget's own peak ${s.peakBytes}`)
  t.ok(s.waitedTotal > 0, 'the bound made answers wait')
  t.equal(s.inFlightBytes, 0, 'everything given back')
  t.equal(s.overshootBytes, 0, 'sizes known before the read: nothing past the bound')
})

t.test('a source that cannot tell sizes: the guessed grant still bounds the bytes and is re-sized', async t => {
  const budget = new ByteBudget(BOUND_BYTES)
  const r = await run(budget, false)
  t.equal(r.delivered, CLIENTS * CHUNKS)
  t.ok(r.intact)
  t.ok(r.peakHeldBytes <= BOUND_BYTES, `held at most ${r.peakHeldBytes} bytes`)
  t.equal(budget.stats().inFlightBytes, 0)
})

t.test('without the bound the same load holds more (the check above can fail)', async t => {
  const r = await run(undefined, true)
  t.equal(r.delivered, CLIENTS * CHUNKS)
  t.ok(r.peakHeldBytes > BOUND_BYTES, `held ${r.peakHeldBytes} bytes at once`)
})

t.test('one stream reads ahead of the answer it sends (up to readAhead), answers still in request order', async t => {
  const data = chunks(10, 32 * KiB)
  let reading = 0
  let mostAtOnce = 0
  const source: ChunkSource = {
    has: async h => data.has(h),
    get: async h => {
      reading++
      mostAtOnce = Math.max(mostAtOnce, reading)
      // a slow origin: the reads overlap only if the server starts them before the one it sends is done
      await new Promise(resolve => setTimeout(resolve, 20))
      reading--
      return data.get(h)
    },
    sizeOf: h => data.get(h)?.byteLength
  }
  const server = new PullServer({ registrar: { handle: async () => {}, unhandle: async () => {} } }, {
    source, limiterFor: () => new Limiter({ rateBytesPerSec: Infinity }), readAhead: 3, budget: new ByteBudget(BOUND_BYTES)
  })
  const [c, s] = await streamPair({ protocol: WAN_PULL_PROTOCOL })
  const serving = server.handleStream(s, 'peer-ahead')
  const got: string[] = []
  const client = new PullClient(c, { limiter: new Limiter({ rateBytesPerSec: Infinity }), onChunk: async ch => { got.push(ch.hash); if (ch.bytes === undefined || blake3Hex(ch.bytes) !== ch.hash) t.fail('corrupt') } })
  const pieces = [...data].map(([hash, b]) => ({ hash, size: b.byteLength }))
  client.request(pieces)
  client.end()
  await client.done
  await serving
  t.same(got, pieces.map(p => p.hash), 'in request order')
  t.equal(mostAtOnce, 3, 'three reads at once, never more')
})
