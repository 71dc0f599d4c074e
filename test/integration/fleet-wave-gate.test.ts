/**
 * Issue 16, the store hub's wave gate (docs/fleet-waves.md "The store hub's wave gate"):
 * a store hub with a super hub uplink grants no install lease for a wave until it has
 * heard from its super hub this store's word on that wave.
 *
 * Real processes: `storemesh super-hub --policy P --start-wave W` (its control plane
 * runs wave W), a store hub (`storemesh hub --super … --bundle …`) and a device agent
 * (`storemesh device run --install`, lease kind hub) holding W's signed policy. The
 * super hub is SIGSTOPped before the hub ever reaches it, so the hub cannot hear
 * anything: the device, whose every other gate passes, is refused its lease
 * (`wave-held: wave.store-pending`) and does not install. SIGCONT: the hub reports, the
 * store joins the wave as batch 1, its batch starts, and only then the device installs.
 * The same device under a hub with no uplink installs at once (today's behaviour kept).
 */
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { runCli, spawnCli } from '../support/cli.js'
import { bootSlot, installDeviceDir } from '../support/install-device.js'
import { adopt, lanFixture, makeBundleDir, spawnDevice, spawnHub, waitUntil, type Proc } from '../support/lan-fixture.js'
import { superHubAddr } from '../support/super-hub-proc.js'

const WAVE = '171'
const VERSION = '1.0.0'
const STORE = 'store-gate'
const DEVICE = 'pos-51'
/** bounds only */
const WAIT_MS = 180_000
const DEVICE_ARGS = ['--install', '--install-interval-ms', '300', '--report-interval-ms', '300']

interface FleetView { batches: Array<{ storeIds: string[], startedMs?: number }> }

/** The wave's batches as the super hub wrote them (super-ledger.json, status-view.ts `fleet`). */
async function fleetView (superDir: string): Promise<FleetView | undefined> {
  const text = await readFile(join(superDir, 'super-ledger.json'), 'utf8').catch(() => '')
  if (text === '') return undefined
  const s = JSON.parse(text) as { waves?: Array<{ waveId: string, fleet?: FleetView }> }
  return s.waves?.find(w => w.waveId === WAVE)?.fleet
}

t.test('under a super hub, no install before the store hears its batch started; then it installs', async t => {
  const f = await lanFixture(t)
  const { outDir, info } = await makeBundleDir(f.dir, 'gated-os', 300_000, 71, VERSION)
  const devDir = await installDeviceDir(f, { deviceId: DEVICE, info, version: VERSION, wave: WAVE, policyName: 'wave-gate', leaseKind: 'hub', slotSeed: 71 })

  // the super hub runs wave W from its signed policy (the device's own policy file)
  const superDir = join(f.dir, 'super')
  const noBundles = join(f.dir, 'no-bundles')
  await mkdir(noBundles, { recursive: true })
  const sup = adopt(f, spawnCli(['super-hub', '--data', superDir, '--bundles', noBundles, '--swarm-key', f.swarmKeyPath, '--trust', f.trustPath,
    '--listen', '/ip4/127.0.0.1/tcp/0', '--policy', join(devDir, 'policy.signed.json'), '--start-wave', WAVE, '--wave-tick-ms', '300', '--json']), superDir)
  const superAddr = await superHubAddr(sup)
  await waitUntil(`the super hub planned wave ${WAVE}`, async () => new RegExp(`wave ${WAVE} \\(wave-gate\\): planned`).test(sup.stdout() + sup.stderr()), 120_000, [sup])

  // the WAN goes quiet before the hub ever reaches the super hub: it can hear nothing
  sup.child.kill('SIGSTOP')
  let stopped = true
  t.teardown(() => { if (stopped) sup.child.kill('SIGCONT') })
  const hubDir = join(f.dir, 'hub')
  const hub = spawnHub(f, hubDir, ['--bundle', outDir, '--super', superAddr, '--hub-id', STORE])
  const dev = spawnDevice(f, devDir, DEVICE_ARGS)
  const live = (): Proc[] => [hub, dev]

  const refused = /install: .*lease denied: wave-held: wave\.store-pending[^\n]*/
  await waitUntil('the device is refused its lease: the hub has not heard the store\'s gate', async () =>
    refused.test(dev.stderr()) || await bootSlot(devDir) === 'b', WAIT_MS, live())
  t.not(await bootSlot(devDir), 'b', 'the device did not install while its hub had not heard the store\'s gate')
  t.ok(refused.test(dev.stderr()), `the device says why: ${refused.exec(dev.stderr())?.[0].slice(0, 300) ?? dev.stderr().slice(-600)}`)
  t.match(hub.stderr(), /wave gate: pending: wave 171/, 'the hub logs the held wave')
  // `storemesh status` of the hub says which wave is held and why
  let shown = ''
  await waitUntil('storemesh status shows the held wave', async () => {
    const r = await runCli(['status', '--data', hubDir], { timeoutMs: 60_000 })
    shown = r.stdout
    return /wave 171 gate: pending: .*not heard from the super hub/.test(r.stdout)
  }, WAIT_MS, live())
  t.pass(`status: ${/wave 171 gate: [^\n]*/.exec(shown)?.[0] ?? ''}`)

  // the WAN is back: the hub reports, the store joins the wave, its batch starts, and then the device installs
  sup.child.kill('SIGCONT')
  stopped = false
  const all = (): Proc[] => [sup, hub, dev]
  await waitUntil('the device installed', async () => await bootSlot(devDir) === 'b', WAIT_MS, all())
  const installedAtMs = Date.now()
  // super-ledger.json is rewritten on the super hub's own pace: wait for the write that has the batch
  let view: FleetView | undefined
  await waitUntil('super-ledger.json shows the store\'s batch', async () => {
    view = await fleetView(superDir)
    return view?.batches.find(b => b.storeIds.includes(STORE))?.startedMs !== undefined
  }, WAIT_MS, all())
  const batch = view?.batches.find(b => b.storeIds.includes(STORE))
  t.ok(batch?.startedMs !== undefined, `the store's batch started: ${JSON.stringify(view?.batches)}`)
  t.ok(batch?.startedMs !== undefined && batch.startedMs <= installedAtMs, 'the batch started before the install was seen')
  t.match(hub.stderr(), /wave gate: open: wave 171/, 'the hub heard the store\'s batch started from its super hub')
})

t.test('the same device under a hub with no super hub installs at once', async t => {
  const f = await lanFixture(t)
  const { outDir, info } = await makeBundleDir(f.dir, 'gated-os', 300_000, 71, VERSION)
  const devDir = await installDeviceDir(f, { deviceId: DEVICE, info, version: VERSION, wave: WAVE, policyName: 'wave-gate', leaseKind: 'hub', slotSeed: 71 })
  const hub = spawnHub(f, join(f.dir, 'hub'), ['--bundle', outDir])
  const dev = spawnDevice(f, devDir, DEVICE_ARGS)
  await waitUntil('the device installed', async () => await bootSlot(devDir) === 'b', WAIT_MS, [hub, dev])
  t.notMatch(dev.stderr(), /wave-held/, 'no wave gate without an uplink')
})
