import t from 'tap'
import { streamPair } from '@libp2p/utils'
import { once } from 'node:events'
import { toNodeDuplex, WriteBatcher } from '../../../src/net/stream.js'
import { collectData, pattern } from '../../support/byte-patterns.js'

t.test('bytes cross both ways and EOF ends the readable side', async t => {
  const [a, b] = await streamPair()
  const da = toNodeDuplex(a)
  const db = toNodeDuplex(b)
  const payload = pattern(300_000)
  const got = collectData(db)
  da.end(payload)
  t.same(Buffer.compare(await got, Buffer.from(payload)), 0, 'a -> b intact')
  const back = collectData(da)
  db.end(Buffer.from('pong'))
  t.equal((await back).toString(), 'pong', 'b -> a after a half-closed')
})

t.test('small writes of one tick are coalesced into one send()', async t => {
  const [a, b] = await streamPair()
  const da = toNodeDuplex(a)
  const db = toNodeDuplex(b)
  const got = collectData(db)
  for (let i = 0; i < 1000; i++) da.write(new Uint8Array(17).fill(i & 0xff))
  da.end()
  const all = await got
  t.equal(all.length, 17_000, 'every byte arrives, in order')
  t.equal(all[17 * 999], 999 & 0xff)
  t.ok(da.batcher.sends <= 2, `1000 writes of 17 B went out in ${da.batcher.sends} send() calls`)
})

t.test('batchBytes 0 sends every write at once', async t => {
  const [a, b] = await streamPair()
  const da = toNodeDuplex(a, { batchBytes: 0 })
  const got = collectData(toNodeDuplex(b))
  for (let i = 0; i < 10; i++) da.write(new Uint8Array(5))
  da.end()
  t.equal((await got).length, 50)
  t.equal(da.batcher.sends, 10)
})

t.test('a remote abort destroys the duplex with the error', async t => {
  const [a, b] = await streamPair()
  const da = toNodeDuplex(a)
  da.resume()
  const err = once(da, 'error')
  b.abort(new Error('boom'))
  const [e] = await err as [Error]
  t.ok(e instanceof Error, `error event: ${e.name}`)
  t.ok(da.destroyed)
})

t.test('destroy() aborts the libp2p stream and the remote sees a reset', async t => {
  const [a, b] = await streamPair()
  const da = toNodeDuplex(a)
  const db = toNodeDuplex(b)
  db.resume()
  const remoteErr = once(db, 'error')
  const localErr = once(da, 'error')
  da.destroy(new Error('local failure'))
  t.match((await localErr)[0], { message: 'local failure' }, 'the local error is emitted')
  await remoteErr
  t.equal(a.status, 'aborted')
  t.ok(db.destroyed)
})

t.test('a paused reader pauses the libp2p stream and resumes it', async t => {
  const [a, b] = await streamPair()
  const da = toNodeDuplex(a)
  const db = toNodeDuplex(b, { readableHighWaterMark: 16 * 1024 })
  const total = 2 * 1024 * 1024
  const writer = (async () => {
    const chunk = new Uint8Array(64 * 1024)
    for (let sent = 0; sent < total; sent += chunk.byteLength) {
      if (!da.write(chunk)) await once(da, 'drain')
    }
    da.end()
  })()
  // nobody reads: the stream must get paused
  for (let i = 0; i < 200 && b.readStatus !== 'paused'; i++) await new Promise(r => setTimeout(r, 5))
  t.equal(b.readStatus, 'paused', 'libp2p stream paused while the Node side is full')
  const got = await collectData(db)
  await writer
  t.equal(got.length, total, 'everything arrives once the reader reads')
})

t.test('WriteBatcher: write() returns false while draining and writable() waits', async t => {
  const [a, b] = await streamPair({ capacity: 1 })
  const batcher = new WriteBatcher(a, { batchBytes: 1 })
  let sawFalse = false
  let received = 0
  b.addEventListener('message', evt => { received += evt.data.byteLength })
  for (let i = 0; i < 50; i++) {
    if (!batcher.write(new Uint8Array(1000))) {
      sawFalse = true
      await batcher.writable()
    }
  }
  await batcher.drain()
  await a.close()
  for (let i = 0; i < 200 && received < 50_000; i++) await new Promise(r => setTimeout(r, 5))
  t.ok(sawFalse, 'back-pressure reached the writer')
  t.equal(received, 50_000)
  batcher.dispose()
})

t.test('WriteBatcher: writes after close throw; waiters reject on close', async t => {
  const [a] = await streamPair({ capacity: 1 })
  const batcher = new WriteBatcher(a, { batchBytes: 1 })
  while (batcher.write(new Uint8Array(1000))) { /* fill until it asks for a drain */ }
  const waiting = batcher.writable()
  a.abort(new Error('gone'))
  await t.rejects(waiting, /gone/)
  t.throws(() => batcher.write(new Uint8Array(1)), /gone/)
})

t.test('WriteBatcher: an aborted signal rejects writable() with E_ABORTED', async t => {
  const [a] = await streamPair({ capacity: 1 })
  const batcher = new WriteBatcher(a, { batchBytes: 1 })
  while (batcher.write(new Uint8Array(1000))) { /* fill */ }
  const ac = new AbortController()
  const waiting = batcher.writable({ signal: ac.signal })
  ac.abort()
  await t.rejects(waiting, { code: 'E_ABORTED' })
  batcher.dispose()
})
