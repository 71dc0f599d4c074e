import t from 'tap'
import { streamPair } from '@libp2p/utils'
import { once } from 'node:events'
import { toByteDuplex } from '../../../src/net/byte-stream.js'
import { collectData, pattern } from '../../support/byte-patterns.js'

t.test('bytes cross both ways; writev sends its parts as one send() in order; EOF ends the reader', async t => {
  const [a, b] = await streamPair()
  const da = toByteDuplex(a)
  const db = toByteDuplex(b)
  const head = pattern(13, 1)
  const body = pattern(300_000, 2)
  const got = collectData(db)
  da.writev([head, body])
  t.equal(da.sends, 1, 'one send() for header and chunk')
  da.end()
  t.same(Buffer.compare(await got, Buffer.concat([head, body])), 0, 'a -> b intact and in order')
  const back = collectData(da)
  db.write(new TextEncoder().encode('pong'))
  db.end()
  t.equal((await back).toString(), 'pong', 'b -> a after a half-closed')
})

t.test('pause() holds later data; resume() replays it after what the caller handed on first, then end', async t => {
  const [a, b] = await streamPair()
  const da = toByteDuplex(a)
  const db = toByteDuplex(b)
  const seen: string[] = []
  const first = (c: Uint8Array): void => {
    seen.push(`reader1:${Buffer.from(c).toString()}`)
    db.pause()
  }
  db.on('data', first)
  da.write(new TextEncoder().encode('hs'))
  await once(db, 'data')
  db.off('data', first)
  da.write(new TextEncoder().encode('x1'))
  da.write(new TextEncoder().encode('x2'))
  da.end()
  // the paused side receives the rest and the end meanwhile
  await new Promise(r => setTimeout(r, 50))
  t.same(seen, ['reader1:hs'], 'nothing delivered while paused')
  t.notOk(db.readableEnded, 'no end while data are held')
  const ended = once(db, 'end')
  db.on('data', (c: Uint8Array) => { seen.push(`reader2:${Buffer.from(c).toString()}`) })
  db.resume()
  // the next reader's own prefix goes first, as with a Node stream (PeerWire's handshake prefix)
  seen.push('prefix')
  await ended
  t.equal(seen[1], 'prefix', 'the caller\'s prefix first')
  t.equal(seen.slice(2).map(s => s.replace('reader2:', '')).join(''), 'x1x2', 'held data in order, then end')
})

t.test('write() returns false under back-pressure and drain follows', async t => {
  const [a, b] = await streamPair({ outbound: { maxMessageSize: 1024 } } as never)
  const da = toByteDuplex(a)
  const db = toByteDuplex(b)
  const got = collectData(db)
  const total = 4 * 1024 * 1024
  let sawFalse = false
  let drains = 0
  da.on('drain', () => { drains++ })
  const chunk = new Uint8Array(256 * 1024)
  for (let sent = 0; sent < total; sent += chunk.byteLength) {
    if (!da.write(chunk)) {
      sawFalse = true
      await once(da, 'drain')
    }
  }
  da.end()
  t.equal((await got).length, total, 'everything arrives')
  t.ok(!sawFalse || drains > 0, `send() asked to wait ${sawFalse ? 'and drain came' : 'never (in-memory pair kept up)'}`)
})

t.test('a remote abort destroys the duplex with error then close', async t => {
  const [a, b] = await streamPair()
  const da = toByteDuplex(a)
  da.resume()
  const events: string[] = []
  da.on('error', () => { events.push('error') })
  // not events.once: it rejects on the 'error' that comes first
  const closed = new Promise<void>(resolve => { da.on('close', () => { events.push('close'); resolve() }) })
  b.abort(new Error('boom'))
  await closed
  t.same(events, ['error', 'close'])
  t.ok(da.destroyed)
  t.equal(da.write(new Uint8Array(3)), true, 'a write after destroy is dropped, not thrown')
})

t.test('destroy() aborts the libp2p stream and the remote sees a reset', async t => {
  const [a, b] = await streamPair()
  const da = toByteDuplex(a)
  const db = toByteDuplex(b)
  db.resume()
  const remoteErr = once(db, 'error')
  da.on('error', () => {})
  da.destroy(new Error('local failure'))
  await remoteErr
  t.equal(a.status, 'aborted')
  t.ok(db.destroyed)
})
