/**
 * One lease rule (issue 15, "One decision"): install.yaml's `lease.kind` decides for the
 * device agent as for `device install --once` and `policy explain`. A store hub and two
 * device agents (`storemesh device run --install`, real processes on 127.0.0.1), both
 * under the hub and both installing the same wave: pos-21 says `lease: {kind: none}`,
 * pos-22 `lease: {kind: hub}`. The hub's lease table (`<hub>/leases.json`, which keeps
 * every device granted a lease in a wave) must name pos-22's agent and never pos-21's,
 * though both installed. Before the rule, the agent asked its hub whatever install.yaml said.
 */
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { stringify } from 'yaml'
import type { LedgerView } from '../../src/api/types.js'
import type { BundleInfo } from '../../src/interface/types.js'
import { LEASE_STATE_FILE } from '../../src/lease/constants.js'
import { parsePolicy } from '../../src/policy/schema.js'
import { encodeSignedPolicy, signPolicy } from '../../src/policy/signed.js'
import { DEVICE_CLASS, lanFixture, makeBundleDir, readStatus, spawnDevice, spawnHub, waitUntil, type LanFixture, type Proc } from '../support/lan-fixture.js'
import { FIXTURE_KEY, seededBytes } from '../support/store-fixture.js'
import { freePort, HubApi } from './hub-fixture.js'

const WAVE = '151'
const VERSION = '1.0.0'
const WAIT_MS = 120_000

/** A device data dir set up to install under the hub, with install.yaml's lease kind. */
async function deviceDir (f: LanFixture, deviceId: string, info: BundleInfo, leaseKind: 'none' | 'hub'): Promise<string> {
  const data = join(f.dir, deviceId)
  await mkdir(join(data, 'slots'), { recursive: true })
  await copyFile(f.trustPath, join(data, 'release.pub.json'))
  await writeFile(join(data, 'device.yaml'), stringify({ deviceId, deviceClass: DEVICE_CLASS, factsFile: 'facts.yaml', trust: { keys: ['release.pub.json'] } }))
  await writeFile(join(data, 'install.yaml'), stringify({ lease: { kind: leaseKind } }))
  await writeFile(join(data, 'facts.yaml'), stringify({ installedVersion: '0.9.0', batteryPercent: 80, temperatureC: 40, freeDiskMiB: 4096, slotCount: 2 }))
  await writeFile(join(data, 'slots', 'slot-a.img'), seededBytes(100_000, 99))
  const policy = parsePolicy({
    apiVersion: 'storemesh/v1',
    kind: 'RolloutPolicy',
    metadata: { name: 'agent-lease-kind', wave: Number(WAVE) },
    spec: {
      bundle: { id: info.id, version: VERSION },
      targets: { deviceClass: DEVICE_CLASS, percentage: 100 },
      guardrails: { minBattery: 40, maxTemperatureC: 70, minFreeDiskMiB: 512, requireDualPartition: true },
      verification: { healthCheck: { run: 'true', timeoutSeconds: 5 }, rollbackOnHealthLossMins: 0 }
    }
  })
  await writeFile(join(data, 'policy.signed.json'), encodeSignedPolicy(signPolicy(policy, [FIXTURE_KEY])))
  return data
}

async function bootSlot (data: string): Promise<string | undefined> {
  const text = await readFile(join(data, 'slots', 'bootenv'), 'utf8').catch(() => '')
  return /^storemesh_slot=(\w)$/m.exec(text)?.[1]
}

/** The devices (by the id their LeaseKeeper asks with: the agent's peer id) the hub granted a lease in `waveId`. */
async function granted (hubDir: string, waveId: string): Promise<string[]> {
  const text = await readFile(join(hubDir, LEASE_STATE_FILE), 'utf8').catch(() => undefined)
  if (text === undefined) return []
  const state = JSON.parse(text) as { waves?: Array<{ waveId: string, devices: string[] }> }
  return state.waves?.find(w => w.waveId === waveId)?.devices ?? []
}

t.test('an agent with lease: none asks its hub for no lease; one with lease: hub does', async t => {
  const f = await lanFixture(t)
  const { outDir, info } = await makeBundleDir(f.dir, 'lease-kind-os', 400_000, 41, VERSION)
  const port = await freePort()
  const hubDir = join(f.dir, 'hub')
  const hub = spawnHub(f, hubDir, ['--bundle', outDir, '--api-port', String(port)])
  const api = new HubApi(`http://127.0.0.1:${port}`, hubDir)
  await waitUntil('hub API up', async () => await api.up(), 60_000, [hub])

  const standalone = await deviceDir(f, 'pos-21', info, 'none')
  const leased = await deviceDir(f, 'pos-22', info, 'hub')
  const agentArgs = ['--install', '--install-interval-ms', '300', '--report-interval-ms', '300']
  const devices: Proc[] = [standalone, leased].map(d => spawnDevice(f, d, agentArgs))
  const all = (): Proc[] => [hub, ...devices]

  const wave = async (): Promise<LedgerView['waves'][number] | undefined> => (await api.get<LedgerView>('/api/ledger')).waves.find(w => w.waveId === WAVE)
  await waitUntil('both devices updated in the hub ledger', async () => (await wave())?.counts.updated === 2, WAIT_MS, all())
  t.equal(await bootSlot(standalone), 'b', 'pos-21 (lease: none) installed')
  t.equal(await bootSlot(leased), 'b', 'pos-22 (lease: hub) installed')

  const peerOf = async (dir: string): Promise<string | undefined> => (await readStatus(dir))?.peerId
  const [standalonePeer, leasedPeer] = await Promise.all([peerOf(standalone), peerOf(leased)])
  t.ok(standalonePeer !== undefined && leasedPeer !== undefined, 'both agents wrote their peer id')
  // the grant is saved before the hub answers it, so the file already names pos-22
  const names = await granted(hubDir, WAVE)
  t.same(names, [leasedPeer], 'the hub granted a lease in the wave to the lease: hub agent only')
  t.notOk(names.includes(standalonePeer ?? ''), 'the lease: none agent never asked')
})
