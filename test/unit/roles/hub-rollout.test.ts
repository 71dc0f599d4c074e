/**
 * HubRollout: the signed policies' maxConcurrentPerHub drives a real lease table; the
 * flag only tightens (refused at open, set aside for a policy that arrives later); one
 * policy per name, the highest wave; kept across a reopen, untrusted or corrupt files skipped.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { generateSigningKey } from '../../../src/bundle/keys.js'
import { LeaseTable } from '../../../src/lease/index.js'
import { parsePolicy, signPolicy, type SignedPolicy } from '../../../src/policy/index.js'
import { HubRollout, ROLLOUT_POLICY_DIR } from '../../../src/roles/hub-rollout.js'
import { FIXTURE_KEY, FIXTURE_TRUST } from '../../support/bundles.js'

function signed (name: string, wave: number, maxConcurrentPerHub: number, key = FIXTURE_KEY): SignedPolicy {
  return signPolicy(parsePolicy({
    apiVersion: 'storemesh/v1',
    kind: 'RolloutPolicy',
    metadata: { name, wave },
    spec: { bundle: { id: 'b3:' + '12'.repeat(32), version: '1.0.0' }, rollout: { maxConcurrentPerHub } }
  }), [key])
}

async function open (dataDir: string, flag?: number, given: unknown[] = []): Promise<{ r: HubRollout, leases: LeaseTable }> {
  const leases = new LeaseTable({ maxConcurrentPerHub: 50 })
  const r = await HubRollout.open({ dataDir, trust: FIXTURE_TRUST, leases, maxConcurrentFlag: flag }, given)
  return { r, leases }
}

t.test('no policy: the flag, else the default', async t => {
  t.match((await open(t.testdir(), 7)).r.maxConcurrentPerHub, { value: 7, source: 'flag' })
  const { r, leases } = await open(t.testdir())
  t.match(r.maxConcurrentPerHub, { value: 5, source: 'default' })
  t.equal(leases.limit, 5)
})

t.test('the tightest policy sets the lease limit; one policy per name, the highest wave', async t => {
  const dir = t.testdir()
  const { r, leases } = await open(dir, undefined, [signed('pos', 3, 4)])
  t.equal(leases.limit, 4)
  t.match(await r.apply(signed('kiosk', 1, 2)), { changed: true, applied: { value: 2, source: 'policy', policyName: 'kiosk' } })
  t.equal(leases.limit, 2)
  t.match(await r.apply(signed('kiosk', 1, 2)), { changed: false }, 'the same policy again')
  t.match(await r.apply(signed('kiosk', 0, 1)), { changed: false }, 'an older wave of a name does not replace a newer one')
  t.equal(leases.limit, 2)
  await r.apply(signed('kiosk', 2, 6))
  t.equal(leases.limit, 4, 'kiosk wave 2 loosened its own figure; pos (4) is now the tightest')
  t.same(r.view().policies.map(p => `${p.name}:${p.wave}`), ['kiosk:2', 'pos:3'])
  await t.rejects(r.apply(signed('evil', 9, 1, generateSigningKey())), { code: /^E_SIGNATURE/ }, 'an untrusted policy is refused')
  t.equal(leases.limit, 4)
})

t.test('the flag: refused at open when looser, set aside for a policy that arrives later', async t => {
  const dir = t.testdir()
  await t.rejects(open(dir, 9, [signed('pos', 1, 4)]), { code: 'E_POLICY_CONFLICT' })
  const { r, leases } = await open(dir, 3, [signed('pos', 1, 4)])
  t.match(r.maxConcurrentPerHub, { value: 3, source: 'flag', flag: 3 })
  await r.apply(signed('kiosk', 1, 2))
  t.match(r.maxConcurrentPerHub, { value: 2, source: 'policy', flag: 3, flagOverridden: true })
  t.equal(leases.limit, 2)
})

t.test('kept policies hold across a reopen; a corrupt or untrusted file is skipped', async t => {
  const dir = t.testdir()
  await open(dir, undefined, [signed('pos', 1, 3)])
  await writeFile(join(dir, ROLLOUT_POLICY_DIR, 'junk.json'), '{not json')
  await writeFile(join(dir, ROLLOUT_POLICY_DIR, 'other.json'), JSON.stringify(signed('other', 1, 1, generateSigningKey())))
  const { r, leases } = await open(dir)
  t.equal(leases.limit, 3)
  t.same(r.view().policies.map(p => p.name), ['pos'])
  await t.rejects(open(dir, 4), { code: 'E_POLICY_CONFLICT' }, 'a kept policy refuses a looser flag too')
})
