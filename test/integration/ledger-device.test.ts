/**
 * The device side of the wave ledger with real processes: a store hub and two device
 * agents (`storemesh device run --install`) on 127.0.0.1. The devices fetch the bundle
 * from the hub, install it (file backend, a health URL served by the test) and their
 * journals reach the hub's ledger over /storemesh/report/1.1.0 by themselves: the
 * hub's /api/ledger counts both as updated. Then `storemesh device rollback --id
 * pos-17` through the hub's API: the order reaches the device in a report answer, the
 * device rolls back with its installer and reports it; the ledger counts one updated
 * and one rolled back. Repeating the command changes nothing, and a restart of the
 * device neither runs the order again nor counts anything twice.
 */
import { createServer, type Server } from 'node:http'
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { stringify } from 'yaml'
import type { DeviceView, LedgerView } from '../../src/api/types.js'
import type { BundleInfo } from '../../src/interface/types.js'
import { parsePolicy } from '../../src/policy/schema.js'
import { encodeSignedPolicy, signPolicy } from '../../src/policy/signed.js'
import { runCli } from '../support/cli.js'
import { DEVICE_CLASS, lanFixture, makeBundleDir, spawnDevice, spawnHub, stopProc, waitUntil, type LanFixture, type Proc } from '../support/lan-fixture.js'
import { FIXTURE_KEY, seededBytes } from '../support/store-fixture.js'
import { freePort, HubApi } from './hub-fixture.js'

const WAVE = '142'
const VERSION = '1.0.0'
const WAIT_MS = 120_000

async function healthServer (t: Test): Promise<string> {
  const server: Server = createServer((_req, res) => { res.writeHead(200).end('ok') })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => await new Promise<void>(resolve => server.close(() => resolve())))
  const addr = server.address()
  if (addr === null || typeof addr === 'string') throw new Error('no port')
  return `http://127.0.0.1:${addr.port}/health`
}

/** A device data dir set up to install: device.yaml, install.yaml (hub lease), facts, a factory slot a, the signed policy. */
async function deviceDir (f: LanFixture, deviceId: string, info: BundleInfo, healthUrl: string): Promise<string> {
  const data = join(f.dir, deviceId)
  await mkdir(join(data, 'slots'), { recursive: true })
  await copyFile(f.trustPath, join(data, 'release.pub.json'))
  await writeFile(join(data, 'device.yaml'), stringify({ deviceId, deviceClass: DEVICE_CLASS, factsFile: 'facts.yaml', trust: { keys: ['release.pub.json'] } }))
  // under a store hub: take its install slots (install.yaml's default is a standalone device)
  await writeFile(join(data, 'install.yaml'), stringify({ lease: { kind: 'hub' } }))
  await writeFile(join(data, 'facts.yaml'), stringify({ installedVersion: '0.9.0', batteryPercent: 80, temperatureC: 40, freeDiskMiB: 4096, slotCount: 2 }))
  await writeFile(join(data, 'slots', 'slot-a.img'), seededBytes(100_000, 99))
  const policy = parsePolicy({
    apiVersion: 'storemesh/v1',
    kind: 'RolloutPolicy',
    metadata: { name: 'ledger-device', wave: Number(WAVE) },
    spec: {
      bundle: { id: info.id, version: VERSION },
      targets: { deviceClass: DEVICE_CLASS, percentage: 100 },
      guardrails: { minBattery: 40, maxTemperatureC: 70, minFreeDiskMiB: 512, requireDualPartition: true },
      verification: { healthCheck: { url: healthUrl, timeoutSeconds: 1 }, rollbackOnHealthLossMins: 0 }
    }
  })
  await writeFile(join(data, 'policy.signed.json'), encodeSignedPolicy(signPolicy(policy, [FIXTURE_KEY])))
  return data
}

async function bootSlot (data: string): Promise<string | undefined> {
  const text = await readFile(join(data, 'slots', 'bootenv'), 'utf8').catch(() => '')
  return /^storemesh_slot=(\w)$/m.exec(text)?.[1]
}

t.test('devices report to the hub by themselves; a rollback ordered through the hub runs once', async t => {
  const t0 = Date.now()
  const phase = (what: string): void => { t.comment(`${what} after ${((Date.now() - t0) / 1000).toFixed(1)} s`) }
  const f = await lanFixture(t)
  const health = await healthServer(t)
  const { outDir, info } = await makeBundleDir(f.dir, 'ledger-os', 600_000, 31, VERSION)
  const port = await freePort()
  const hubDir = join(f.dir, 'hub')
  const hub = spawnHub(f, hubDir, ['--bundle', outDir, '--api-port', String(port)])
  const api = new HubApi(`http://127.0.0.1:${port}`, hubDir)
  await waitUntil('hub API up', async () => await api.up(), 60_000, [hub])
  phase('hub up')

  const ids = ['pos-17', 'pos-18']
  const dirs = await Promise.all(ids.map(async id => await deviceDir(f, id, info, health)))
  const agentArgs = ['--install', '--install-interval-ms', '300', '--report-interval-ms', '300']
  const devices: Proc[] = dirs.map(d => spawnDevice(f, d, agentArgs))
  const all = (): Proc[] => [hub, ...devices]

  const wave = async (): Promise<LedgerView['waves'][number] | undefined> => (await api.get<LedgerView>('/api/ledger')).waves.find(w => w.waveId === WAVE)
  await waitUntil('both devices updated in the hub ledger', async () => (await wave())?.counts.updated === 2, WAIT_MS, all())
  phase('both updated')
  let w = await wave()
  t.match(w?.counts, { updated: 2, rolledBack: 0, failed: 0, total: 2 }, 'the hub counts what the devices did')
  for (const d of dirs) t.equal(await bootSlot(d), 'b', `${d.slice(-6)} runs slot b`)
  // `storemesh status` on the hub's data dir: availability and a bar per device class
  const [sj, st] = await Promise.all([
    runCli(['status', '--data', hubDir, '--json'], { timeoutMs: 60_000 }),
    runCli(['status', '--data', hubDir], { timeoutMs: 60_000 })
  ])
  t.equal(sj.code, 0, sj.stderr.slice(-300))
  const status = JSON.parse(sj.stdout) as { role: string, bundles: unknown[], classes?: Array<Record<string, unknown>>, availability?: Array<Record<string, unknown>> }
  t.equal(status.role, 'hub', 'status.json fields unchanged')
  t.match(status.classes, [{ deviceClass: DEVICE_CLASS, devices: 2, devicesComplete: 2, fraction: 1 }], 'per class: both devices complete')
  t.match(status.availability, [{ bundleId: info.id, minCopies: 3, devicesComplete: 2 }], 'availability from the hub API')
  t.equal(st.code, 0, st.stderr.slice(-300))
  t.match(st.stdout, new RegExp(`${DEVICE_CLASS}\\s+${VERSION.replace(/\./g, '\\.')}\\s+2/2 complete\\s+\\[#{30}\\] 100%`), 'a text bar per class when not a terminal')
  const view = await api.get<DeviceView>('/api/devices/pos-17')
  t.match(view.waves, [{ waveId: WAVE, state: 'updated' }], 'the device view shows its wave state')
  t.ok(view.events.some(e => e.kind === 'transition' && e.to === 'committed'), 'the device\'s journal reached the hub')

  // the order, through the hub's API with the CLI
  const rollback = async (): Promise<{ changed: boolean, orderId: string }> => {
    const r = await runCli(['device', 'rollback', '--id', 'pos-17', '--reason', 'scanner broken', '--api', api.base, '--data', hubDir, '--json'], { timeoutMs: 60_000 })
    t.equal(r.code, 0, `device rollback exits 0 ${r.stderr.slice(-400)}`)
    return JSON.parse(r.stdout)
  }
  const first = await rollback()
  t.equal(first.changed, true, 'the first command orders a rollback')
  await waitUntil('the ledger shows pos-17 rolled back', async () => (await wave())?.counts.rolledBack === 1, WAIT_MS, all())
  await waitUntil('the order closed at the hub', async () => (await api.get<DeviceView>('/api/devices/pos-17')).orders[0]?.state === 'closed', WAIT_MS, all())
  phase('rolled back, order closed')
  w = await wave()
  t.match(w?.counts, { updated: 1, rolledBack: 1, total: 2 }, 'one updated, one rolled back')
  t.equal(await bootSlot(dirs[0]!), 'a', 'pos-17 boots slot a again')
  t.equal(await bootSlot(dirs[1]!), 'b', 'pos-18 untouched')
  const orders = (await api.get<DeviceView>('/api/devices/pos-17')).orders
  t.match(orders, [{ orderId: first.orderId, action: 'rollback', state: 'closed', outcome: 'done' }])

  const second = await rollback()
  t.equal(second.changed, false, 'repeating the command changes nothing')
  t.equal(second.orderId, first.orderId)

  // restart the device: its order file and journal acks survive; nothing runs or counts twice
  await stopProc(devices[0]!)
  devices[0] = spawnDevice(f, dirs[0]!, agentArgs)
  const before = (await api.get<DeviceView>('/api/devices/pos-17')).maxSeq
  await waitUntil('pos-17 reports again after its restart', async () => {
    const v = await api.get<DeviceView>('/api/devices/pos-17')
    return v.maxSeq > before
  }, WAIT_MS, all())
  phase('restarted device reported')
  w = await wave()
  t.match(w?.counts, { updated: 1, rolledBack: 1, total: 2 }, 'counts unchanged after the restart')
  t.equal(await bootSlot(dirs[0]!), 'a', 'still slot a: the order did not run again')
  const after = await api.get<DeviceView>('/api/devices/pos-17')
  t.equal(after.orders.length, 1, 'one order in all')
  t.equal(after.events.filter(e => e.kind === 'order').length, 1, 'one order outcome reported')
  const runs = JSON.parse(await readFile(join(dirs[0]!, 'device-orders.json'), 'utf8')) as { orders: unknown[] }
  t.equal(runs.orders.length, 1, 'the device ran one order')

  // a wave paused at the hub reaches the device agents, kept on disk as their fleet facts
  const pause = await runCli(['wave', 'pause', '--wave', WAVE, '--reason', 'store closed', '--api', api.base, '--data', hubDir, '--json'], { timeoutMs: 60_000 })
  t.equal(pause.code, 0, `wave pause exits 0 ${pause.stderr.slice(-400)}`)
  const ordersOf = async (dir: string): Promise<Array<{ waveId: string, action: string }>> =>
    JSON.parse(await readFile(join(dir, 'wave-orders.json'), 'utf8').catch(() => '[]')) as Array<{ waveId: string, action: string }>
  await waitUntil('both devices hold the pause', async () => {
    const held = await Promise.all(dirs.map(async d => await ordersOf(d)))
    return held.every(list => list.some(o => o.waveId === WAVE && o.action === 'pause'))
  }, WAIT_MS, all())
  t.pass('the pause reached both device agents and is on their disks')
})
