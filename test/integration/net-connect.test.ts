/**
 * Who may connect: the fleet key (pnet), the allowlist, connection limits, and the
 * persisted identity. Real nodes on 127.0.0.1.
 */
import t, { type Test } from 'tap'
import { stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createStoremeshNode, type NodeInit, type StoremeshNode } from '../../src/net/node.js'
import { PEER_KEY_FILE } from '../../src/net/constants.js'
import { generateSwarmKey } from '../../src/net/swarm-key.js'
import { until } from '../support/poll.js'

const fleetKey = generateSwarmKey()
const DIAL_MS = 5_000
/** a dial that must fail: a wrong key fails only by timing out (garbage Noise lengths) */
const REFUSE_MS = 2_000

async function node (t: Test, init: Partial<NodeInit> = {}): Promise<StoremeshNode> {
  const n = await createStoremeshNode({ swarmKey: fleetKey, ...init })
  t.teardown(async () => { await n.stop() })
  return n
}

async function dial (from: StoremeshNode, to: StoremeshNode, ms = DIAL_MS): Promise<void> {
  await from.dial(to.getMultiaddrs()[0]!, { signal: AbortSignal.timeout(ms) })
}

t.test('two nodes with the same swarm key connect and open streams', async t => {
  const a = await node(t)
  const b = await node(t)
  t.ok(a.getMultiaddrs()[0]?.toString().startsWith('/ip4/127.0.0.1/tcp/'), 'listens on loopback by default')
  await a.handle('/storemesh/test-echo/1.0.0', (stream) => {
    stream.addEventListener('message', (evt) => { stream.send(evt.data) })
    stream.addEventListener('remoteCloseWrite', () => { void stream.close() })
  })
  const s = await b.dialProtocol(a.getMultiaddrs()[0]!, '/storemesh/test-echo/1.0.0', { signal: AbortSignal.timeout(DIAL_MS) })
  const echoed = new Promise<string>(resolve => { s.addEventListener('message', (evt) => { resolve(new TextDecoder().decode(evt.data.subarray())) }) })
  s.send(new TextEncoder().encode('hello fleet'))
  t.equal(await echoed, 'hello fleet')
  t.equal(b.getConnections(a.peerId).length, 1)
  t.ok(await until(() => a.getConnections(b.peerId).length === 1), 'both sides see the connection')
})

t.test('a node with another swarm key cannot connect, either way', async t => {
  const a = await node(t)
  const stranger = await node(t, { swarmKey: generateSwarmKey() })
  await t.rejects(dial(stranger, a, REFUSE_MS), 'stranger -> fleet refused')
  await t.rejects(dial(a, stranger, REFUSE_MS), 'fleet -> stranger refused')
  t.equal(a.getConnections().length, 0)
  t.equal(stranger.getConnections().length, 0)
})

t.test('a node without a swarm key cannot connect, either way', async t => {
  const a = await node(t)
  const open = await node(t, { swarmKey: null })
  await t.rejects(dial(open, a, REFUSE_MS), 'keyless -> fleet refused')
  await t.rejects(dial(a, open, REFUSE_MS), 'fleet -> keyless refused')
  t.equal(a.getConnections().length, 0)
  t.equal(open.getConnections().length, 0)
})

t.test('the allowlist denies unknown peers, inbound and outbound', async t => {
  const friend = await node(t)
  const unknown = await node(t)
  const allow = new Set([friend.peerId.toString()])
  const hub = await node(t, { allowPeers: allow })
  await dial(friend, hub)
  t.ok(await until(() => hub.getConnections(friend.peerId).length === 1), 'a listed peer connects')
  // the dialler's own upgrade may finish before the hub's gater runs, so its dial can
  // resolve; what counts is that the hub never holds the connection and it dies
  await dial(unknown, hub).catch(() => {})
  t.ok(await until(() => unknown.getConnections(hub.peerId).length === 0), 'an unlisted peer is refused after Noise')
  t.equal(hub.getConnections(unknown.peerId).length, 0, 'the hub holds no connection to it')
  await t.rejects(hub.dial(unknown.peerId, { signal: AbortSignal.timeout(DIAL_MS) }), 'the hub never dials an unlisted peer id')
  await t.rejects(dial(hub, unknown), 'nor an unlisted peer behind an address')
  t.equal(unknown.getConnections().length, 0)
  // the set is read live
  allow.add(unknown.peerId.toString())
  await dial(unknown, hub)
  t.ok(await until(() => hub.getConnections(unknown.peerId).length === 1), 'added at run time, then admitted')
})

t.test('a burst of 12 peers dialling one node from one host all get in', async t => {
  const hub = await node(t)
  const peers = await Promise.all(Array.from({ length: 12 }, async () => await node(t)))
  const results = await Promise.allSettled(peers.map(async p => { await dial(p, hub) }))
  const failed = results.filter(r => r.status === 'rejected')
  t.equal(failed.length, 0, `libp2p's default of 5 per second per host would refuse some (${failed.length} failed)`)
  t.ok(await until(() => hub.getConnections().length === 12), 'the hub holds all 12')
})

t.test('the peer identity persists in the data dir', async t => {
  const dir = t.testdir()
  const first = await createStoremeshNode({ swarmKey: fleetKey, dataDir: dir })
  const id = first.peerId.toString()
  await first.stop()
  const st = await stat(join(dir, PEER_KEY_FILE))
  t.equal(st.mode & 0o777, 0o600, 'the key file is private')
  const second = await node(t, { dataDir: dir })
  t.equal(second.peerId.toString(), id, 'same peer id after a restart')
  const other = await node(t, { dataDir: t.testdir() })
  t.not(other.peerId.toString(), id, 'another data dir, another identity')
  t.equal(second.peerId.type, 'Ed25519')
})

t.test('a damaged peer key file fails with E_KEY_INVALID', async t => {
  const dir = t.testdir()
  await writeFile(join(dir, PEER_KEY_FILE), '/key/swarm/psk/1.0.0/\n/base16/\n' + 'ab'.repeat(32) + '\n')
  await t.rejects(createStoremeshNode({ swarmKey: fleetKey, dataDir: dir }), { code: 'E_KEY_INVALID' })
})

t.test('leaving the swarm key out is an error, not an open node', async t => {
  // a JavaScript caller (or a role with a missing flag) can pass undefined
  await t.rejects(createStoremeshNode({} as unknown as NodeInit), { code: 'E_INVALID_ARGUMENT' })
})
