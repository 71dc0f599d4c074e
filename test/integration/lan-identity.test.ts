/**
 * Node identity through the real CLI: `identity enrol` writes each node's certificate
 * next to its peer key; a hub run with `--enrolment-trust --require-certificates`
 * serves the enrolled device and refuses the one without a certificate, with
 * E_CERT_MISSING in its log. Processes on 127.0.0.1 with
 * real mDNS.
 */
import { join } from 'node:path'
import t from 'tap'
import { openStore } from '../../src/store/index.js'
import { runCli } from '../support/cli.js'
import { bundleOf, lanFixture, makeBundleDir, readStatus, spawnDevice, spawnHub, stopProc, waitUntil } from '../support/lan-fixture.js'

const MiB = 1024 * 1024

t.test('certificates required: the enrolled device completes, the uncertified one is refused', async t => {
  const f = await lanFixture(t)
  const key = join(f.dir, 'enrol.key')
  const pub = join(f.dir, 'enrol.pub')
  t.equal((await runCli(['keygen', '--out', key, '--public', pub])).code, 0)
  const enrol = async (dataDir: string, deviceId: string, role: string): Promise<void> => {
    const r = await runCli(['identity', 'enrol', '--data', dataDir, '--enrolment-key', key, '--device-id', deviceId, '--store-id', 's-1',
      '--role', role, '--class', 'pos-tablet'])
    t.equal(r.code, 0, r.stderr)
  }
  const hubDir = join(f.dir, 'hub')
  const goodDir = join(f.dir, 'good')
  const bareDir = join(f.dir, 'bare')
  await Promise.all([enrol(hubDir, 'hub-1', 'hub'), enrol(goodDir, 'pos-1', 'device')])
  const identity = ['--enrolment-trust', pub, '--require-certificates']

  const { outDir, info } = await makeBundleDir(f.dir, 'fleet-os', 4 * MiB, 5)
  const hub = spawnHub(f, hubDir, ['--bundle', outDir, ...identity])
  await waitUntil('hub seeding', async () => bundleOf(await readStatus(hub.dataDir), info.id)?.joined === true, 60_000, [hub])
  const good = spawnDevice(f, goodDir, identity)
  // no certificate: it does not require them itself, so only the hub's refusal stops it
  const bare = spawnDevice(f, bareDir, ['--enrolment-trust', pub])
  await waitUntil('the enrolled device verified the bundle', async () => bundleOf(await readStatus(good.dataDir), info.id)?.state === 'verified', 120_000, [hub, good, bare])
  await waitUntil('the hub refused the uncertified device', async () => hub.stderr().includes('E_CERT_MISSING'), 30_000, [hub, good, bare])
  t.match(bare.stderr(), /no certificate in/, 'the uncertified device was warned at start')
  t.match(hub.stderr(), /refused peer \S+: E_CERT_MISSING/)

  const codes = await Promise.all([hub, good, bare].map(async p => await stopProc(p)))
  t.same(codes, [0, 0, 0], 'every process stopped cleanly')
  // what the hub stores from an unverified peer is covered by net-identity-chunks.test.ts
  const store = await openStore({ dataDir: join(goodDir, 'store') })
  try {
    t.equal((await store.verifyChunks()).dropped, 0, 'every chunk of the enrolled device re-hashes to its name')
  } finally {
    await store.stop()
  }
})
