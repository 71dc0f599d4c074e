/**
 * Connection and stream caps against one key holder (issue #20), with real nodes on
 * 127.0.0.1: extra connections from one peer are closed, oldest first, and chunk
 * streams that never finish their handshake are capped per peer.
 */
import t from 'tap'
import { createStoremeshNode } from '../../src/net/node.js'
import { DEFAULT_MAX_CONNECTIONS_PER_PEER } from '../../src/net/constants.js'
import { generateSwarmKey } from '../../src/net/swarm-key.js'
import { chunkProtocol, CHUNK_PROTOCOL } from '../../src/swarm/index.js'
import { DEFAULT_MAX_PENDING_STREAMS_PER_PEER } from '../../src/swarm/constants.js'
import { MemoryStore } from '../support/memory-store.js'
import { waitFor } from '../support/poll.js'

const swarmKey = generateSwarmKey()

t.test('one peer cannot hold more than DEFAULT_MAX_CONNECTIONS_PER_PEER connections; the oldest go', async t => {
  const target = await createStoremeshNode({ swarmKey })
  const greedy = await createStoremeshNode({ swarmKey })
  t.teardown(async () => { await Promise.all([target, greedy].map(async n => { await n.stop() })) })
  const addr = target.getMultiaddrs()[0]!
  const first = await greedy.dial(addr)
  for (let i = 0; i < DEFAULT_MAX_CONNECTIONS_PER_PEER + 4; i++) await greedy.dial(addr, { force: true })
  await waitFor(async () => target.getConnections(greedy.peerId).filter(c => c.status === 'open').length <= DEFAULT_MAX_CONNECTIONS_PER_PEER,
    10_000, 'the target closes the extra connections')
  t.ok(target.getConnections(greedy.peerId).filter(c => c.status === 'open').length <= DEFAULT_MAX_CONNECTIONS_PER_PEER)
  await waitFor(async () => first.status !== 'open', 10_000, 'the oldest connection is the one closed')
  t.not(first.status, 'open', 'the oldest connection was closed')
  t.ok(greedy.getConnections(target.peerId).some(c => c.status === 'open'), 'the newest stay')
})

t.test('chunk streams that never finish their handshake are capped per peer', async t => {
  const target = await createStoremeshNode({ swarmKey, services: { chunks: chunkProtocol({ store: new MemoryStore(), resolveBundle: async () => undefined }) } })
  const opener = await createStoremeshNode({ swarmKey })
  t.teardown(async () => { await Promise.all([target, opener].map(async n => { await n.stop() })) })
  const conn = await opener.dial(target.getMultiaddrs()[0]!)
  const opened = []
  for (let i = 0; i < DEFAULT_MAX_PENDING_STREAMS_PER_PEER + 12; i++) {
    // a stream that says nothing: the handler waits for its handshake
    opened.push(await conn.newStream(CHUNK_PROTOCOL).catch(() => undefined))
  }
  await waitFor(async () => target.services.chunks.refusedStreams >= 12, 10_000, 'the streams past the cap are refused')
  t.equal(target.services.chunks.refusedStreams, 12, `the first ${DEFAULT_MAX_PENDING_STREAMS_PER_PEER} wait, the rest are refused at once`)
  t.equal(conn.status, 'open', 'the connection itself stays up')
})
