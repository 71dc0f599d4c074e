import t from 'tap'
import { Bits } from '../../../src/swarm/bits.js'
import { defaultSwarmOptions, HANDSHAKE_BYTES, PSTR } from '../../../src/swarm/constants.js'
import { readHandshake, wirePeerId } from '../../../src/swarm/handshake.js'
import { PeerWire } from '../../../src/swarm/wire.js'
import type { StoremeshError } from '../../../src/interface/errors.js'
import { duplexPair, makeBundle, within } from './helpers.js'

const bundle = makeBundle([3000, 70_000, 1, 65_536, 12_345])
const idA = wirePeerId('peer-a')
const idB = wirePeerId('peer-b')

function handshakeBytes (infoHash: Uint8Array, peerId: Uint8Array): Uint8Array {
  const out = new Uint8Array(HANDSHAKE_BYTES)
  out[0] = PSTR.length
  out.set(new TextEncoder().encode(PSTR), 1)
  out.set(infoHash, 1 + PSTR.length + 8)
  out.set(peerId, 1 + PSTR.length + 8 + 20)
  return out
}

function frame (id: number, ...fields: Array<number | Uint8Array>): Uint8Array {
  const parts: Uint8Array[] = [Uint8Array.of(id)]
  for (const f of fields) {
    if (typeof f === 'number') {
      const b = new Uint8Array(4)
      new DataView(b.buffer).setUint32(0, f)
      parts.push(b)
    } else parts.push(f)
  }
  const body = Buffer.concat(parts)
  const len = new Uint8Array(4)
  new DataView(len.buffer).setUint32(0, body.length)
  return Buffer.concat([len, body])
}

t.test('two wires exchange every chunk of a bundle, whole chunks of different sizes', async t => {
  const [da, db] = duplexPair()
  const a = new PeerWire({ duplex: da, bundle: bundle.info, localWireId: idA, remoteWireId: idB, initiator: true, options: defaultSwarmOptions })
  const b = new PeerWire({ duplex: db, bundle: bundle.info, localWireId: idB, remoteWireId: idA, initiator: false, options: defaultSwarmOptions })
  const full = new Bits(bundle.chunks.length)
  for (let i = 0; i < full.length; i++) full.set(i)
  b.on('ready', () => { b.sendBitfield(full) })
  a.on('ready', () => { a.sendBitfield(new Bits(full.length)) })
  b.on('interested', () => { b.unchoke() })
  b.on('request', req => { req.respond(bundle.chunks[req.index] as Uint8Array) })
  const got = new Map<number, Uint8Array>()
  const done = new Promise<void>(resolve => {
    a.on('piece', (i, data) => { got.set(i, Uint8Array.from(data)); if (got.size === full.length) resolve() })
  })
  a.on('bitfield', bits => { t.equal(bits.count, full.length, 'A sees the full bitfield'); a.interested() })
  a.on('unchoke', () => { for (let i = 0; i < full.length; i++) t.ok(a.request(i)) })
  await within(done, 5000, 'all pieces')
  for (let i = 0; i < full.length; i++) t.same(got.get(i), bundle.chunks[i], `chunk ${i} intact`)
  t.equal(b.bytesUp, bundle.info.totalBytes)
  t.equal(a.bytesDown, bundle.info.totalBytes)
  a.close()
  await within(new Promise(resolve => b.once('close', resolve)), 5000, 'remote close')
})

t.test('the wire coalesces small writes of one tick', async t => {
  const [da, db] = duplexPair()
  const a = new PeerWire({ duplex: da, bundle: bundle.info, localWireId: idA, initiator: true, options: defaultSwarmOptions })
  const b = new PeerWire({ duplex: db, bundle: bundle.info, localWireId: idB, initiator: false, options: defaultSwarmOptions })
  await within(new Promise<void>(resolve => a.once('ready', () => resolve())), 5000, 'ready')
  const before = a.transportWrites
  const haves: number[] = []
  b.on('have', i => haves.push(i))
  for (let i = 0; i < 5; i++) a.have(i)
  a.interested()
  await within(new Promise<void>(resolve => b.once('interested', () => resolve())), 5000, 'interested')
  t.same(haves, [0, 1, 2, 3, 4])
  t.equal(a.transportWrites - before, 1, 'six messages went out in one duplex write')
  a.close(); b.close()
})

t.test('inbound routing: the handshake is read with a bound and handed on as a prefix', async t => {
  const [da, db] = duplexPair()
  const a = new PeerWire({ duplex: da, bundle: bundle.info, localWireId: idA, initiator: true, options: defaultSwarmOptions })
  const hs = await within(readHandshake(db, { timeoutMs: 5000 }), 5000, 'handshake')
  t.same(hs.infoHash, bundle.info.infoHash)
  t.same(hs.peerId, idA)
  const b = new PeerWire({ duplex: db, bundle: bundle.info, localWireId: idB, initiator: false, prefix: hs.prefix, options: defaultSwarmOptions })
  await within(Promise.all([
    new Promise<void>(resolve => a.once('ready', () => resolve())),
    new Promise<void>(resolve => b.once('ready', () => resolve()))
  ]), 5000, 'both ready')
  t.ok(a.ready && b.ready)
  a.close(); b.close()
})

t.test('a handshake for another bundle or from another peer id closes the wire', async t => {
  const other = makeBundle([10])
  for (const [name, infoHash, peerId] of [
    ['info-hash', other.info.infoHash, idB],
    ['peer id', bundle.info.infoHash, wirePeerId('mallory')]
  ] as const) {
    const [da, db] = duplexPair()
    db.on('error', () => {})
    const a = new PeerWire({ duplex: da, bundle: bundle.info, localWireId: idA, remoteWireId: idB, initiator: true, options: defaultSwarmOptions })
    const closed = new Promise<StoremeshError | undefined>(resolve => a.once('close', resolve))
    db.write(handshakeBytes(infoHash, peerId))
    const err = await within(closed, 5000, 'close')
    t.equal(err?.code, 'E_WIRE_MALFORMED', name)
  }
})

const cases: Array<[string, () => Uint8Array, string]> = [
  ['request larger than the chunk limit', () => frame(6, 1, 0, 2 * 1024 * 1024), 'E_WIRE_MALFORMED'],
  ['request with the wrong size', () => frame(6, 1, 0, 5), 'E_WIRE_MALFORMED'],
  ['request with an offset', () => frame(6, 1, 10, 69_990), 'E_WIRE_MALFORMED'],
  ['request for a chunk past the end', () => frame(6, 99, 0, 10), 'E_WIRE_MALFORMED'],
  ['piece larger than the chunk limit', () => frame(7, 1, 0, new Uint8Array(1024 * 1024 + 1)), 'E_WIRE_MESSAGE_TOO_LARGE'],
  ['length prefix of 4 GiB', () => Uint8Array.of(0xff, 0xff, 0xff, 0xff, 7), 'E_WIRE_MESSAGE_TOO_LARGE'],
  ['unrequested piece', () => frame(7, 2, 0, new Uint8Array(1)), 'E_WIRE_MALFORMED'],
  ['unknown message id', () => frame(99), 'E_WIRE_MALFORMED'],
  ['fast-extension have-all never negotiated', () => frame(0x0e), 'E_WIRE_MALFORMED'],
  ['have past the end', () => frame(4, 5), 'E_WIRE_MALFORMED'],
  ['bitfield of the wrong length', () => frame(5, new Uint8Array(3)), 'E_WIRE_MALFORMED'],
  ['bitfield with spare bits set', () => frame(5, Uint8Array.of(0xff)), 'E_WIRE_MALFORMED'],
  ['choke with a payload', () => frame(0, 1), 'E_WIRE_MALFORMED'],
  ['oversized extended message', () => frame(20, new Uint8Array(17 * 1024)), 'E_WIRE_MESSAGE_TOO_LARGE']
]

for (const [name, bytes, code] of cases) {
  t.test(`malformed: ${name} closes the wire with ${code}`, async t => {
    const [da, db] = duplexPair()
    db.on('error', () => {})
    const a = new PeerWire({ duplex: da, bundle: bundle.info, localWireId: idA, initiator: false, options: defaultSwarmOptions })
    a.on('request', () => { t.fail('a bad request must never reach the swarm') })
    a.on('piece', () => { t.fail('a bad piece must never reach the swarm') })
    const closed = new Promise<StoremeshError | undefined>(resolve => a.once('close', resolve))
    db.write(handshakeBytes(bundle.info.infoHash, idB))
    await within(new Promise<void>(resolve => a.once('ready', () => resolve())), 5000, 'ready')
    // let the remote in: requests are only seen while we do not choke
    a.unchoke()
    db.write(bytes())
    const err = await within(closed, 5000, 'close')
    t.equal(err?.code, code)
    t.ok(a.closed)
  })
}

t.test('a stream that is not BitTorrent at all is refused by the handshake reader', async t => {
  const [da, db] = duplexPair()
  da.write(Buffer.from('GET / HTTP/1.1\r\n\r\n'))
  await t.rejects(within(readHandshake(db, { timeoutMs: 5000 }), 5000, 'reader'), { code: 'E_WIRE_MALFORMED' })
  da.destroy(); db.destroy()
})

t.test('a request lost to a choke may still be answered: the late piece is dropped, not an error', async t => {
  const [da, db] = duplexPair()
  db.on('error', () => {})
  const a = new PeerWire({ duplex: da, bundle: bundle.info, localWireId: idA, initiator: false, options: defaultSwarmOptions })
  const events: string[] = []
  a.on('piece', i => events.push(`piece ${i}`))
  a.on('late-piece', i => events.push(`late ${i}`))
  a.on('request-failed', (i, why) => events.push(`failed ${i} ${why}`))
  a.on('close', err => events.push(`close ${err?.code ?? ''}`))
  db.write(handshakeBytes(bundle.info.infoHash, idB))
  await within(new Promise<void>(resolve => a.once('ready', () => resolve())), 5000, 'ready')
  const unchoked = new Promise<void>(resolve => a.once('unchoke', () => resolve()))
  db.write(frame(1))
  await within(unchoked, 5000, 'unchoke')
  t.ok(a.request(1))
  const failed = new Promise<void>(resolve => a.once('request-failed', () => resolve()))
  db.write(frame(0))
  await within(failed, 5000, 'choke fails the request')
  const again = new Promise<void>(resolve => a.once('unchoke', () => resolve()))
  db.write(frame(1))
  await within(again, 5000, 'unchoke again')
  t.ok(a.request(1), 'asked again')
  // the remote served both the old and the new request
  const data = bundle.chunks[1] as Uint8Array
  db.write(frame(7, 1, 0, data))
  db.write(frame(7, 1, 0, data))
  db.write(frame(2))
  await within(new Promise<void>(resolve => a.once('interested', () => resolve())), 5000, 'later message')
  t.same(events, ['failed 1 peer is choking', 'piece 1', 'late 1'])
  t.notOk(a.closed)
  // a third copy nobody asked for is a protocol violation
  const closed = new Promise<StoremeshError | undefined>(resolve => a.once('close', resolve))
  db.write(frame(7, 1, 0, data))
  t.equal((await within(closed, 5000, 'close'))?.code, 'E_WIRE_MALFORMED')
})
