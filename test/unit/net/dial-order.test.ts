/**
 * One connection per pair (issue #19): two peers that find each other over mDNS both
 * dialled, and every hub-device pair held two connections for ever. Real libp2p nodes on
 * 127.0.0.1 over real multicast DNS, each test with a tag of its own. Both tests fail on
 * the old code (two connections stay).
 */
import { randomBytes } from 'node:crypto'
import t from 'tap'
import type { Connection } from '@libp2p/interface'
import { createStoremeshNode, type StoremeshNode } from '../../../src/net/node.js'
import { DIAL_DEFER_MS, dialsFirst } from '../../../src/net/dial-order.js'
import { until, waitFor } from '../../support/poll.js'

const tag = (): string => `storemesh-dial-${randomBytes(4).toString('hex')}._udp.local`
const openConns = (a: StoremeshNode, b: StoremeshNode): Connection[] => a.getConnections(b.peerId).filter(c => c.status === 'open')
const open = (a: StoremeshNode, b: StoremeshNode): number => openConns(a, b).length

async function mkNode (serviceTag: string | undefined): Promise<StoremeshNode> {
  return await createStoremeshNode({
    swarmKey: null,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    ...(serviceTag !== undefined ? { mdns: { serviceTag, intervalMs: 200 } } : {})
  })
}

/** one open connection on each end, the one the lower id dialled */
function settled (a: StoremeshNode, b: StoremeshNode): boolean {
  const [lower, higher] = dialsFirst(a.peerId, b.peerId) ? [a, b] : [b, a]
  return open(a, b) === 1 && open(b, a) === 1 &&
    openConns(lower, higher)[0]?.direction === 'outbound' && openConns(higher, lower)[0]?.direction === 'inbound'
}

t.test('two peers that find each other over mDNS hold one connection, dialled by the lower id', async t => {
  const serviceTag = tag()
  const [a, b] = await Promise.all([mkNode(serviceTag), mkNode(serviceTag)])
  t.teardown(async () => { await Promise.all([a, b].map(async n => { await n.stop() })) })
  const seen = { a: false, b: false }
  a.addEventListener('peer:discovery', e => { if (e.detail.id.equals(b.peerId)) seen.a = true })
  b.addEventListener('peer:discovery', e => { if (e.detail.id.equals(a.peerId)) seen.b = true })
  await waitFor(() => seen.a && seen.b && open(a, b) > 0 && open(b, a) > 0, 30_000, 'both discovered each other and connected')
  // past the higher id's deferred dial: before, both dialled the moment they heard each other
  await new Promise(resolve => setTimeout(resolve, DIAL_DEFER_MS + 1_000))
  t.ok(settled(a, b), 'one connection on each end, dialled by the lower id')
  t.equal(open(a, b) + open(b, a), 2, 'a and b each hold one')
})

t.test('dials that cross are settled on both ends: the lower id\'s connection stays', async t => {
  const [a, b] = await Promise.all([mkNode(undefined), mkNode(undefined)])
  t.teardown(async () => { await Promise.all([a, b].map(async n => { await n.stop() })) })
  // both dial before either connection is up, so neither can reuse the other's
  await Promise.all([a.dial(b.getMultiaddrs()), b.dial(a.getMultiaddrs())])
  // an end may see its second connection open a moment after the other end closed it
  t.ok(await until(() => settled(a, b), 30_000), 'one connection left on each end, the one the lower id dialled')
})
