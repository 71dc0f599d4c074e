import t from 'tap'
import { peerIdFromString } from '@libp2p/peer-id'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { mergePeerGaters, allowlistGater } from '../../../src/net/gater.js'
import { banGater, BanList } from '../../../src/swarm/index.js'
import { isNewer } from '../../../src/roles/device-agent.js'
import { readStatusFile, writeStatusFile, type PeerStatus } from '../../../src/roles/peer-status.js'
import { makeBundle, seededBytes } from '../../support/store-fixture.js'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'

t.test('mergePeerGaters refuses a peer when the allowlist or the ban list does', async t => {
  const a = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const b = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const bans = new BanList()
  const gater = mergePeerGaters(allowlistGater(new Set([a.toString(), b.toString()])), banGater(bans))
  t.equal(await gater.denyDialPeer?.(a), false)
  bans.ban(a.toString(), 'test')
  t.equal(await gater.denyDialPeer?.(a), true, 'banned')
  t.equal(await gater.denyInboundEncryptedConnection?.(a, undefined as never), true)
  t.equal(await gater.denyOutboundEncryptedConnection?.(b, undefined as never), false)
  const stranger = peerIdFromString(peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString())
  t.equal(await gater.denyDialPeer?.(stranger), true, 'not on the allowlist')
  t.same(Object.keys(mergePeerGaters(allowlistGater(undefined))), [], 'nothing to merge: an open gater')
})

t.test('isNewer: higher version, or the same version signed later', async t => {
  const art = [{ name: 'os.img', bytes: seededBytes(4096, 1) }]
  const v1 = makeBundle({ artifacts: art, chunkBytes: 1024, version: '1.0.0' }).info
  const v2 = makeBundle({ artifacts: art, chunkBytes: 1024, version: '1.1.0' }).info
  t.ok(isNewer(v1, undefined))
  t.ok(isNewer(v2, v1))
  t.notOk(isNewer(v1, v2))
  t.notOk(isNewer(v1, v1))
})

t.test('status file: atomic write, read back, refuses other files', async t => {
  const dir = t.testdir()
  const s: PeerStatus = {
    schema: 1, role: 'device', peerId: 'p', pid: 1, running: true, startedAt: 'x', updatedAt: 'y', addrs: [], connections: 0, bans: [], bundles: []
  }
  t.equal(await readStatusFile(dir), undefined, 'none yet')
  await writeStatusFile(dir, s)
  t.same(await readStatusFile(dir), s)
  await writeFile(join(dir, 'status.json'), '{"schema":9}')
  await t.rejects(readStatusFile(dir), { code: 'E_CONFIG_INVALID' })
})
