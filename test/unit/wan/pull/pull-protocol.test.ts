/**
 * Both sides of `/storemesh/wan-pull/1.0.0` over an in-memory stream pair: a real
 * PullServer and PullClient, or one of them against raw bytes a hostile peer sends.
 * Each failure must be the typed error of protocols/wan-pull/SPEC.md and reset the
 * stream; nothing may crash the process (tap fails a test on an uncaught exception).
 */
import t from 'tap'
import { streamPair } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import { blake3Hex } from '../../../../src/bundle/hash.js'
import { Limiter } from '../../../../src/wan/limiter.js'
import { PullClient, PullServer, WAN_PULL_PROTOCOL, type PulledChunk } from '../../../../src/wan/pull/index.js'

const keepAlive = setInterval(() => {}, 1_000)
t.teardown(() => { clearInterval(keepAlive) })

const open = (): Limiter => new Limiter({ rateBytesPerSec: Infinity })

function chunks (n: number, size: number): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>()
  for (let i = 0; i < n; i++) {
    const b = new Uint8Array(size).map((_, j) => (j * 13 + i * 5 + 1) & 0xff)
    out.set(blake3Hex(b), b)
  }
  return out
}

function server (data: Map<string, Uint8Array>, served: string[] = []): PullServer {
  return new PullServer({ registrar: { handle: async () => {}, unhandle: async () => {} } }, {
    source: { has: async h => data.has(h), get: async h => data.get(h) },
    limiterFor: () => open(),
    onServed: e => { served.push(e.hash) }
  })
}

/** Resolves with the error the stream closed with (undefined for a clean close). */
async function closed (stream: Stream): Promise<Error | undefined> {
  if (stream.status === 'closed' || stream.status === 'reset' || stream.status === 'aborted') return undefined
  return await new Promise(resolve => { stream.addEventListener('close', evt => { resolve(evt.error) }, { once: true }) })
}

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

t.test('pipelined requests are answered in order, a missing chunk as NOT_FOUND', async t => {
  const data = chunks(6, 40 * 1024)
  const served: string[] = []
  const [c, s] = await streamPair({ protocol: WAN_PULL_PROTOCOL })
  const serving = server(data, served).handleStream(s, 'peer-a')
  const got: PulledChunk[] = []
  let wireIn = 0
  let wireOut = 0
  const client = new PullClient(c, {
    limiter: open(),
    onChunk: async ch => { got.push(ch) },
    onWireBytes: (n, dir) => { if (dir === 'in') wireIn += n; else wireOut += n }
  })
  const pieces = [...data].map(([hash, b]) => ({ hash, size: b.byteLength }))
  const missing = { hash: 'f'.repeat(64), size: 1234 }
  client.request(pieces.slice(0, 3))
  client.request([missing, ...pieces.slice(3)])
  t.equal(client.outstanding, 7)
  client.end()
  await client.done
  await serving
  t.same(got.map(g => g.hash), [...pieces.slice(0, 3), missing, ...pieces.slice(3)].map(p => p.hash), 'in request order')
  t.equal(got[3]?.bytes, undefined, 'NOT_FOUND')
  t.ok(got.every(g => g.bytes === undefined || blake3Hex(g.bytes) === g.hash), 'intact')
  t.same(served, pieces.map(p => p.hash), 'each chunk served once, whole')
  // 6 answers of 40 KiB: prefix 3 + status 1 each; NOT_FOUND 2 bytes
  t.equal(wireIn, 6 * (40 * 1024 + 4) + 2, 'every byte in counted, framing included')
  t.ok(wireOut > 7 * 64, 'the requests counted')
  t.equal(client.outstanding, 0)
})

t.test('a malformed request resets the stream and the super hub carries on', async t => {
  const data = chunks(1, 1000)
  const srv = server(data)
  const [c, s] = await streamPair({ protocol: WAN_PULL_PROTOCOL })
  const serving = srv.handleStream(s, 'peer-b')
  const done = closed(c)
  c.send(new Uint8Array([3, 0x41, 0x42, 0x43]))
  await serving
  t.ok((await done) !== undefined, 'the store hub sees a reset')
  await sleep(50)
  // the same server still serves
  const [c2, s2] = await streamPair({ protocol: WAN_PULL_PROTOCOL })
  const serving2 = srv.handleStream(s2, 'peer-b')
  const got: PulledChunk[] = []
  const client = new PullClient(c2, { limiter: open(), onChunk: async ch => { got.push(ch) } })
  client.request([...data].map(([hash, b]) => ({ hash, size: b.byteLength })))
  client.end()
  await client.done
  await serving2
  t.equal(got.length, 1)
})

t.test('a request over the limit or with a non-minimal prefix resets the stream', async t => {
  for (const bytes of [[0x81, 0x40], [0x80, 0x00, 0x02, 0x7b, 0x7d]]) {
    const [c, s] = await streamPair({ protocol: WAN_PULL_PROTOCOL })
    const serving = server(new Map()).handleStream(s, 'peer-c')
    const done = closed(c)
    c.send(new Uint8Array(bytes))
    await serving
    t.ok((await done) !== undefined, JSON.stringify(bytes))
  }
})

t.test('a request cut by the store hub\'s end is dropped and the stream ended, as before', async t => {
  const [c, s] = await streamPair({ protocol: WAN_PULL_PROTOCOL })
  const serving = server(new Map()).handleStream(s, 'peer-d')
  const done = closed(c)
  c.send(new Uint8Array([79, 0x7b]))
  await c.close()
  await serving
  t.equal(await done, undefined, 'a clean close, no reset')
})

/** A client on one end; the test plays the super hub with raw bytes on the other. */
async function rawHub (size: number): Promise<{ client: PullClient, hub: Stream, limiter: Limiter }> {
  const [c, s] = await streamPair({ protocol: WAN_PULL_PROTOCOL })
  const limiter = open()
  const client = new PullClient(c, { limiter, onChunk: async () => {} })
  client.request([{ hash: 'a'.repeat(64), size }])
  return { client, hub: s, limiter }
}

t.test('answers a store hub must refuse', async t => {
  const cases: Array<[string, number[], string]> = [
    ['larger than asked, at its prefix', [0x05], 'E_WIRE_MESSAGE_TOO_LARGE'],
    ['non-minimal prefix', [0x80, 0x00], 'E_WIRE_MALFORMED'],
    ['OK of another size', [0x03, 0x00, 1, 2], 'E_WIRE_MALFORMED'],
    ['unknown status', [0x04, 0x09, 1, 2, 3], 'E_WIRE_MALFORMED'],
    ['an answer nobody asked for', [0x04, 0x00, 1, 2, 3, 0x01, 0x01], 'E_WIRE_MALFORMED']
  ]
  for (const [name, bytes, code] of cases) {
    const { client, hub } = await rawHub(3)
    const reset = closed(hub)
    hub.send(new Uint8Array(bytes))
    await t.rejects(client.done, { code }, name)
    t.ok((await reset) !== undefined, `${name}: the stream is reset`)
  }
})

t.test('an answer cut by the super hub\'s end is an early end (E_NOT_CONNECTED)', async t => {
  const { client, hub } = await rawHub(3)
  hub.send(new Uint8Array([0x04, 0x00, 1]))
  await hub.close()
  await t.rejects(client.done, { code: 'E_NOT_CONNECTED' })
})

t.test('abort() while our limiter holds the bytes gives its error and frees the limiter', async t => {
  const data = chunks(2, 32 * 1024)
  const [c, s] = await streamPair({ protocol: WAN_PULL_PROTOCOL })
  void server(data).handleStream(s, 'peer-e')
  const limiter = new Limiter({ rateBytesPerSec: 0, name: 'closed-window' })
  const client = new PullClient(c, { limiter, onChunk: async () => {} })
  client.request([...data].map(([hash, b]) => ({ hash, size: b.byteLength })))
  await sleep(200)
  t.equal(limiter.waiting, 1, 'a read waits in the limiter')
  const err = new Error('given up')
  client.abort(err)
  await t.rejects(client.done, { message: 'given up' })
  t.equal(limiter.waiting, 0, 'and left it')
})

t.test('the caller\'s signal stops a client waiting on the super hub (E_ABORTED)', async t => {
  const [c] = await streamPair({ protocol: WAN_PULL_PROTOCOL })
  const controller = new AbortController()
  const client = new PullClient(c, { limiter: open(), onChunk: async () => {}, signal: controller.signal })
  client.request([{ hash: 'a'.repeat(64), size: 10 }])
  controller.abort()
  await t.rejects(client.done, { code: 'E_ABORTED' })
})
