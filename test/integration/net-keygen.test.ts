/**
 * `storemesh keygen --swarm --out <file>` as a real child process, and two nodes that
 * read that file connecting to each other.
 */
import t from 'tap'
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { runCli } from '../support/cli.js'
import { createStoremeshNode } from '../../src/net/node.js'
import { readSwarmKeyFile, swarmKeyFingerprint } from '../../src/net/swarm-key.js'

t.test('keygen --swarm writes a usable fleet key and never clobbers one', async t => {
  const dir = t.testdir()
  const path = join(dir, 'swarm.key')
  const first = await runCli(['keygen', '--swarm', '--out', path])
  t.equal(first.code, 0, first.stderr)
  const key = await readSwarmKeyFile(path)
  t.equal(first.stdout.trim(), swarmKeyFingerprint(key), 'prints the fingerprint, not the key')
  t.notMatch(first.stdout, Buffer.from(key.psk).toString('hex'))
  t.equal((await stat(path)).mode & 0o777, 0o600)

  const again = await runCli(['keygen', '--swarm', '--out', path])
  t.equal(again.code, 64, 'refuses to replace a fleet key')
  t.match(again.stderr, /E_INVALID_ARGUMENT/)
  t.same((await readSwarmKeyFile(path)).psk, key.psk, 'the key is unchanged')

  const forced = await runCli(['keygen', '--swarm', '--out', path, '--force', '--json'])
  t.equal(forced.code, 0, forced.stderr)
  const out = JSON.parse(forced.stdout) as { kind: string, id: string }
  t.equal(out.kind, 'swarm-psk')
  const replaced = await readSwarmKeyFile(path)
  t.equal(out.id, swarmKeyFingerprint(replaced))

  const a = await createStoremeshNode({ swarmKey: replaced })
  t.teardown(async () => { await a.stop() })
  const b = await createStoremeshNode({ swarmKey: await readSwarmKeyFile(path) })
  t.teardown(async () => { await b.stop() })
  await b.dial(a.getMultiaddrs()[0]!, { signal: AbortSignal.timeout(5_000) })
  t.equal(b.getConnections(a.peerId).length, 1, 'two nodes reading the file connect')
})
