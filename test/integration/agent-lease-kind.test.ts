/**
 * One lease rule (issue 15, "One decision"): install.yaml's `lease.kind` decides for the
 * device agent as for `device install --once` and `policy explain`. A store hub and two
 * device agents (`storemesh device run --install`, real processes on 127.0.0.1), both
 * under the hub and both installing the same wave: pos-21 says `lease: {kind: none}`,
 * pos-22 `lease: {kind: hub}`. The hub's lease table (`<hub>/leases.json`, which keeps
 * every device granted a lease in a wave) must name pos-22's agent and never pos-21's,
 * though both installed. Before the rule, the agent asked its hub whatever install.yaml said.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import type { LedgerView } from '../../src/api/types.js'
import { LEASE_STATE_FILE } from '../../src/lease/constants.js'
import { lanFixture, makeBundleDir, readStatus, spawnDevice, spawnHub, waitUntil, type Proc } from '../support/lan-fixture.js'
import { bootSlot, installDeviceDir } from '../support/install-device.js'
import { freePort, HubApi } from './hub-fixture.js'

const WAVE = '151'
const VERSION = '1.0.0'
const WAIT_MS = 120_000


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

  const standalone = await installDeviceDir(f, { deviceId: 'pos-21', info, version: VERSION, wave: WAVE, policyName: 'agent-lease-kind', leaseKind: 'none', slotSeed: 99 })
  const leased = await installDeviceDir(f, { deviceId: 'pos-22', info, version: VERSION, wave: WAVE, policyName: 'agent-lease-kind', leaseKind: 'hub', slotSeed: 99 })
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
