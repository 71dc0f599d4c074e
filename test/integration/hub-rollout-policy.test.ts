/**
 * The store hub's lease limit follows the signed policy (docs/fleet-waves.md): a hub
 * started with `--policy` (maxConcurrentPerHub 3) and `--max-concurrent-installs 2`
 * grants 2 (the flag tightens); a tighter policy prefetched through the API lowers the
 * limit to 1 (the signed policy wins over the flag it reached later); a flag that
 * would loosen the policy is refused at start with E_POLICY_CONFLICT, also against
 * the policies the hub kept from its last run; and
 * `storemesh status` shows the value with its source. The super hub refuses a looser
 * `--halt-on-rollback-ratio` the same way.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { encodeSignedPolicy, parsePolicy, signPolicy } from '../../src/policy/index.js'
import { FIXTURE_KEY } from '../support/bundles.js'
import { runCli } from '../support/cli.js'
import { commonArgs, lanFixture, spawnHub, stopProc, waitUntil } from '../support/lan-fixture.js'
import { freePort, HubApi } from './hub-fixture.js'

function signedPolicyText (name: string, maxConcurrentPerHub: number): string {
  const policy = parsePolicy({
    apiVersion: 'storemesh/v1',
    kind: 'RolloutPolicy',
    metadata: { name, wave: 7 },
    spec: { bundle: { id: 'b3:' + 'cd'.repeat(32), version: '1.0.0' }, rollout: { maxConcurrentPerHub } }
  })
  return new TextDecoder().decode(encodeSignedPolicy(signPolicy(policy, [FIXTURE_KEY])))
}

interface RolloutStatus { leases: { limit: number }, rollout: { maxConcurrentPerHub: { value: number, source: string, policyName?: string, flag?: number, flagOverridden?: boolean } } }

t.test('the hub lease limit follows the signed policy; the flag only tightens', async t => {
  const f = await lanFixture(t)
  const policyPath = join(f.dir, 'pos-q4.policy.json')
  await writeFile(policyPath, signedPolicyText('pos-q4', 3))
  const hubDir = join(f.dir, 'hub')

  const loose = await runCli(['hub', ...commonArgs(f, hubDir), '--policy', policyPath, '--max-concurrent-installs', '5', '--no-api'])
  t.equal(loose.code, 64, 'a looser flag is a usage error')
  t.match(loose.stderr, /E_POLICY_CONFLICT --max-concurrent-installs 5 would loosen the signed policy's spec\.rollout\.maxConcurrentPerHub 3/)

  const port = await freePort()
  const hub = spawnHub(f, hubDir, ['--policy', policyPath, '--max-concurrent-installs', '2', '--api-port', String(port)])
  const api = new HubApi(`http://127.0.0.1:${port}`, hubDir)
  await waitUntil('hub API up', async () => await api.up(), 60_000, [hub])
  const first = await api.get<RolloutStatus>('/api/status')
  t.equal(first.leases.limit, 2, 'the lease table grants 2 at once')
  t.match(first.rollout.maxConcurrentPerHub, { value: 2, source: 'flag', policyName: 'pos-q4', flag: 2 })

  // a tighter policy of another wave, handed to the running hub: the tightest applies
  const token = await api.token()
  const kiosk = await api.post('/api/prefetch', { policy: signedPolicyText('kiosk-q4', 1) }, token)
  t.equal(kiosk.status, 200, JSON.stringify(kiosk.body))
  const second = await api.get<RolloutStatus>('/api/status')
  t.equal(second.leases.limit, 1)
  t.match(second.rollout.maxConcurrentPerHub, { value: 1, source: 'policy', policyName: 'kiosk-q4', flag: 2, flagOverridden: true })
  t.equal(await stopProc(hub), 0, hub.stderr())

  const status = await runCli(['status', '--data', hubDir])
  t.equal(status.code, 0, status.stderr)
  t.match(status.stdout, /install leases at once: 1, from the signed policy kiosk-q4 wave 7 \(--max-concurrent-installs 2 is looser and set aside\)/)
  t.match(status.stdout, /rollout policies: kiosk-q4 wave 7 .*maxConcurrentPerHub 1.*; pos-q4 wave 7 .*maxConcurrentPerHub 3/)

  // the kept policies hold across a restart: 2 is looser than the kept kiosk-q4 (1)
  const again = await runCli(['hub', ...commonArgs(f, hubDir), '--max-concurrent-installs', '2', '--no-api'])
  t.equal(again.code, 64)
  t.match(again.stderr, /E_POLICY_CONFLICT --max-concurrent-installs 2 would loosen the signed policy's spec\.rollout\.maxConcurrentPerHub 1 \(policy kiosk-q4 wave 7\)/)
})

t.test('the super hub refuses a --halt-on-rollback-ratio looser than the wave\'s signed policy', async t => {
  const f = await lanFixture(t)
  const policyPath = join(f.dir, 'pos-q4.policy.json')
  await writeFile(policyPath, signedPolicyText('pos-q4', 3))
  await mkdir(join(f.dir, 'bundles'))
  const r = await runCli(['super-hub', '--data', join(f.dir, 'super'), '--bundles', join(f.dir, 'bundles'), '--swarm-key', f.swarmKeyPath,
    '--trust', f.trustPath, '--listen', '/ip4/127.0.0.1/tcp/0', '--policy', policyPath, '--halt-on-rollback-ratio', '0.5'])
  t.equal(r.code, 64, r.stderr)
  t.match(r.stderr, /E_POLICY_CONFLICT --halt-on-rollback-ratio 0\.5 would loosen the signed policy's spec\.rollout\.haltOnRollbackRatio 0\.05 \(policy pos-q4 wave 7\)/)
})
