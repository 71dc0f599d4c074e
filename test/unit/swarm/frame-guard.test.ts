import t from 'tap'
import { Bits } from '../../../src/swarm/bits.js'
import { HANDSHAKE_BYTES, PSTR } from '../../../src/swarm/constants.js'
import { FrameGuard } from '../../../src/swarm/frame-guard.js'
import { linkOfMultiaddr } from '../../../src/swarm/link.js'

const limits = { numPieces: 10, maxChunkBytes: 1000, maxExtendedBytes: 100 }

function msg (id: number, payload: number[] = []): Uint8Array {
  const body = Uint8Array.from([id, ...payload])
  const out = new Uint8Array(4 + body.length)
  new DataView(out.buffer).setUint32(0, body.length)
  out.set(body, 4)
  return out
}

const handshake = (): Uint8Array => {
  const h = new Uint8Array(HANDSHAKE_BYTES)
  h[0] = PSTR.length
  h.set(new TextEncoder().encode(PSTR), 1)
  return h
}

t.test('frames split at every byte boundary come out whole and unchanged', async t => {
  const frames = [handshake(), msg(2), Uint8Array.of(0, 0, 0, 0), msg(4, [0, 0, 0, 9]), msg(5, [0xff, 0xc0]),
    msg(6, [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 0xe8]), msg(7, [0, 0, 0, 1, 0, 0, 0, 0, ...Array(700).fill(7)]), msg(20, [0, 100, 101])]
  const stream = Buffer.concat(frames)
  for (const step of [1, 2, 3, 5, 13, 64, stream.length]) {
    const out: Uint8Array[] = []
    const g = new FrameGuard(limits, f => out.push(Uint8Array.from(f)))
    for (let i = 0; i < stream.length; i += step) g.push(stream.subarray(i, i + step))
    t.same(out.map(f => Buffer.from(f).toString('hex')), frames.map(f => Buffer.from(f).toString('hex')), `step ${step}`)
    t.equal(g.bufferedBytes, 0)
  }
})

t.test('the first bad frame throws a typed error and everything after is refused', async t => {
  const g = new FrameGuard(limits, () => {})
  g.push(handshake())
  t.throws(() => { g.push(msg(7, [0, 0, 0, 1, 0, 0, 0, 0, ...Array(1001).fill(1)])) }, { code: 'E_WIRE_MESSAGE_TOO_LARGE' })
  t.throws(() => { g.push(msg(2)) }, { code: 'E_WIRE_MESSAGE_TOO_LARGE' }, 'stays failed')
  const h = new FrameGuard(limits, () => {})
  t.throws(() => { h.push(Uint8Array.of(18)) }, { code: 'E_WIRE_MALFORMED' }, 'wrong pstrlen fails on the first byte')
  const b = new FrameGuard(limits, () => {})
  b.push(handshake())
  b.push(msg(5, [0xff, 0xc0]))
  t.throws(() => { b.push(msg(5, [0, 0])) }, { code: 'E_WIRE_MALFORMED' }, 'a second bitfield')
  t.ok(Bits.spareBitsClear(Uint8Array.of(0xff, 0xc0), 10))
  t.notOk(Bits.spareBitsClear(Uint8Array.of(0xff, 0xe0), 10))
})

t.test('links: private and loopback addresses are LAN', async t => {
  t.equal(linkOfMultiaddr('/ip4/127.0.0.1/tcp/1'), 'lan')
  t.equal(linkOfMultiaddr('/ip4/192.168.4.20/tcp/4301/p2p/12D3'), 'lan')
  t.equal(linkOfMultiaddr('/ip4/172.20.0.2/tcp/1'), 'lan')
  t.equal(linkOfMultiaddr('/ip4/172.32.0.2/tcp/1'), 'wan')
  t.equal(linkOfMultiaddr('/ip4/8.8.8.8/tcp/1'), 'wan')
  t.equal(linkOfMultiaddr('/ip6/fe80::1/tcp/1'), 'lan')
  t.equal(linkOfMultiaddr('/ip6/fd12::1/tcp/1'), 'lan')
  t.equal(linkOfMultiaddr('/ip6/2001:db8::1/tcp/1'), 'wan')
  t.equal(linkOfMultiaddr('/dns4/hub.example/tcp/1'), 'wan')
})
