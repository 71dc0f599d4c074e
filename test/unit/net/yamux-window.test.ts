import t from 'tap'
import type { Stream } from '@libp2p/interface'
import { once } from 'node:events'
import { toByteDuplex, type LibP2PByteDuplex } from '../../../src/net/byte-stream.js'
import { DEFAULT_MAX_STREAM_WINDOW_BYTES } from '../../../src/net/constants.js'
import { createStoremeshNode } from '../../../src/net/node.js'
import { generateSwarmKey } from '../../../src/net/swarm-key.js'
import { quietWindowUpdates } from '../../../src/net/yamux-window.js'
import { collectData, pattern } from '../../support/byte-patterns.js'

const PROTO = '/storemesh/test-window/1.0.0'
/** js-yamux's FrameType.WindowUpdate */
const WINDOW_UPDATE = 1
const PIECES = 12
const SMALL_WRITES = 64

interface Run { received: Buffer, sent: Buffer, updates: number, quiet: [boolean, boolean], blockedWhilePaused: boolean }

/**
 * Real nodes on 127.0.0.1 (pnet, Noise, yamux). The dialer sends chunk-sized pieces
 * (13-byte header + 300,000 bytes, one writev each, honouring drain), then small
 * 9-byte writes one tick apart (each its own frame, as a wire's haves are), then more
 * pieces while the listener is paused until the dialer must wait, then the listener
 * resumes. The listener's window updates are counted at its yamux stream's sendFrame.
 */
async function run (quiet: boolean): Promise<Run> {
  const key = generateSwarmKey()
  const server = await createStoremeshNode({ swarmKey: key })
  const client = await createStoremeshNode({ swarmKey: key })
  try {
    let updates = 0
    const wrap = (stream: Stream): LibP2PByteDuplex => {
      const s = stream as unknown as { sendWindowUpdate: () => void }
      const own = s.sendWindowUpdate
      const d = toByteDuplex(stream)
      // the old behaviour: yamux's own rule on this stream
      if (!quiet) s.sendWindowUpdate = own
      return d
    }
    const accepted = new Promise<{ d: LibP2PByteDuplex, got: Promise<Buffer> }>(resolve => {
      void server.handle(PROTO, (stream: Stream) => {
        const s = stream as unknown as { sendFrame: (header: { type: number }, data?: unknown) => boolean }
        const sendFrame = s.sendFrame
        s.sendFrame = (header, data) => {
          if (header.type === WINDOW_UPDATE) updates++
          return sendFrame(header, data)
        }
        const d = wrap(stream)
        resolve({ d, got: collectData(d) })
      })
    })
    const out = wrap(await client.dialProtocol(server.getMultiaddrs()[0]!, PROTO))
    const { d: inbound, got } = await accepted
    const parts: Uint8Array[] = []
    const sendPiece = async (i: number): Promise<boolean> => {
      const piece = [pattern(13, i), pattern(300_000, i + 100)]
      parts.push(...piece)
      if (out.writev(piece)) return false
      await once(out, 'drain')
      return true
    }
    for (let i = 0; i < PIECES; i++) await sendPiece(i)
    for (let i = 0; i < SMALL_WRITES; i++) {
      const small = pattern(9, i + 200)
      parts.push(small)
      out.write(small)
      await new Promise(resolve => setImmediate(resolve))
    }
    // a paused reader: the dialer fills the window and must wait; resume lets it on
    inbound.pause()
    let blockedWhilePaused = false
    const more = (async () => {
      for (let i = 0; i < 4; i++) {
        const piece = [pattern(13, i + 300), pattern(300_000, i + 400)]
        parts.push(...piece)
        if (!out.writev(piece)) {
          blockedWhilePaused = true
          await once(out, 'drain')
        }
      }
    })()
    await new Promise(resolve => setTimeout(resolve, 200))
    inbound.resume()
    await more
    out.end()
    const received = await got
    return { received, sent: Buffer.concat(parts), updates, quiet: [out.quietUpdates, inbound.quietUpdates], blockedWhilePaused }
  } finally {
    await client.stop()
    await server.stop()
  }
}

t.test('updates once half the window is used: bytes intact, a paused reader resumes, no update per small frame', async t => {
  const r = await run(true)
  t.same(r.quiet, [true, true], 'both ends of a js-yamux stream (its fields are where yamux-window.ts expects them)')
  t.equal(Buffer.compare(r.received, r.sent), 0, 'every byte arrives, in order, after the pause too')
  t.ok(r.blockedWhilePaused, 'the dialer had to wait while the listener was paused')
  // each update gives back at least half a window
  const bound = 1 + Math.ceil(r.sent.length / (DEFAULT_MAX_STREAM_WINDOW_BYTES / 2))
  t.ok(r.updates <= bound, `${r.updates} window updates for ${r.sent.length} bytes (at most ${bound})`)
  t.ok(r.updates < SMALL_WRITES, 'the small frames drew no update each')
})

t.test('yamux\'s own rule (the old behaviour): an update for every frame', async t => {
  const r = await run(false)
  t.equal(Buffer.compare(r.received, r.sent), 0, 'every byte arrives, in order')
  t.ok(r.updates >= SMALL_WRITES + PIECES, `${r.updates} window updates: at least one per small frame and per piece`)
})

t.test('a stream that is not a js-yamux stream is left alone', async t => {
  t.equal(quietWindowUpdates({}), false, 'no yamux fields')
  t.equal(quietWindowUpdates(null), false, 'not an object')
  const initial = { state: 1, recvWindow: 262_144, recvWindowCapacity: 262_000, sendWindowUpdate: () => { calls++ } }
  let calls = 0
  t.equal(quietWindowUpdates(initial), true)
  initial.sendWindowUpdate()
  t.equal(calls, 1, 'before SYN/ACK (state 1) every update goes out: it carries the flags')
  initial.state = 3
  initial.sendWindowUpdate()
  t.equal(calls, 1, 'established, more than half the window left: none')
  initial.recvWindowCapacity = 131_072
  initial.sendWindowUpdate()
  t.equal(calls, 2, 'at half: the update goes out')
})
