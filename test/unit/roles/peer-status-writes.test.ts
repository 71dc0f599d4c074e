/**
 * status.json is rewritten only when the peer's figures changed (issue #19: an idle
 * agent must not spend CPU on it nor wear the flash); updatedAt says when they last
 * changed, and the stop still writes the last snapshot.
 */
import { randomBytes } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import t from 'tap'
import { generateSwarmKey } from '../../../src/net/swarm-key.js'
import { LanPeer } from '../../../src/roles/peer.js'
import { readStatusFile, statusPath } from '../../../src/roles/peer-status.js'

t.test('an unchanged snapshot is not written again; a change and the stop are', async t => {
  const dataDir = t.testdir()
  const peer = await LanPeer.start({
    role: 'device', dataDir, swarmKey: generateSwarmKey(), trust: { keys: [] }, listen: ['/ip4/127.0.0.1/tcp/0'],
    serviceTag: `storemesh-test-${randomBytes(4).toString('hex')}`,
    // only the explicit calls below write
    statusIntervalMs: 600_000
  })
  let stopped = false
  t.teardown(async () => { if (!stopped) await peer.stop() })
  const path = statusPath(dataDir)
  const first = await readFile(path, 'utf8')
  const firstInode = (await stat(path)).ino

  await new Promise(resolve => setTimeout(resolve, 20))
  await peer.writeStatus()
  await peer.writeStatus()
  t.equal(await readFile(path, 'utf8'), first, 'same figures: the file is left alone, updatedAt too')
  t.equal((await stat(path)).ino, firstInode, 'not even replaced by an identical copy')

  peer.bans.ban(randomBytes(8).toString('hex'), 'test')
  await peer.writeStatus()
  const changed = await readStatusFile(dataDir)
  t.equal(changed?.bans.length, 1, 'a change is written')
  const before = await readStatusFile(dataDir).then(s => s?.updatedAt)
  t.ok(Date.parse(changed?.updatedAt ?? '') > Date.parse(JSON.parse(first).updatedAt as string), 'updatedAt moves with a real write')

  stopped = true
  await peer.stop()
  const last = await readStatusFile(dataDir)
  t.equal(last?.running, false, 'the stop writes the last snapshot')
  t.ok(Date.parse(last?.updatedAt ?? '') >= Date.parse(before ?? ''))
})
