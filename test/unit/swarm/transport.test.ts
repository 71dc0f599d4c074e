import t from 'tap'
import { EventEmitter } from 'node:events'
import { WireTransport, cutParts, type ByteDuplex } from '../../../src/swarm/transport.js'

/** Records every write; never asks for a drain. */
function recorder (): ByteDuplex & { writes: Uint8Array[] } {
  const e = new EventEmitter()
  const writes: Uint8Array[] = []
  return Object.assign(e, {
    writes,
    write (chunk: Uint8Array): boolean { writes.push(chunk); return true },
    end (): void {},
    destroy (): void {}
  }) as unknown as ByteDuplex & { writes: Uint8Array[] }
}

const KiB = 1024

t.test('a piece header and its whole chunk go out as one write, not a chunk and a lone header tail', async t => {
  const d = recorder()
  const tr = new WireTransport(d, 256 * KiB, { onData: () => {}, onClose: () => {} })
  tr.write(new Uint8Array(13))
  tr.write(new Uint8Array(256 * KiB))
  t.equal(d.writes.length, 1, 'one write')
  t.equal(d.writes[0]?.length, 256 * KiB + 13)
  tr.close()
})

t.test('large flushes are still cut at maxWriteBytes, with a short tail merged into the last part', async t => {
  const d = recorder()
  const tr = new WireTransport(d, 256 * KiB, { onData: () => {}, onClose: () => {} })
  tr.write(new Uint8Array(13))
  tr.write(new Uint8Array(1024 * KiB))
  t.same(d.writes.map(w => w.length), [256 * KiB, 256 * KiB, 256 * KiB, 256 * KiB + 13])
  const total = d.writes.reduce((n, w) => n + w.length, 0)
  t.equal(total, 1024 * KiB + 13, 'every byte once')
  d.writes.length = 0
  tr.write(new Uint8Array(256 * KiB + 100 * KiB))
  t.same(d.writes.map(w => w.length), [256 * KiB, 100 * KiB], 'a tail of a quarter or more stays its own write')
  tr.close()
})

t.test('cutParts slices queued buffers into writes of at most maxBytes, never copying, a short tail riding along', async t => {
  const header = new Uint8Array(13).fill(1)
  const chunk = new Uint8Array(256 * 1024).fill(2)
  const whole = cutParts([header, chunk], 13 + chunk.length, 256 * 1024)
  t.equal(whole.length, 1, 'a 13-byte header and a 256 KiB chunk: one write (the tail rides along)')
  t.equal(whole[0]?.[0], header, 'the header is the same buffer')
  t.equal(whole[0]?.[1], chunk, 'the chunk is the same buffer')
  const big = new Uint8Array(1000).map((_, i) => i & 0xff)
  const parts = cutParts([header, big], 1013, 500)
  t.same(parts.map(p => p.reduce((n, b) => n + b.length, 0)), [500, 513], 'cut at 500, the 13-byte tail merged into the last part')
  t.ok(parts.flat().every(b => b.buffer === header.buffer || b.buffer === big.buffer), 'slices of the queued buffers')
  t.same(Buffer.concat(parts.flat()), Buffer.concat([header, big]), 'bytes in order')
})
