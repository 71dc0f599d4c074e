import t from 'tap'
import type { Stream } from '@libp2p/interface'
import { once } from 'node:events'
import '../../../src/polyfill.js'
import { toByteDuplex, type LibP2PByteDuplex } from '../../../src/net/byte-stream.js'
import { DEFAULT_BULK_STREAM_WINDOW_BYTES } from '../../../src/net/constants.js'
import { createStoremeshNode } from '../../../src/net/node.js'
import { generateSwarmKey } from '../../../src/net/swarm-key.js'
import { widenYamuxWindow } from '../../../src/net/yamux-window.js'
import { collectData, pattern } from '../../support/byte-patterns.js'

const PROTO = '/storemesh/test-window/1.0.0'
/** js-yamux's FrameType.WindowUpdate */
const WINDOW_UPDATE = 1
const PIECES = 12
const SMALL_WRITES = 64

interface Run { received: Buffer, sent: Buffer, updates: number, widened: [boolean, boolean] }

/**
 * Real nodes on 127.0.0.1 (pnet, Noise, yamux). The dialer sends chunk-sized pieces
 * (13-byte header + 300,000 bytes, one writev each, honouring drain), then small
 * 9-byte writes one tick apart (each its own frame, as a wire's haves are). The
 * listener's window updates are counted at its yamux stream's sendFrame.
 */
async function run (windowBytes?: number): Promise<Run> {
  const key = generateSwarmKey()
  const server = await createStoremeshNode({ swarmKey: key })
  const client = await createStoremeshNode({ swarmKey: key })
  try {
    const opts = windowBytes === undefined ? {} : { windowBytes }
    let updates = 0
    const accepted = new Promise<{ d: LibP2PByteDuplex, got: Promise<Buffer> }>(resolve => {
      void server.handle(PROTO, (stream: Stream) => {
        const s = stream as unknown as { sendFrame: (header: { type: number }, data?: unknown) => boolean }
        const sendFrame = s.sendFrame
        s.sendFrame = (header, data) => {
          if (header.type === WINDOW_UPDATE) updates++
          return sendFrame(header, data)
        }
        const d = toByteDuplex(stream, opts)
        resolve({ d, got: collectData(d) })
      })
    })
    const out = toByteDuplex(await client.dialProtocol(server.getMultiaddrs()[0]!, PROTO), opts)
    const { d: inbound, got } = await accepted
    const parts: Uint8Array[] = []
    for (let i = 0; i < PIECES; i++) {
      const piece = [pattern(13, i), pattern(300_000, i + 100)]
      parts.push(...piece)
      if (!out.writev(piece)) await once(out, 'drain')
    }
    for (let i = 0; i < SMALL_WRITES; i++) {
      const small = pattern(9, i + 200)
      parts.push(small)
      out.write(small)
      await new Promise(resolve => setImmediate(resolve))
    }
    out.end()
    const received = await got
    return { received, sent: Buffer.concat(parts), updates, widened: [out.widened, inbound.widened] }
  } finally {
    await client.stop()
    await server.stop()
  }
}

t.test('a widened window: bytes intact, one update per half window, not one per frame', async t => {
  const r = await run()
  t.same(r.widened, [true, true], 'both ends of a js-yamux stream are widened (its fields are where yamux-window.ts expects them)')
  t.equal(Buffer.compare(r.received, r.sent), 0, 'every byte arrives, in order')
  // one update that widens, then one per half window received
  const bound = 1 + Math.ceil(r.sent.length / (DEFAULT_BULK_STREAM_WINDOW_BYTES / 2))
  t.ok(r.updates <= bound, `${r.updates} window updates for ${r.sent.length} bytes (at most ${bound})`)
  t.ok(r.updates < SMALL_WRITES, 'the small frames drew no update each')
})

t.test('yamux\'s own window (windowBytes 0): an update for every frame, as before', async t => {
  const r = await run(0)
  t.same(r.widened, [false, false], 'left as it is')
  t.equal(Buffer.compare(r.received, r.sent), 0, 'every byte arrives, in order')
  t.ok(r.updates >= SMALL_WRITES + PIECES, `${r.updates} window updates: at least one per small frame and per piece`)
})

t.test('a stream that is not an established js-yamux stream is left alone; a bad size is refused', async t => {
  t.equal(widenYamuxWindow({}, 1024), false, 'no yamux fields')
  t.equal(widenYamuxWindow(null, 1024), false, 'not an object')
  const initial = { state: 1, recvWindow: 1, recvWindowCapacity: 1, maxStreamWindowSize: 1, sendWindowUpdate: () => { throw new Error('must not be called') } }
  t.equal(widenYamuxWindow(initial, 1024), false, 'a stream before SYN/ACK is not touched')
  t.equal(initial.recvWindow, 1)
  t.throws(() => widenYamuxWindow({}, 0), { code: 'E_INVALID_ARGUMENT' })
  t.throws(() => widenYamuxWindow({}, 2 ** 32), { code: 'E_INVALID_ARGUMENT' })
})
