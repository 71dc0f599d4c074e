/**
 * A device's mDNS socket sleeps between its backed-off queries once it has peers, and
 * wakes when its last connection goes (issue #19: every mDNS packet on the LAN woke an
 * idle agent, 60-90 us of CPU each, bench:mdns-packet). Real libp2p nodes on 127.0.0.1
 * finding each other over real multicast DNS, each test with a tag of its own.
 */
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { createStoremeshNode, mdnsSocketsAsleep, type StoremeshNode } from '../../../src/net/node.js'
import { waitFor } from '../../support/poll.js'

const tag = (): string => `storemesh-sleep-${randomBytes(4).toString('hex')}._udp.local`

async function mkNode (serviceTag: string, sleepWhenConnected: boolean): Promise<StoremeshNode> {
  return await createStoremeshNode({
    swarmKey: null,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    mdns: { serviceTag, intervalMs: 200, maxIntervalMs: 800, sleepWhenConnected }
  })
}

t.test('connected, the sleeper closes its mDNS socket; alone again, it wakes and finds a newcomer', async t => {
  const serviceTag = tag()
  const before = mdnsSocketsAsleep()
  const hub = await mkNode(serviceTag, false)
  const dev = await mkNode(serviceTag, true)
  t.teardown(async () => { await Promise.all([hub, dev].map(async n => { await n.stop() })) })
  await waitFor(() => dev.getConnections(hub.peerId).length > 0, 30_000, 'device and hub connected over mDNS')
  // before: the socket stayed open for ever (the count never moved)
  await waitFor(() => mdnsSocketsAsleep() === before + 1, 30_000, 'the device asleep between its queries')
  t.pass('the device sleeps; the hub, not asked to, listens')

  await hub.stop()
  await waitFor(() => mdnsSocketsAsleep() === before, 30_000, 'the device awake once alone')
  const hub2 = await mkNode(serviceTag, false)
  t.teardown(async () => { await hub2.stop() })
  await waitFor(() => dev.getConnections(hub2.peerId).length > 0, 30_000, 'the device finds the new hub')
  t.pass('found again over mDNS')
})
