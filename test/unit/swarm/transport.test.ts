import t from 'tap'
import { EventEmitter } from 'node:events'
import { WireTransport, type ByteDuplex } from '../../../src/swarm/transport.js'

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
