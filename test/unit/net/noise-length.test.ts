import t from 'tap'
import { once } from 'node:events'
import type { Stream } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import { createStoremeshNode } from '../../../src/net/node.js'
import { noiseLength } from '../../../src/net/noise-length.js'
import { generateSwarmKey } from '../../../src/net/swarm-key.js'
import { pattern } from '../../support/byte-patterns.js'

const PROTO = '/storemesh/test-noise-length/1.0.0'

t.test('noiseLength reads a big-endian uint16 from either buffer shape', async t => {
  t.equal(noiseLength(Uint8Array.of(0xff, 0xef, 7)), 65_519)
  t.equal(noiseLength(new Uint8ArrayList(Uint8Array.of(0x01), Uint8Array.of(0x02, 0x03))), 0x0102)
})

t.test('too few bytes: one shared RangeError, not a new one (with its stack) per read', async t => {
  const caught: unknown[] = []
  for (const short of [new Uint8Array(0), Uint8Array.of(1), new Uint8ArrayList()]) {
    try {
      noiseLength(short)
    } catch (err) {
      caught.push(err)
    }
  }
  t.equal(caught.length, 3)
  t.ok(caught.every(e => e instanceof RangeError), 'a RangeError, as the length-prefixed decoder expects')
  t.ok(caught.every(e => e === caught[0]), 'the same instance every time')
})

t.test('real nodes (pnet, Noise, yamux): bytes across Noise message boundaries arrive whole, in order', async t => {
  const key = generateSwarmKey()
  const a = await createStoremeshNode({ swarmKey: key })
  const b = await createStoremeshNode({ swarmKey: key })
  t.teardown(async () => { await Promise.all([a.stop(), b.stop()]) })
  const received = new Promise<Buffer>(resolve => {
    void b.handle(PROTO, (stream: Stream) => {
      const parts: Uint8Array[] = []
      stream.addEventListener('message', evt => { parts.push(evt.data.subarray()) })
      stream.addEventListener('remoteCloseWrite', () => { resolve(Buffer.concat(parts)) })
    })
  })
  const stream = await a.dialProtocol(b.getMultiaddrs(), PROTO)
  // sizes around one Noise message (65,519 bytes of plaintext), a 2-byte length split
  // across reads, and tiny frames between large ones
  const sizes = [1, 2, 65_519, 65_520, 3, 200_000, 9, 17, 131_038, 5]
  const sent = sizes.map((n, i) => pattern(n, i + 1))
  for (const buf of sent) {
    if (!stream.send(buf)) await once(stream as unknown as EventTarget, 'drain')
  }
  await stream.close()
  const got = await received
  t.equal(Buffer.compare(got, Buffer.concat(sent)), 0, `${got.length} bytes intact`)
})
