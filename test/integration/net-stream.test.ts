/**
 * The Node Duplex adapter over real libp2p nodes (TCP, pnet, noise, yamux) on
 * 127.0.0.1: back-pressure with a slow reader, and pnet's large-write fence.
 */
import t, { type Test } from 'tap'
import { once } from 'node:events'
import type { Stream } from '@libp2p/interface'
import { createStoremeshNode, type NodeInit } from '../../src/net/node.js'
import { generateSwarmKey } from '../../src/net/swarm-key.js'
import { toNodeDuplex, type StreamDuplex } from '../../src/net/stream.js'
import { sleep } from '../../src/interface/abort.js'

const MiB = 1024 * 1024
const PROTO = '/storemesh/test-bulk/1.0.0'
const swarmKey = generateSwarmKey()

async function node (t: Test, init: Partial<NodeInit> = {}): Promise<Awaited<ReturnType<typeof createStoremeshNode>>> {
  const n = await createStoremeshNode({ swarmKey, ...init })
  t.teardown(async () => { await n.stop() })
  return n
}

async function writeAll (d: StreamDuplex, total: number, chunkBytes: number): Promise<void> {
  const chunk = new Uint8Array(chunkBytes).fill(0x5a)
  for (let sent = 0; sent < total; sent += chunkBytes) {
    if (!d.write(chunk)) await once(d, 'drain')
  }
  d.end()
  await once(d, 'finish')
}


t.test('64 MiB to a slow reader: the receiver buffers a bounded amount', async t => {
  const server = await node(t)
  const client = await node(t)
  const TOTAL = 64 * MiB
  const STALL_EVERY_BYTES = 8 * MiB
  const STALL_MS = 150
  const incoming = new Promise<{ stream: Stream, duplex: StreamDuplex }>(resolve => {
    // a buffer smaller than one window makes a dispatch inside resume() overflow it:
    // the case where an undeferred pause() would be undone (STACK-NOTES)
    void server.handle(PROTO, (stream) => { resolve({ stream, duplex: toNodeDuplex(stream, { readableHighWaterMark: 64 * 1024 }) }) })
  })
  const out = toNodeDuplex(await client.dialProtocol(server.getMultiaddrs()[0]!, PROTO))
  out.on('error', err => { t.fail(`sender error ${String(err)}`) })
  const writing = writeAll(out, TOTAL, 64 * 1024)
  const { stream, duplex } = await incoming
  duplex.on('error', err => { t.fail(`receiver error ${String(err)}`) })

  const rssBefore = process.memoryUsage().rss
  let received = 0
  let nextStall = STALL_EVERY_BYTES
  let maxBuffered = 0
  let stalls = 0
  const buffered = (): number => duplex.readableLength + stream.readBufferLength
  let ended = false
  duplex.once('end', () => { ended = true })
  // paused mode: read() only when we choose to, stalling now and then, as a disk would
  while (!ended) {
    let chunk: Uint8Array | null
    while ((chunk = duplex.read() as Uint8Array | null) !== null) {
      received += chunk.byteLength
      if (received >= nextStall) break
    }
    if (received >= nextStall) {
      nextStall += STALL_EVERY_BYTES
      stalls++
      // the sender keeps writing while we stall; then one small read makes _read()
      // resume the stream while a window's worth waits in its buffer, so resume()
      // dispatches more than the Node buffer takes (the pause-inside-resume trap),
      // and we stall again: an undone pause would now buffer without bound
      await sleep(STALL_MS / 3)
      const one = duplex.read(1) as Uint8Array | null
      received += one?.byteLength ?? 0
      await sleep(STALL_MS)
      maxBuffered = Math.max(maxBuffered, buffered())
      continue
    }
    if (ended) break
    const ac = new AbortController()
    await Promise.race([once(duplex, 'readable', { signal: ac.signal }), once(duplex, 'end', { signal: ac.signal })])
    ac.abort()
    maxBuffered = Math.max(maxBuffered, buffered())
  }
  await writing
  duplex.end()
  await once(duplex, 'finish')
  const rssGrowth = process.memoryUsage().rss - rssBefore
  t.equal(received, TOTAL, 'every byte arrived')
  t.ok(stalls >= 7, `the reader stalled ${stalls} times`)
  // Node buffer (256 KiB) + at most one yamux window in flight (256 KiB) + one message
  t.ok(maxBuffered <= 2 * MiB, `receiver buffered at most ${(maxBuffered / MiB).toFixed(2)} MiB`)
  for (let i = 0; i < 100 && stream.status === 'open'; i++) await sleep(10)
  t.equal(stream.status, 'closed', 'the stream closed cleanly, no reset')
  t.comment(`rss growth during the transfer: ${(rssGrowth / MiB).toFixed(1)} MiB (printed, not asserted)`)
})

t.test('pnet survives large windows and many parallel streams (write fence)', async t => {
  // with yamux's 16 MiB default window, unfenced pnet 3.0.27 dies here with
  // RangeError: WebAssembly.Memory.grow() (reproduced while writing this test)
  const big = { maxStreamWindowBytes: 16 * MiB }
  const server = await node(t, big)
  const client = await node(t, big)
  const STREAMS = 8
  const PER = 8 * MiB
  let received = 0
  await server.handle(PROTO, (stream) => {
    const d = toNodeDuplex(stream)
    d.on('data', (c: Uint8Array) => { received += c.byteLength })
    d.on('end', () => { d.end() })
    d.on('error', () => {})
  })
  await Promise.all(Array.from({ length: STREAMS }, async () => {
    const d = toNodeDuplex(await client.dialProtocol(server.getMultiaddrs()[0]!, PROTO))
    d.resume()
    await writeAll(d, PER, 1 * MiB)
    await once(d, 'end')
  }))
  t.equal(received, STREAMS * PER, `${STREAMS} x ${PER / MiB} MiB arrived over one pnet connection`)
  t.equal(client.getConnections().length, 1, 'the connection survived')
})
