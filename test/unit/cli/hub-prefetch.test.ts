/**
 * `storemesh hub prefetch` through the real CLI on a hub directory that does not exist
 * yet (issue 15, section 7): it is created, a second run is a no-op, and a bad window
 * or zone is refused before anything is written. The entry waits for the policy's
 * prestageHours before its maintenance window (docs/fleet-waves.md).
 */
import { stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { generateSigningKey, writeKeyFiles } from '../../../src/bundle/keys.js'
import { parsePolicy } from '../../../src/policy/schema.js'
import { encodeSignedPolicy, signPolicy } from '../../../src/policy/signed.js'
import { readPrefetchQueue } from '../../../src/wan/prefetch-queue.js'
import { isOpen, nextOpen } from '../../../src/time/index.js'
import { runCli } from '../../support/cli.js'
import { basePolicyInput, BUNDLE_ID } from '../policy/fixtures.js'

async function exists (path: string): Promise<boolean> {
  return await stat(path).then(() => true, () => false)
}

t.test('hub prefetch creates a missing data directory, idempotently, and checks the window first', async t => {
  const dir = t.testdir({})
  const key = generateSigningKey()
  await writeKeyFiles(join(dir, 'release.key.json'), join(dir, 'release.pub.json'), key)
  const policyPath = join(dir, 'policy.signed.json')
  await writeFile(policyPath, encodeSignedPolicy(signPolicy(parsePolicy(basePolicyInput()), [key])))
  const hubDir = join(dir, 'not', 'yet', 'hub')
  const prefetch = async (window: string, timezone: string): ReturnType<typeof runCli> =>
    await runCli(['hub', 'prefetch', '--data', hubDir, '--policy', policyPath, '--trust', join(dir, 'release.pub.json'),
      '--window', window, '--timezone', timezone, '--json'], { timeoutMs: 120_000 })

  const bad = await prefetch('Mon-Fro 00:30-03:30', 'UTC')
  t.equal(bad.code, 64, 'a bad window is a usage error')
  t.match(bad.stderr, /E_INVALID_ARGUMENT.*unknown day \\?"Fro/)
  const badZone = await prefetch('Sat,Sun 00:30-03:30', 'Mars/Olympus')
  t.equal(badZone.code, 64, 'so is an unknown zone')
  t.match(badZone.stderr, /E_INVALID_ARGUMENT.*unknown IANA time zone \\?"Mars\/Olympus/)
  t.notOk(await exists(hubDir), 'nothing was created for a refused command')

  const first = await prefetch('weekdays 00:30-03:30; Sat,Sun 00:00-06:00', 'Europe/Berlin')
  t.equal(first.code, 0, first.stderr)
  t.match(JSON.parse(first.stdout), { added: true, entry: { bundleId: BUNDLE_ID, state: 'queued', timezone: 'Europe/Berlin' } })
  const second = await prefetch('weekdays 00:30-03:30; Sat,Sun 00:00-06:00', 'Europe/Berlin')
  t.equal(second.code, 0, second.stderr)
  t.match(JSON.parse(second.stdout), { added: false }, 'the second run is a no-op')
  const queue = await readPrefetchQueue(hubDir)
  t.equal(queue.length, 1)
  t.equal(queue[0]?.window, 'weekdays 00:30-03:30; Sat,Sun 00:00-06:00')
  t.notOk(await exists(join(hubDir, 'prefetch.json.lock')), 'the lock is released')
  // the base policy: Tue 02:00-04:00 America/Chicago, prestageHours 48
  const e = queue[0]!
  const H48 = 48 * 3_600_000
  if (e.notBeforeMs !== undefined) {
    const opens = e.notBeforeMs + H48
    t.ok(isOpen('Tue 02:00-04:00', 'America/Chicago', opens) && !isOpen('Tue 02:00-04:00', 'America/Chicago', opens - 1), 'pre-staging starts 48 h before an opening of the window')
    t.ok(e.notBeforeMs > e.addedMs, 'and after the entry was queued')
  } else {
    t.ok(nextOpen('Tue 02:00-04:00', 'America/Chicago', e.addedMs) - H48 <= e.addedMs + 60_000, 'no wait: the window opens within 48 h')
  }
})
