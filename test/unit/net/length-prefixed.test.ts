import t from 'tap'
import { streamPair } from '@libp2p/utils'
import * as lp from 'it-length-prefixed'
import * as varint from 'uint8-varint'
import { readBounded, writeMessage } from '../../../src/net/length-prefixed.js'
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
  for (let i = 0; i < 100 && Buffer.concat(frames).length < 22; i++) await new Promise(r => setTimeout(r, 5))
  t.equal(Buffer.concat(frames).toString('hex'), '15' + Buffer.from('{"deviceClass":"pos"}').toString('hex'))
})

t.test('prefixes are the unsigned-varint reference, on both sides', async t => {
  for (const n of [0, 1, 127, 128, 300, 16383, 16384]) {
    const [a, b] = await streamPair()
    const seen: Uint8Array[] = []
    b.addEventListener('message', evt => { seen.push(evt.data.subarray()) })
    await writeMessage(a, new Uint8Array(n).fill(7))
    const want = varint.encode(n)
    for (let i = 0; i < 100 && Buffer.concat(seen).length < want.length + n; i++) await new Promise(r => setTimeout(r, 5))
    t.same(Buffer.concat(seen).subarray(0, want.length), Buffer.from(want), String(n))
  }
  const [c, d] = await streamPair()
  c.send(varint.encode(300))
  c.send(new Uint8Array(300).fill(1))
  t.equal((await readBounded(d, { maxBytes: 300 })).length, 300, 'a reference prefix of two bytes reads back')
})

t.test('a length over maxBytes fails before the body and aborts the stream', async t => {
  const [a, b] = await streamPair()
  a.send(varint.encode(1_000_000))
  await t.rejects(readBounded(b, { maxBytes: 1000 }), { code: 'E_WIRE_MESSAGE_TOO_LARGE' })
  t.equal(b.status, 'aborted')
})

t.test('a varint that never ends is refused after the bytes maxBytes needs', async t => {
  const [a, b] = await streamPair()
  a.send(new Uint8Array(64).fill(0x80))
  await t.rejects(readBounded(b, { maxBytes: 4 * 1024 * 1024 }), { code: 'E_WIRE_MESSAGE_TOO_LARGE' })
  t.equal(b.status, 'aborted')
})

t.test('a non-minimal varint is refused (the guard it-length-prefixed lacks)', async t => {
  // why the guard exists: the library reads 85 00 as 5, consumes one byte, and the 00
  // becomes the first body byte; the framing slips without an error
  const slipped: Uint8Array[] = []
  for await (const m of lp.decode([Uint8Array.of(0x85, 0x00, 1, 2, 3, 4)])) slipped.push(m.subarray())
  t.same(slipped.map(m => [...m]), [[0, 1, 2, 3, 4]], 'it-length-prefixed alone misreads a non-minimal prefix')
  const [c, d] = await streamPair()
  c.send(Uint8Array.of(0x85, 0x00, 1, 2, 3, 4, 5))
  await t.rejects(readBounded(d, { maxBytes: 1000 }), { code: 'E_WIRE_MALFORMED' })
  t.equal(d.status, 'aborted')
})

t.test('a stream that ends mid-message, or before one, is malformed', async t => {
  const [a, b] = await streamPair()
  a.send(varint.encode(100))
  a.send(new Uint8Array(10))
  await a.close()
  await t.rejects(readBounded(b, { maxBytes: 1000 }), { code: 'E_WIRE_MALFORMED' })
  const [c, d] = await streamPair()
  await c.close()
  await t.rejects(readBounded(d, { maxBytes: 1000 }), { code: 'E_WIRE_MALFORMED' })
})

t.test('a message and the close behind it read cleanly', async t => {
  const [a, b] = await streamPair()
  await writeMessage(a, new TextEncoder().encode('last'))
  await a.close()
  t.equal(new TextDecoder().decode(await readBounded(b, { maxBytes: 10 })), 'last')
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

t.test('a write over its limit sends nothing', async t => {
  const [a, b] = await streamPair()
  const seen: Uint8Array[] = []
  b.addEventListener('message', evt => { seen.push(evt.data.subarray()) })
  await t.rejects(writeMessage(a, new Uint8Array(11), { maxBytes: 10 }), { code: 'E_WIRE_MESSAGE_TOO_LARGE' })
  await new Promise(r => setTimeout(r, 20))
  t.equal(seen.length, 0)
})

t.test('a write waits for drain when send() says so, and delivers every byte', async t => {
  const [a, b] = await streamPair({ capacity: 1 })
  const sent: boolean[] = []
  const send = a.send.bind(a)
  a.send = (data) => { const ok = send(data); sent.push(ok); return ok }
  const body = new Uint8Array(256 * 1024).map((_, i) => i % 251)
  const reading = readBounded(b, { maxBytes: body.length })
  await writeMessage(a, body)
  await writeMessage(a, Uint8Array.of(9))
  t.ok(sent.includes(false), 'send() asked the writer to wait at least once')
  t.same(Buffer.from(await reading), Buffer.from(body))
  t.same([...await readBounded(b, { maxBytes: 1 })], [9], 'the next write went out after the drain')
})
