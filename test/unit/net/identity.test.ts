import t from 'tap'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { decodePeerKeyFile, loadOrCreatePeerKey, peerKeyPath } from '../../../src/net/identity.js'

t.test('creates a private Ed25519 key once and reloads it', async t => {
  const dir = join(t.testdir(), 'nested', 'data')
  const a = await loadOrCreatePeerKey(dir)
  t.equal(a.type, 'Ed25519')
  t.equal((await stat(peerKeyPath(dir))).mode & 0o777, 0o600)
  const b = await loadOrCreatePeerKey(dir)
  t.ok(peerIdFromPrivateKey(a).equals(peerIdFromPrivateKey(b)), 'same identity')
  const file = JSON.parse(await readFile(peerKeyPath(dir), 'utf8')) as { peerId: string }
  t.equal(file.peerId, peerIdFromPrivateKey(a).toString(), 'the file names its peer id')
})

t.test('concurrent creators agree on one key', async t => {
  const dir = t.testdir()
  const keys = await Promise.all(Array.from({ length: 8 }, async () => await loadOrCreatePeerKey(dir)))
  const ids = new Set(keys.map(k => peerIdFromPrivateKey(k).toString()))
  t.equal(ids.size, 1)
})

t.test('wrong files are E_KEY_INVALID', async t => {
  const dir = t.testdir()
  const good = JSON.parse(await readFile(peerKeyPath(dir), 'utf8').catch(async () => {
    await loadOrCreatePeerKey(dir)
    return await readFile(peerKeyPath(dir), 'utf8')
  })) as Record<string, string>
  const bad = [
    'not json',
    JSON.stringify({ ...good, type: 'storemesh/ed25519-private' }),
    JSON.stringify({ ...good, privateKey: 'AAAA' }),
    JSON.stringify({ ...good, peerId: '12D3KooWFoo' }),
    '/key/swarm/psk/1.0.0/\n/base16/\n' + 'ab'.repeat(32)
  ]
  for (const text of bad) {
    t.throws(() => decodePeerKeyFile(new TextEncoder().encode(text)), { code: 'E_KEY_INVALID' }, text.slice(0, 30))
  }
  await writeFile(peerKeyPath(dir), 'garbage')
  await t.rejects(loadOrCreatePeerKey(dir), { code: 'E_KEY_INVALID' }, 'a damaged file is not silently replaced')
})
