/**
 * The pull client's idle timeout over an in-memory stream pair with a real PullServer:
 * a server that stops sending is timed out; a client held by its OWN paused limiter
 * (a closed window) is not, however long it holds; and a server closing the stream
 * frees the limiter slot it waited in.
 */
import t from 'tap'
import { streamPair } from '@libp2p/utils'
import { blake3Hex } from '../../../../src/bundle/hash.js'
import { isStoremeshError } from '../../../../src/interface/errors.js'
import { Limiter } from '../../../../src/wan/limiter.js'
import { PullClient, PullServer, type PulledChunk } from '../../../../src/wan/pull/index.js'
import { WAN_PULL_PROTOCOL } from '../../../../src/wan/pull/constants.js'

const CHUNK = 32 * 1024

// the idle timer is unref'd (a node's sockets keep its process alive); in-memory streams
// hold nothing, so keep the event loop up while the tests wait
const keepAlive = setInterval(() => {}, 1_000)
t.teardown(() => { clearInterval(keepAlive) })

function chunks (n: number, seed: number): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>()
  for (let i = 0; i < n; i++) {
    const b = new Uint8Array(CHUNK).map((_, j) => (j * 31 + i * 7 + seed) & 0xff)
    out.set(blake3Hex(b), b)
  }
  return out
}

async function setup (serverLimiter: Limiter, clientLimiter: Limiter, idleTimeoutMs: number, n = 8): Promise<{ server: PullServer, client: PullClient, got: PulledChunk[], pieces: Array<{ hash: string, size: number }>, served: Promise<void> }> {
  const data = chunks(n, 3)
  const server = new PullServer({ registrar: { handle: async () => {}, unhandle: async () => {} } }, {
    source: { has: async h => data.has(h), get: async h => data.get(h) },
    limiterFor: () => serverLimiter
  })
  const [c, s] = await streamPair({ protocol: WAN_PULL_PROTOCOL })
  const served = server.handleStream(s, 'peer-test')
  const got: PulledChunk[] = []
  const client = new PullClient(c, { limiter: clientLimiter, idleTimeoutMs, onChunk: async ch => { got.push(ch) } })
  return { server, client, got, pieces: [...data].map(([hash, b]) => ({ hash, size: b.byteLength })), served }
}

t.test('a server that stops sending is timed out (E_TIMEOUT) and frees its limiter slot', async t => {
  const serverLimiter = new Limiter({ rateBytesPerSec: 0, name: 'stalled' })
  const { client, pieces, served } = await setup(serverLimiter, new Limiter({ rateBytesPerSec: Infinity }), 300)
  client.request(pieces)
  await t.rejects(client.done, { code: 'E_TIMEOUT' }, 'the client gives the stream up')
  await served
  t.equal(serverLimiter.waiting, 0, 'the server left the limiter queue when the stream closed')
})

t.test('a client held by its own paused limiter does not time the server out', async t => {
  const clientLimiter = new Limiter({ rateBytesPerSec: 0, name: 'closed-window' })
  const { client, got, pieces } = await setup(new Limiter({ rateBytesPerSec: Infinity }), clientLimiter, 200)
  client.request(pieces)
  let failed: unknown
  client.done.catch((err: unknown) => { failed = err })
  // the server sends everything it can; our window is closed for 5 idle timeouts
  await new Promise(resolve => setTimeout(resolve, 1_000))
  t.equal(failed, undefined, 'no timeout while our own limiter holds the bytes')
  t.equal(got.length, 0, 'nothing passed the closed window')
  clientLimiter.setRate(Infinity)
  client.end()
  await client.done
  t.equal(got.length, pieces.length, 'every chunk arrived once the window opened')
  t.ok(got.every(g => g.bytes !== undefined && blake3Hex(g.bytes) === g.hash), 'intact')
})

t.test('no outstanding request, no timeout', async t => {
  const { client } = await setup(new Limiter({ rateBytesPerSec: Infinity }), new Limiter({ rateBytesPerSec: Infinity }), 100)
  let failed: unknown
  client.done.catch((err: unknown) => { failed = err })
  await new Promise(resolve => setTimeout(resolve, 500))
  t.equal(failed, undefined, 'an idle stream with nothing asked stays open')
  client.end()
  await client.done
  t.ok(!isStoremeshError(failed))
})
