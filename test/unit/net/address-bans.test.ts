import t from 'tap'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { MultiaddrConnection } from '@libp2p/interface'
import { AddressBans, addressBanGater, addressBanKeyOf } from '../../../src/net/address-bans.js'

const PEER = '12D3KooWRwAWecMTYbPsM2WXG2kezoAyBtmGBdSDmw677gRXQjEX'
const maConn = (addr: string): MultiaddrConnection => ({ remoteAddr: multiaddr(addr) }) as unknown as MultiaddrConnection

t.test('the key is the IP of a store-LAN address of its own, never the port, never the shared loopback nor a public address', async t => {
  t.equal(addressBanKeyOf('/ip4/192.168.1.7/tcp/53211'), '192.168.1.7')
  t.equal(addressBanKeyOf('/ip4/192.168.1.7/tcp/40000/p2p/' + PEER), '192.168.1.7', 'port and peer id ignored')
  t.equal(addressBanKeyOf('/ip4/10.2.3.4/tcp/1'), '10.2.3.4')
  t.equal(addressBanKeyOf('/ip4/172.16.0.9/tcp/1'), '172.16.0.9')
  t.equal(addressBanKeyOf('/ip4/169.254.3.3/tcp/1'), '169.254.3.3')
  t.equal(addressBanKeyOf('/ip4/127.0.0.2/tcp/1'), '127.0.0.2', 'another loopback address plays a separate host')
  t.equal(addressBanKeyOf('/ip6/fd00::7/tcp/1'), 'fd00::7')
  t.equal(addressBanKeyOf('/ip6/fe80::1/tcp/1'), 'fe80::1')
  t.equal(addressBanKeyOf('/ip4/127.0.0.1/tcp/1'), undefined, 'every local process dials from 127.0.0.1')
  t.equal(addressBanKeyOf('/ip6/::1/tcp/1'), undefined)
  t.equal(addressBanKeyOf('/ip4/8.8.8.8/tcp/1'), undefined, 'a public address may be a NAT of many honest nodes')
  t.equal(addressBanKeyOf('/ip4/172.32.0.1/tcp/1'), undefined)
  t.equal(addressBanKeyOf('/dns4/hub.example/tcp/1'), undefined)
  t.equal(addressBanKeyOf('/ip4/300.1.1.1/tcp/1'), undefined, 'malformed')
})

t.test('an address ban lasts ttlMs, is bounded, and is off at ttlMs 0', async t => {
  const clock = { ms: 0 }
  const ab = new AddressBans({ ttlMs: 1000, maxEntries: 2, now: () => clock.ms })
  t.ok(ab.note('/ip4/192.168.1.7/tcp/5000'))
  t.ok(ab.denies('/ip4/192.168.1.7/tcp/6000'), 'any port of the address')
  t.notOk(ab.denies('/ip4/192.168.1.8/tcp/5000'), 'another address')
  t.notOk(ab.note('/ip4/127.0.0.1/tcp/5000'), 'the shared loopback is never noted')
  t.notOk(ab.denies('/ip4/127.0.0.1/tcp/5000'))
  clock.ms = 999
  t.ok(ab.denies('/ip4/192.168.1.7/tcp/1'))
  clock.ms = 1000
  t.notOk(ab.denies('/ip4/192.168.1.7/tcp/1'), 'expired')
  for (const ip of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) ab.note(`/ip4/${ip}/tcp/1`)
  t.equal(ab.size, 2, 'at most maxEntries')
  t.notOk(ab.denies('/ip4/10.0.0.1/tcp/1'), 'the oldest went first')
  const off = new AddressBans({ ttlMs: 0 })
  t.notOk(off.note('/ip4/192.168.1.7/tcp/1'))
  t.notOk(off.denies('/ip4/192.168.1.7/tcp/1'))
})

t.test('the gater refuses a banned peer by address before Noise, by id after it, and counts each stage', async t => {
  const banned = new Set<string>([PEER])
  // refused at once, as before the hold (its own test below)
  const ab = new AddressBans({ refusalHoldMs: 0 })
  const g = addressBanGater(ab, id => banned.has(id))
  const id = peerIdFromString(PEER)
  const from = maConn('/ip4/192.168.1.7/tcp/40001')
  t.notOk(await g.denyInboundConnection(from), 'its address is not known yet: the redial gets to Noise')
  t.ok(await g.denyInboundEncryptedConnection(id, from), 'refused after Noise by its peer id')
  t.ok(await g.denyInboundConnection(maConn('/ip4/192.168.1.7/tcp/40002')), 'its next redial, from a new port, is refused before Noise')
  t.ok(await g.denyDialPeer(id), 'we never dial it')
  t.same(ab.refusals(), { address: 1, encrypted: 1, dial: 1 })
  const loop = maConn('/ip4/127.0.0.1/tcp/40003')
  t.ok(await g.denyInboundEncryptedConnection(id, loop), 'from the shared loopback: refused after Noise')
  t.notOk(await g.denyInboundConnection(maConn('/ip4/127.0.0.1/tcp/40004')), 'and its address is never refused before Noise')
  banned.clear()
  t.notOk(await g.denyInboundEncryptedConnection(id, from), 'an unbanned peer passes')
  t.same(ab.refusals(), { address: 1, encrypted: 2, dial: 1 })
})

t.test('a connection refused by address is held before it is closed, at most maxHeldRefusals at once; the rest are closed at once', async t => {
  const ab = new AddressBans({ refusalHoldMs: 50, maxHeldRefusals: 1 })
  const g = addressBanGater(ab, () => false)
  ab.note('/ip4/192.168.1.7/tcp/40001')
  let firstDone = false
  const first = Promise.resolve(g.denyInboundConnection(maConn('/ip4/192.168.1.7/tcp/40002'))).then(v => { firstDone = true; return v })
  t.equal(ab.heldRefusals, 1, 'the first redial is held (the attacker waits on us instead of redialling)')
  // before, every refusal was answered at once and the attacker was back ~100 ms later
  t.equal(await g.denyInboundConnection(maConn('/ip4/192.168.1.7/tcp/40003')), true, 'past the cap: refused at once')
  t.notOk(firstDone, 'while the first is still held')
  t.equal(await first, true, 'the held one is refused at the end of its hold')
  t.equal(ab.heldRefusals, 0)
  t.same(ab.refusals(), { address: 2, encrypted: 0, dial: 0 }, 'both counted')
  t.equal(await g.denyInboundConnection(maConn('/ip4/192.168.1.8/tcp/40004')), false, 'an address not banned is never held')
  t.equal(new AddressBans().refusalHoldMs, 2000, 'the default hold')
})

t.test('a banned peer refused after Noise from an address that cannot be banned (127.0.0.1, a public one) is held too; from a bannable one it is refused at once', async t => {
  const ab = new AddressBans({ refusalHoldMs: 50, maxHeldRefusals: 1 })
  const g = addressBanGater(ab, id => id === PEER)
  const id = peerIdFromString(PEER)
  const first = g.denyInboundEncryptedConnection(id, maConn('/ip4/127.0.0.1/tcp/40010'))
  t.ok(first instanceof Promise, 'held: the redialling attacker waits on us (before, refused at once and it redialled ~100 ms later)')
  t.equal(ab.heldRefusals, 1)
  t.equal(await g.denyInboundEncryptedConnection(id, maConn('/ip4/8.8.8.8/tcp/40011')), true, 'past maxHeldRefusals: refused at once')
  t.equal(await first, true, 'refused at the end of its hold')
  t.equal(ab.heldRefusals, 0)
  t.equal(g.denyInboundEncryptedConnection(id, maConn('/ip4/192.168.1.9/tcp/40012')), true, 'a bannable address: refused at once, its redials are refused before Noise')
  t.equal(g.denyInboundEncryptedConnection(peerIdFromString('12D3KooWEX454d7k3ew2R56TjfcY8Qn4fzLEcJ7m4K4tXd5FUf8c'), maConn('/ip4/127.0.0.1/tcp/40013')), false, 'a peer not banned passes at once')
  t.same(ab.refusals(), { address: 0, encrypted: 3, dial: 0 })
})
