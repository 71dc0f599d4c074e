/**
 * Real mDNS on this host: nodes with the same service tag find and dial each other;
 * a node with another tag is never dialled. Each test run uses unique tags, so
 * parallel runs and other engineers' tests cannot cross.
 */
import t, { type Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { createStoremeshNode, type NodeInit, type StoremeshNode } from '../../src/net/node.js'
import { generateSwarmKey } from '../../src/net/swarm-key.js'
import { until } from '../support/poll.js'

const swarmKey = generateSwarmKey()
const tag = (): string => `storemesh-test-${process.pid}-${randomBytes(4).toString('hex')}`
const INTERVAL_MS = 500

async function node (t: Test, init: Partial<NodeInit>): Promise<StoremeshNode> {
  const n = await createStoremeshNode({ swarmKey, ...init })
  t.teardown(async () => { await n.stop() })
  return n
}

t.test('two nodes with one service tag discover and connect; another tag stays apart', async t => {
  const shared = tag()
  const a = await node(t, { mdns: { serviceTag: shared, intervalMs: INTERVAL_MS } })
  const b = await node(t, { mdns: { serviceTag: shared, intervalMs: INTERVAL_MS } })
  const other = await node(t, { mdns: { serviceTag: tag(), intervalMs: INTERVAL_MS } })
  const linked = await until(() => a.getConnections(b.peerId).length > 0 && b.getConnections(a.peerId).length > 0, 20_000)
  t.ok(linked, 'a and b connected through mDNS alone (no explicit dial)')
  // give the stranger several query rounds to (wrongly) show up
  await new Promise(r => setTimeout(r, 4 * INTERVAL_MS))
  t.equal(other.getConnections().length, 0, 'the node with another service tag was never dialled')
  t.equal(a.getConnections(other.peerId).length, 0)
})

t.test('mDNS without dialOnDiscovery reports but does not dial', async t => {
  const shared = tag()
  const a = await node(t, { mdns: { serviceTag: shared, intervalMs: INTERVAL_MS, dialOnDiscovery: false } })
  const b = await node(t, { mdns: { serviceTag: shared, intervalMs: INTERVAL_MS, dialOnDiscovery: false } })
  let discovered = false
  a.addEventListener('peer:discovery', (evt) => { if (evt.detail.id.equals(b.peerId)) discovered = true })
  b.addEventListener('peer:discovery', (evt) => { if (evt.detail.id.equals(a.peerId)) discovered = true })
  t.ok(await until(() => discovered, 20_000), 'discovered')
  await new Promise(r => setTimeout(r, 2 * INTERVAL_MS))
  t.equal(a.getConnections().length + b.getConnections().length, 0, 'no connection without the dialler')
})

t.test('a restarted peer with the same identity is found and dialled again', async t => {
  const shared = tag()
  const dir = t.testdir()
  const a = await node(t, { mdns: { serviceTag: shared, intervalMs: INTERVAL_MS } })
  const b1 = await createStoremeshNode({ swarmKey, dataDir: dir, mdns: { serviceTag: shared, intervalMs: INTERVAL_MS } })
  t.ok(await until(() => a.getConnections(b1.peerId).length > 0, 20_000), 'first contact')
  await b1.stop()
  t.ok(await until(() => a.getConnections(b1.peerId).length === 0, 10_000), 'a saw b go away')
  // b2 does not dial: only a can reconnect, and a's peer store already knows b, so
  // libp2p's 'peer:discovery' stays silent; the dialler must act on mDNS answers itself
  const b2 = await node(t, { dataDir: dir, mdns: { serviceTag: shared, intervalMs: INTERVAL_MS, dialOnDiscovery: false } })
  t.ok(b2.peerId.equals(b1.peerId), 'same peer id after restart')
  t.ok(await until(() => a.getConnections(b2.peerId).length > 0, 20_000), 'a dialled the restarted peer again')
})

t.test('a query for another service never makes a node build its address list', async t => {
  const ours = tag()
  // a queries once at start (and answers that query itself), then not for a minute
  const a = await node(t, { mdns: { serviceTag: ours, intervalMs: 60_000 } })
  // the module read every listen address for each query on the LAN before checking
  // its name (net/node.ts tameMdns): count the reads made on behalf of a query
  const am = (a as unknown as { components: { addressManager: { getAddresses: () => unknown[] } } }).components.addressManager
  const getAddresses = am.getAddresses.bind(am)
  let forQueries = 0
  am.getAddresses = () => {
    if (new Error().stack?.includes('_onMdnsQuery') === true) forQueries++
    return getAddresses()
  }
  await new Promise(r => setTimeout(r, INTERVAL_MS))
  const own = forQueries
  const stranger = await node(t, { mdns: { serviceTag: tag(), intervalMs: INTERVAL_MS } })
  await new Promise(r => setTimeout(r, 4 * INTERVAL_MS))
  t.equal(forQueries - own, 0, 'queries for another tag were dropped before the address list was built')
  t.equal(stranger.getConnections().length, 0)
  const b = await node(t, { mdns: { serviceTag: ours, intervalMs: INTERVAL_MS } })
  t.ok(await until(() => a.getConnections(b.peerId).length > 0, 20_000), 'a query for our tag is still answered: a and b connect')
  t.ok(forQueries > own, 'and answering it read the addresses')
})
