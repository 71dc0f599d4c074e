/**
 * A running hub (real CLI process) refuses every node that lacks the fleet's swarm
 * key: another key and no key at all fail to connect; the right key connects (so the
 * test can fail).
 */
import t from 'tap'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { createStoremeshNode } from '../../src/net/node.js'
import { generateSwarmKey, readSwarmKeyFile, type SwarmKey } from '../../src/net/swarm-key.js'
import { lanFixture, readStatus, spawnHub, stopProc, waitUntil } from '../support/lan-fixture.js'

t.test('a node without the swarm key cannot connect to a hub', async t => {
  const f = await lanFixture(t)
  const hub = spawnHub(f, join(f.dir, 'hub'))
  let addrs: string[] = []
  await waitUntil('hub listening', async () => {
    const s = await readStatus(hub.dataDir)
    addrs = s?.addrs ?? []
    return addrs.length > 0
  }, 60_000, [hub])
  const target = addrs.map(a => multiaddr(a))

  const attempt = async (swarmKey: SwarmKey | null): Promise<boolean> => {
    const node = await createStoremeshNode({ swarmKey })
    try {
      await node.dial(target, { signal: AbortSignal.timeout(10_000) })
      return true
    } catch {
      return false
    } finally {
      await node.stop()
    }
  }
  t.equal(await attempt(generateSwarmKey()), false, 'another fleet key: refused')
  t.equal(await attempt(null), false, 'no key: refused')
  t.equal(await attempt(await readSwarmKeyFile(f.swarmKeyPath)), true, 'the fleet key: connected')
  t.equal(await stopProc(hub), 0)
})
