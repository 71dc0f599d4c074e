/**
 * `storemesh hub prefetch --policy <file> --window ...` end to end, all real processes:
 * a store hub running with `--super` at a super hub that is down, the prefetch command,
 * then the super hub started on that address. The command is
 * accepted while the super hub is down and is idempotent; the hub tries, fails and
 * retries; when the super hub comes back on the same address the bundle is pre-staged.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { loadOrCreatePeerKey } from '../../src/net/identity.js'
import { parsePolicy } from '../../src/policy/schema.js'
import { encodeSignedPolicy, signPolicy } from '../../src/policy/signed.js'
import { readPrefetchQueue } from '../../src/wan/prefetch-queue.js'
import { runCli, spawnCli } from '../support/cli.js'
import { adopt, bundleOf, lanFixture, makeBundleDir, readStatus, spawnHub, waitUntil, DEVICE_CLASS, type LanFixture, type Proc } from '../support/lan-fixture.js'
import { FIXTURE_KEY } from '../support/store-fixture.js'
import { freePort } from './hub-fixture.js'

const BUNDLE_BYTES = 2 * 1024 * 1024

/** A window open now: from an hour ago to two hours ahead, UTC (may wrap midnight). */
function windowAroundNow (): string {
  const hhmm = (minuteOfDay: number): string => {
    const m = ((minuteOfDay % 1440) + 1440) % 1440
    return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`
  }
  const now = new Date()
  const minute = now.getUTCHours() * 60 + now.getUTCMinutes()
  return `${hhmm(minute - 60)}-${hhmm(minute + 120)}`
}

function startSuper (f: LanFixture, dataDir: string, bundlesDir: string, port: number): Proc {
  return adopt(f, spawnCli(['super-hub', '--data', dataDir, '--bundles', bundlesDir, '--swarm-key', f.swarmKeyPath,
    '--trust', f.trustPath, '--listen', `/ip4/127.0.0.1/tcp/${port}`]), dataDir)
}

async function superAddr (p: Proc): Promise<string> {
  let addr: string | undefined
  await waitUntil('super hub listening', async () => {
    const m = /super hub (\S+) seeding .* on (\/ip4\/127\.0\.0\.1\/tcp\/\d+)/.exec(p.stdout())
    if (m !== null) addr = `${m[2] as string}/p2p/${m[1] as string}`
    return addr !== undefined
  }, 60_000, [p])
  return addr as string
}

t.test('hub prefetch: accepted while the super hub is down, idempotent, pulled when it returns', async t => {
  const f = await lanFixture(t)
  const t0 = Date.now()
  const elapsed = (): string => `${((Date.now() - t0) / 1000).toFixed(1)} s:`
  const bundlesDir = join(f.dir, 'bundles')
  await mkdir(bundlesDir, { recursive: true })
  const { info } = await makeBundleDir(bundlesDir, 'prefetch-os', BUNDLE_BYTES, 41)
  const policyPath = join(f.dir, 'policy.signed.json')
  await writeFile(policyPath, encodeSignedPolicy(signPolicy(parsePolicy({
    apiVersion: 'storemesh/v1',
    kind: 'RolloutPolicy',
    metadata: { name: 'prefetch-test', wave: 1 },
    spec: {
      bundle: { id: info.id, version: '1.0.0' },
      targets: { deviceClass: DEVICE_CLASS, percentage: 100 },
      verification: { healthCheck: { url: 'http://127.0.0.1:9/health', timeoutSeconds: 1 } }
    }
  }), [FIXTURE_KEY])))

  // the super hub's identity is made here and kept in its data dir: its address is known
  // before it ever runs, so the store hub starts while it is down
  const superDir = join(f.dir, 'super')
  await mkdir(superDir, { recursive: true })
  const superId = peerIdFromPrivateKey(await loadOrCreatePeerKey(superDir)).toString()
  const port = await freePort()
  const addr = `/ip4/127.0.0.1/tcp/${port}/p2p/${superId}`

  const hubDir = join(f.dir, 'hub')
  await mkdir(hubDir, { recursive: true })
  const hub = spawnHub(f, hubDir, ['--super', addr, '--no-api'])
  await waitUntil('hub running', async () => (await readStatus(hubDir)) !== undefined, 60_000, [hub])
  t.comment(`${elapsed()} hub running`)

  const window = windowAroundNow()
  const prefetch = async (): Promise<{ added: boolean, entry: { bundleId: string, state: string, window?: string } }> => {
    const r = await runCli(['hub', 'prefetch', '--data', hubDir, '--policy', policyPath, '--trust', f.trustPath,
      '--window', window, '--timezone', 'UTC', '--json'], { timeoutMs: 180_000 })
    t.equal(r.code, 0, `hub prefetch exits 0 (code ${String(r.code)}, signal ${String(r.signal)}${r.stderr.trim() !== '' ? `: ${r.stderr.trim().slice(0, 300)}` : ''})`)
    return JSON.parse(r.stdout) as { added: boolean, entry: { bundleId: string, state: string, window?: string } }
  }
  const a = await prefetch()
  t.equal(a.added, true, 'queued while the super hub is down')
  t.equal(a.entry.bundleId, info.id, 'the policy\'s bundle')
  t.equal(a.entry.window, window)
  t.comment(`${elapsed()} queued`)

  // the running hub picks the entry up and fails against the dead super hub (then backs off and retries)
  await waitUntil('hub tried the dead super hub', async () => /pre-staging .* failed, retrying/.test(hub.stderr()), 60_000, [hub])
  t.comment(`${elapsed()} the hub failed against the dead super hub`)
  // start the super hub at once (the hub's back-off grows while it is down) and prefetch again meanwhile
  const sup = startSuper(f, superDir, bundlesDir, port)
  const b = await prefetch()
  t.equal(b.added, false, 'a second prefetch is a no-op (already queued)')
  const queue = await readPrefetchQueue(hubDir)
  t.equal(queue.length, 1, 'one entry in prefetch.json')
  t.equal(await superAddr(sup), addr, 'the super hub came up on the address the hub was given')
  t.comment(`${elapsed()} super hub up`)
  await waitUntil('bundle pre-staged once the super hub is up', async () =>
    (await readPrefetchQueue(hubDir))[0]?.state === 'staged', 120_000, [hub, sup])
  t.comment(`${elapsed()} staged`)
  await waitUntil('hub status shows the bundle verified', async () =>
    bundleOf(await readStatus(hubDir), info.id)?.state === 'verified', 30_000, [hub, sup])
  t.match(hub.stderr(), /pre-staged b3:/, 'the hub logged the pre-staging')

  const c = await prefetch()
  t.equal(c.added, false, 'prefetch after staging is still a no-op')
  t.equal(c.entry.state, 'staged', 'and reports the entry staged')
  t.equal((await readPrefetchQueue(hubDir)).length, 1, 'still one entry')
})
