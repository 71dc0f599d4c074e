/**
 * Issue 16 item 3: fleet orders end to end with real processes. A `storemesh super-hub`
 * (embedded PGlite, its fleet API on a free port), a store hub (`storemesh hub --super
 * … --bundle …`) reporting to it, and a device agent (`storemesh device run --install`,
 * lease kind hub) under that hub. `storemesh fleet hold --bundle B --data <super>` goes
 * through the running super hub's API; the hold travels in the answer to the hub's
 * report (protocols/report/SPEC.md "1.2.0"); the hub refuses the device's install lease
 * with reason `held` and the device does not install; `fleet release` lets it install.
 * Both orders show as acked by the one store in GET /api/orders (a count of stores). Then `fleet device
 * rollback --store --id` reaches the device, which rolls back to its previous slot.
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import type { LedgerView } from '../../src/api/types.js'
import { runCli, spawnCli } from '../support/cli.js'
import { adopt, lanFixture, makeBundleDir, spawnDevice, spawnHub, waitUntil, type Proc } from '../support/lan-fixture.js'
import { bootSlot, installDeviceDir } from '../support/install-device.js'
import { superHubAddr, superHubApi } from '../support/super-hub-proc.js'
import { freePort, HubApi } from './hub-fixture.js'

const WAVE = '161'
const VERSION = '1.0.0'
const STORE = 'store-e2e'
const DEVICE = 'pos-31'
/** bounds only: a held device asks again after HELD_RETRY_AFTER_MS (30 s) plus jitter */
const WAIT_MS = 120_000


interface OrderView { order: { orderId: string, action: string, bundleId?: string, deviceId?: string }, delivered: number, acked: number }

t.test('fleet hold, release and device rollback reach a real hub and device', async t => {
  const f = await lanFixture(t)
  const { outDir, info } = await makeBundleDir(f.dir, 'held-os', 300_000, 61, VERSION)

  // the super hub: embedded fleet database, fleet API on a free port (<data>/api.json says where)
  const superDir = join(f.dir, 'super')
  const noBundles = join(f.dir, 'no-bundles')
  await mkdir(noBundles, { recursive: true })
  const sup = adopt(f, spawnCli(['super-hub', '--data', superDir, '--bundles', noBundles, '--swarm-key', f.swarmKeyPath, '--trust', f.trustPath,
    '--listen', '/ip4/127.0.0.1/tcp/0', '--api-port', '0', '--halt-on-rollback-ratio', '1', '--json']), superDir)
  const superAddr = await superHubAddr(sup)
  const superApi = await superHubApi(sup, superDir)
  const orders = async (): Promise<OrderView[]> => ((await (await fetch(`${superApi}/api/orders`)).json()) as { orders: OrderView[] }).orders
  const fleet = async (...args: string[]): ReturnType<typeof runCli> => await runCli(['fleet', ...args, '--data', superDir], { timeoutMs: 60_000 })

  // the store hub, reporting to the super hub as STORE
  const port = await freePort()
  const hubDir = join(f.dir, 'hub')
  const hub = spawnHub(f, hubDir, ['--bundle', outDir, '--super', superAddr, '--hub-id', STORE, '--api-port', String(port)])
  const api = new HubApi(`http://127.0.0.1:${port}`, hubDir)
  await waitUntil('hub API up', async () => await api.up(), 60_000, [sup, hub])

  // hold the bundle before any device asks for it
  const hold = await fleet('hold', '--bundle', info.id, '--by', 'ci', '--reason', 'scanner firmware')
  t.equal(hold.code, 0, hold.stderr)
  const holdId = /order (o-[0-9a-f]+)/.exec(hold.stdout)?.[1]
  t.ok(holdId !== undefined, `the hold is an order: ${hold.stdout}`)
  await waitUntil('the hub stored the hold', async () => new RegExp(`fleet order ${holdId!}: hold ${info.id}`).test(hub.stderr()), WAIT_MS, [sup, hub])
  await waitUntil('the super hub counts the hold acked by the store', async () =>
    ((await orders()).find(o => o.order.orderId === holdId)?.acked ?? 0) >= 1, WAIT_MS, [sup, hub])

  const devDir = await installDeviceDir(f, { deviceId: DEVICE, info, version: VERSION, wave: WAVE, policyName: 'fleet-orders-e2e', leaseKind: 'hub', slotSeed: 98 })
  const dev: Proc = spawnDevice(f, devDir, ['--install', '--install-interval-ms', '300', '--report-interval-ms', '300'])
  const all = (): Proc[] => [sup, hub, dev]
  // the hub's refusal as the device's lease gate words it ("lease denied: held: 0/N slots in use")
  const refused = /install: .*lease denied: held\b.*/
  await waitUntil('the device was refused its install lease: held', async () => refused.test(dev.stderr()), WAIT_MS, all())
  t.ok(true, `the device logs the refusal: ${refused.exec(dev.stderr())![0].slice(0, 300)}`)
  t.not(await bootSlot(devDir), 'b', 'the held bundle is not installed')

  const release = await fleet('release', '--bundle', info.id, '--by', 'ci')
  t.equal(release.code, 0, release.stderr)
  const releaseId = /order (o-[0-9a-f]+)/.exec(release.stdout)?.[1]
  const wave = async (): Promise<LedgerView['waves'][number] | undefined> => (await api.get<LedgerView>('/api/ledger')).waves.find(w => w.waveId === WAVE)
  await waitUntil('the device installed after the release', async () => (await wave())?.counts.updated === 1, WAIT_MS, all())
  t.equal(await bootSlot(devDir), 'b', 'it boots the new slot')
  await waitUntil('the super hub counts the release acked by the store', async () =>
    ((await orders()).find(o => o.order.orderId === releaseId)?.acked ?? 0) >= 1, WAIT_MS, all())

  const status = await fleet('status', '--json')
  t.equal(status.code, 0, status.stderr)
  t.same((JSON.parse(status.stdout) as { heldBundles: unknown[] }).heldBundles, [], 'fleet status: no bundle held after the release')

  // a device rollback through the store
  await waitUntil('the super hub knows the device', async () => {
    const r = await fleet('device', 'rollback', '--store', STORE, '--id', DEVICE, '--by', 'ci', '--reason', 'field report')
    return r.code === 0
  }, WAIT_MS, all())
  await waitUntil('the device rolled back to its previous slot', async () => await bootSlot(devDir) === 'a', WAIT_MS, all())
  await waitUntil('the hub ledger has the rollback', async () => ((await wave())?.counts.rolledBack ?? 0) === 1, WAIT_MS, all())
  t.pass('the fleet rollback reached the device')
})
