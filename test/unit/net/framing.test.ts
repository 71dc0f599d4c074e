import t from 'tap'
import { streamPair } from '@libp2p/utils'
import * as varint from 'uint8-varint'
import { encodeVarint, readBounded, writeMessage } from '../../../src/net/framing.js'
import { encodeManifestRequest } from '../../../src/net/manifest/index.js'

t.test('messages round-trip and leave following bytes on the stream', async t => {
  const [a, b] = await streamPair()
  await writeMessage(a, new TextEncoder().encode('one'))
  await writeMessage(a, new Uint8Array(0))
  await writeMessage(a, new TextEncoder().encode('three'))
  t.equal(new TextDecoder().decode(await readBounded(b, { maxBytes: 10 })), 'one')
  t.equal((await readBounded(b, { maxBytes: 10 })).length, 0, 'empty message')
  t.equal(new TextDecoder().decode(await readBounded(b, { maxBytes: 10 })), 'three')
})

t.test('the SPEC test vector: a manifest request frame', async t => {
  const [a, b] = await streamPair()
  const frames: Uint8Array[] = []
  b.addEventListener('message', evt => { frames.push(evt.data.subarray()) })
  await writeMessage(a, encodeManifestRequest({ deviceClass: 'pos' }))
  for (let i = 0; i < 100 && frames.length === 0; i++) await new Promise(r => setTimeout(r, 5))
  t.equal(Buffer.concat(frames).toString('hex'), '15' + Buffer.from('{"deviceClass":"pos"}').toString('hex'))
})

t.test('a length over maxBytes fails before the body and aborts the stream', async t => {
  const [a, b] = await streamPair()
  a.send(varint.encode(1_000_000))
  await t.rejects(readBounded(b, { maxBytes: 1000 }), { code: 'E_WIRE_MESSAGE_TOO_LARGE' })
  t.equal(b.status, 'aborted')
})

t.test('a varint that never ends is refused after the bytes maxBytes needs', async t => {
  // lpStream would keep reading this one forever
  const [a, b] = await streamPair()
  a.send(new Uint8Array(64).fill(0x80))
  await t.rejects(readBounded(b, { maxBytes: 4 * 1024 * 1024 }), { code: 'E_WIRE_MESSAGE_TOO_LARGE' })
  const [c, d] = await streamPair()
  c.send(new Uint8Array([0x85, 0x00])) // 5, not minimally encoded
  await t.rejects(readBounded(d, { maxBytes: 1000 }), { code: 'E_WIRE_MALFORMED' })
})

t.test('encodeVarint matches the unsigned-varint reference', async t => {
  for (const n of [0, 1, 127, 128, 300, 16383, 16384, 4 * 1024 * 1024 + 1, 2 ** 40]) {
    t.same(Buffer.from(encodeVarint(n)), Buffer.from(varint.encode(n)), String(n))
  }
})

t.test('a stream that ends mid-message is malformed', async t => {
  const [a, b] = await streamPair()
  a.send(varint.encode(100))
  a.send(new Uint8Array(10))
  await a.close()
  await t.rejects(readBounded(b, { maxBytes: 1000 }), { code: 'E_WIRE_MALFORMED' })
})

t.test('deadlines and aborts are typed', async t => {
  const keepAlive = setInterval(() => {}, 1000) // the timeout timers are unref'd
  t.teardown(() => { clearInterval(keepAlive) })
  const [, b] = await streamPair()
  await t.rejects(readBounded(b, { maxBytes: 10, timeoutMs: 50 }), { code: 'E_TIMEOUT' })
  const [, d] = await streamPair()
  const ac = new AbortController()
  setTimeout(() => { ac.abort() }, 20)
  await t.rejects(readBounded(d, { maxBytes: 10, signal: ac.signal }), { code: 'E_ABORTED' })
  const [, e] = await streamPair()
  await t.rejects(readBounded(e, { maxBytes: 10, signal: AbortSignal.timeout(30) }), { code: 'E_TIMEOUT' }, 'a caller timeout signal')
  await t.rejects(readBounded(e, { maxBytes: -1 }), { code: 'E_INVALID_ARGUMENT' })
})
