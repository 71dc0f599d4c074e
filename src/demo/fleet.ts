/**
 * The demo's fleet part (issue 16 item 5): a second store (a second store hub with two
 * devices, on its own LAN: its own mDNS tag) under the same super hub, and two fleet
 * waves the super hub's wave runner drives (`super-hub --start-wave`; docs/fleet-waves.md):
 *
 *   wave 144 (pos-os v3, healthy): hubBudget 1, so each store is a batch. The second
 *     store is batch 1 and the demo store batch 2: the demo store's devices hold at
 *     `wave.paused (wave-batch-not-started)` until batch 1 is healthy, then install.
 *   wave 145 (pos-os v4, a bad build for this class: its health check fails on the second
 *     store's devices): batch 1 rolls back, the rollback ratio passes the policy's limit
 *     and the control plane halts the wave fleet-wide; the demo store (batch 2) never
 *     installs it.
 *
 * Stores join a started wave in the order they report devices of it (waves/join.ts): the
 * demo hands each policy to the second store first and to the demo store once the second
 * store is in the wave, so the second store is batch 1.
 */
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { StoremeshError } from '../interface/errors.js'
import type { BundleInfo } from '../interface/types.js'
import { parsePolicy } from '../policy/schema.js'
import {
  DEMO_HALT_ON_ROLLBACK_RATIO, DEMO_INSTALL_INTERVAL_MS, DEMO_MAX_CONCURRENT_INSTALLS, DEMO_MDNS_INTERVAL_MS, DEMO_POLL_INTERVAL_MS,
  DEMO_START_TIMEOUT_MS, DEMO_STATUS_INTERVAL_MS, DEMO_UPLOAD_RATE_BYTES_PER_SEC, DEMO_WAN_RATE_BYTES_PER_SEC,
  DEMO_WATCH_INTERVAL_MS
} from './constants.js'
import { DEMO_HEALTH_COMMAND, type DemoDeviceSpec } from './devices.js'
import { HubApi } from './figures.js'
import { RoleProcess, waitFor } from './processes.js'
import type { DemoDeviceProc, DemoStore } from './store.js'

export const DEMO_FLEET_WAVES = { good: 144, bad: 145 } as const
export const DEMO_HUB2_ID = 'demo-store-0043'
/** How often the super hub's wave runner steps (it also steps after every report). */
export const DEMO_WAVE_TICK_MS = 500
/** The fleet waves halt at this ratio after this many outcomes (their signed policies say so). */
export const DEMO_FLEET_MIN_OUTCOMES_FOR_HALT = 2

export const DEMO_STORE2_DEVICES: DemoDeviceSpec[] = [
  { id: 'pos-21', region: 'us-midwest', batteryPercent: 90, failHealth: false, expect: 'installed', expectResult: 'installed' },
  { id: 'pos-22', region: 'us-midwest', batteryPercent: 80, failHealth: false, expect: 'installed', expectResult: 'installed' }
]

export function fleetPolicy (b: BundleInfo, version: string, wave: number, name: string): ReturnType<typeof parsePolicy> {
  return parsePolicy({
    apiVersion: 'storemesh/v1',
    kind: 'RolloutPolicy',
    metadata: { name, wave },
    spec: {
      bundle: { id: b.id, version },
      targets: { deviceClass: 'pos', labels: { region: 'us-midwest' }, percentage: 100, hubBudget: 1 },
      schedule: { prestageHours: 0 },
      rollout: { maxConcurrentPerHub: DEMO_MAX_CONCURRENT_INSTALLS, batchDelayMinutes: 0, haltOnRollbackRatio: DEMO_HALT_ON_ROLLBACK_RATIO, minOutcomesForHalt: DEMO_FLEET_MIN_OUTCOMES_FOR_HALT },
      guardrails: { minBattery: 40, maxTemperatureC: 70, minFreeDiskMiB: 512, requireDualPartition: true, requireConfig: '>=12.4.1' },
      verification: { healthCheck: { run: DEMO_HEALTH_COMMAND, timeoutSeconds: 2 }, rollbackOnHealthLossMins: 0 }
    }
  })
}

export interface SecondStore {
  hub: RoleProcess
  hubDir: string
  api: HubApi
  devices: DemoDeviceProc[]
}

/** The second store: its hub under the same super hub, its devices on a LAN of their own (own mDNS tag). */
export async function startSecondStore (store: DemoStore, work: string, devices: Array<{ spec: DemoDeviceSpec, dataDir: string }>,
  opts: { trustKeyPath: string, log: (line: string) => void, signal?: AbortSignal }): Promise<SecondStore> {
  const logDir = join(work, 'logs')
  const serviceTag = `storemesh-demo2-${process.pid}-${randomBytes(4).toString('hex')}`
  const lan = (dataDir: string): string[] => ['--data', dataDir, '--swarm-key', join(work, 'swarm.key'), '--trust', opts.trustKeyPath, '--service-tag', serviceTag,
    '--listen', '/ip4/127.0.0.1/tcp/0', '--mdns-interval-ms', String(DEMO_MDNS_INTERVAL_MS), '--status-interval-ms', String(DEMO_STATUS_INTERVAL_MS),
    '--upload-limit', `${DEMO_UPLOAD_RATE_BYTES_PER_SEC}B/s`, '--json']
  const hubDir = join(work, 'hub2')
  const hub = await RoleProcess.start('hub2', ['hub', ...lan(hubDir), '--super', store.superAddr, '--wan-rate', `${DEMO_WAN_RATE_BYTES_PER_SEC}B/s`,
    '--wan-window', store.wanWindow, '--wan-timezone', 'UTC', '--api-port', '0', '--hub-id', DEMO_HUB2_ID,
    '--max-concurrent-installs', String(DEMO_MAX_CONCURRENT_INSTALLS)], { cwd: work, dataDir: hubDir, logDir })
  const procs: DemoDeviceProc[] = []
  const all = [hub]
  const waitOpts = (p: RoleProcess): { signal?: AbortSignal, detail: () => string } => ({ ...(opts.signal !== undefined ? { signal: opts.signal } : {}), detail: () => p.tail() })
  try {
    for (const d of devices) {
      const proc = await RoleProcess.start(d.spec.id, ['device', 'run', ...lan(d.dataDir), '--device-class', 'pos', '--install',
        '--poll-interval-ms', String(DEMO_POLL_INTERVAL_MS), '--install-interval-ms', String(DEMO_INSTALL_INTERVAL_MS)], { cwd: d.dataDir, dataDir: d.dataDir, logDir })
      all.push(proc)
      procs.push({ ...d, proc })
    }
    const apiUrl = await waitFor('the second hub\'s API', DEMO_START_TIMEOUT_MS, DEMO_WATCH_INTERVAL_MS, async () => {
      await hub.poll()
      if (!hub.running) throw new StoremeshError('E_INTERNAL', `hub2 exited: ${hub.tail()}`)
      const url = hub.event('api')?.url
      return typeof url === 'string' && hub.event('ready') !== undefined ? url : undefined
    }, waitOpts(hub))
    for (const d of procs) {
      await waitFor(`device ${d.spec.id} to start`, DEMO_START_TIMEOUT_MS, DEMO_WATCH_INTERVAL_MS, async () => {
        await d.proc.poll()
        return d.proc.event('ready') !== undefined ? true : undefined
      }, waitOpts(d.proc))
    }
    opts.log(`second store ${DEMO_HUB2_ID} (hub pid ${hub.pid}, ${procs.map(d => d.spec.id).join(', ')}) under the same super hub, mDNS tag ${serviceTag}`)
    return { hub, hubDir, api: new HubApi(apiUrl, (await readFile(join(hubDir, 'api-token'), 'utf8')).trim()), devices: procs }
  } catch (err) {
    await Promise.all(all.map(async p => { await p.stop(DEMO_START_TIMEOUT_MS) }))
    throw err
  }
}
