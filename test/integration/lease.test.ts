/**
 * `/storemesh/lease/1.0.0` between real libp2p nodes on 127.0.0.1 (pnet, noise, yamux):
 * ten devices racing for four install slots, a device that dies holding a slot, and a
 * malformed request. No timed assertions: every wait is bounded, and what is checked
 * is ordering and counts.
 */
import t, { type Test } from 'tap'
import type { Multiaddr } from '@multiformats/multiaddr'
import { join } from 'node:path'
import { readBounded, writeMessage } from '../../src/net/length-prefixed.js'
import { createStoremeshNode, type StoremeshNode } from '../../src/net/node.js'
import { generateSwarmKey } from '../../src/net/swarm-key.js'
import { LEASE_PROTOCOL } from '../../src/lease/protocol/index.js'
import { LeaseKeeper } from '../../src/lease/lease-keeper.js'
import { leaseProtocol, type LeaseProtocol } from '../../src/lease/protocol/index.js'
import { LeaseTable, type LeaseEvent, type LeaseTableInit } from '../../src/lease/lease-table.js'
import { decodeLeaseResponse } from '../../src/lease/protocol/index.js'
import { sleep } from '../../src/interface/abort.js'

type LeaseNode = StoremeshNode<{ lease: LeaseProtocol }>

const swarmKey = generateSwarmKey()
const REF = { bundleId: 'b3:' + 'e'.repeat(64), waveId: '142' }
/** Hub retry hints short enough that ten devices finish in about a second. */
const FAST: Partial<LeaseTableInit> = { minTtlMs: 100, retryAfterMs: 100, minRetryAfterMs: 20 }

async function hub (t: Test, init: LeaseTableInit): Promise<{ node: LeaseNode, table: LeaseTable, addrs: Multiaddr[], events: LeaseEvent[] }> {
  const events: LeaseEvent[] = []
  const onEvent = (e: LeaseEvent): void => { events.push(e); init.onEvent?.(e) }
  const table = await LeaseTable.open({ ...FAST, ...init, statePath: join(t.testdir(), 'leases.json'), onEvent })
  const node = await createStoremeshNode({ swarmKey, services: { lease: leaseProtocol({ authority: table }) } })
  t.teardown(async () => { await node.stop() })
  return { node, table, addrs: node.getMultiaddrs(), events }
}

async function device (t: Test): Promise<LeaseNode> {
  const node = await createStoremeshNode({ swarmKey, services: { lease: leaseProtocol() } })
  t.teardown(async () => { if (node.status === 'started') await node.stop() })
  return node
}


t.test('ten devices race for four leases: never more than four installs at once', async t => {
  const LIMIT = 4
  // shared by the devices (in this process) and checked by the hub on every grant
  let installing = 0
  let maxInstalling = 0
  let maxActiveOnHub = 0
  let maxInstallingAtGrant = 0
  let denials = 0
  const h = await hub(t, {
    maxConcurrentPerHub: LIMIT,
    defaultTtlMs: 5_000,
    onEvent: e => {
      if (e.type === 'denied') denials++
      if (e.type !== 'granted') return
      maxActiveOnHub = Math.max(maxActiveOnHub, e.active)
      // the device granted now has not started; those still installing hold leases too
      maxInstallingAtGrant = Math.max(maxInstallingAtGrant, installing + 1)
    }
  })
  const devices = await Promise.all(Array.from({ length: 10 }, async () => await device(t)))
  // connect first, so the race is for leases, not for dials
  await Promise.all(devices.map(async d => await d.dial(h.addrs, { signal: AbortSignal.timeout(20_000) })))

  let finished = 0

  await Promise.all(devices.map(async (node, i) => {
    const keeper = new LeaseKeeper({ deviceId: `pos-${i}`, client: node.services.lease, hub: h.addrs, ttlMs: 5_000 })
    await keeper.withLease(REF, async () => {
      installing++
      maxInstalling = Math.max(maxInstalling, installing)
      await sleep(20 + Math.floor(Math.random() * 120)) // "install"
      installing--
    }, { signal: AbortSignal.timeout(60_000) })
    finished++
  }))

  t.equal(finished, 10, 'all ten finished')
  t.ok(maxInstalling <= LIMIT, `devices installing at once: at most ${maxInstalling}`)
  t.ok(maxActiveOnHub <= LIMIT, `leases active on the hub at once: at most ${maxActiveOnHub}`)
  t.ok(maxInstallingAtGrant <= LIMIT, `installs running when the hub granted one, itself included: at most ${maxInstallingAtGrant}`)
  t.equal(h.events.filter(e => e.type === 'granted').length, 10, 'one grant per device')
  t.equal(h.table.activeCount, 0, 'every slot was given back')
  t.comment(`max concurrent installs ${maxInstalling}, max hub leases ${maxActiveOnHub}, denials ${denials}`)
})

t.test('a device that dies holding a lease blocks its slot only until the TTL ends', async t => {
  // long enough that the second device's first ask lands before it ends on a loaded
  // 2-core runner (1.5 s did not: the dead device's stop and a new node's dial ate it)
  const TTL_MS = 5_000
  const h = await hub(t, { maxConcurrentPerHub: 1 })
  const doomed = await device(t)
  const k1 = new LeaseKeeper({ deviceId: 'pos-dead', client: doomed.services.lease, hub: h.addrs, ttlMs: TTL_MS })
  t.equal((await k1.acquire(REF)).state, 'held')
  const deadLease = h.table.active()[0]!
  // the device loses power: no release, no more renewals
  await k1.stop()
  await doomed.stop()

  const other = await device(t)
  const k2 = new LeaseKeeper({ deviceId: 'pos-next', client: other.services.lease, hub: h.addrs, ttlMs: TTL_MS })
  const first = await k2.acquire(REF)
  t.match(first, { state: 'denied', detail: /cap-reached/ }, 'the slot is still taken right after the death')
  const f = await k2.waitForLease(REF, { signal: AbortSignal.timeout(20_000) })
  t.equal(f.state, 'held', 'and free once the TTL ended')
  const granted = h.table.active()[0]!
  t.equal(granted.deviceId, 'pos-next')
  t.ok(granted.grantedAtMs >= deadLease.expiresAtMs, 'granted no earlier than the dead lease expired (hub clock)')
  t.ok(h.events.some(e => e.type === 'expired' && e.deviceId === 'pos-dead'))
  await k2.release()
  t.equal(h.table.activeCount, 0)
})

t.test('a malformed request gets an error response and no lease', async t => {
  const h = await hub(t, { maxConcurrentPerHub: 4 })
  const d = await device(t)
  const ask = async (bytes: Uint8Array) => {
    const stream = await d.dialProtocol(h.addrs, LEASE_PROTOCOL, { signal: AbortSignal.timeout(10_000) })
    await writeMessage(stream, bytes)
    await stream.close()
    return decodeLeaseResponse(await readBounded(stream, { maxBytes: 4096, timeoutMs: 10_000 }))
  }
  const enc = (x: unknown): Uint8Array => new TextEncoder().encode(typeof x === 'string' ? x : JSON.stringify(x))
  for (const bad of [
    enc('not json at all'),
    enc({ op: 'steal', deviceId: 'pos-1', bundleId: REF.bundleId, waveId: '142' }),
    enc({ op: 'acquire', deviceId: 'pos-1', bundleId: 'b3:short', waveId: '142' }),
    enc({ op: 'acquire', deviceId: 'pos-1', bundleId: REF.bundleId, waveId: '142', admin: true })
  ]) {
    t.match(await ask(bad), { granted: false, reason: 'bad-request', active: 0, limit: 4 })
  }
  t.equal(h.table.activeCount, 0, 'no lease was granted')
  // an oversize frame resets the stream; the connection and the hub survive it
  const stream = await d.dialProtocol(h.addrs, LEASE_PROTOCOL)
  await writeMessage(stream, new Uint8Array(8 * 1024)).catch(() => {})
  await t.rejects(readBounded(stream, { maxBytes: 4096, timeoutMs: 10_000 }))
  t.equal(d.getConnections(h.node.peerId).length, 1, 'only the stream was reset')
  t.match(await d.services.lease.request(h.addrs, { op: 'acquire', deviceId: 'pos-1', ...REF }), { granted: true })
})
