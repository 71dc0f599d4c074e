/**
 * The store in a box: a super hub pulling the published bundles through from an origin
 * folder (`file://`, protocols/origin/SPEC.md) and seeding them over the WAN, a store hub
 * pulling them under a WAN limit inside a window that covers now, and the devices,
 * each the real CLI in its own process on 127.0.0.1, sharing a fresh swarm key and an
 * mDNS service tag no other run uses.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { StoremeshError } from '../interface/errors.js'
import { writeSwarmKeyFile } from '../net/swarm-key.js'
import {
  DEMO_HUB_ID, DEMO_INSTALL_INTERVAL_MS, DEMO_MAX_CONCURRENT_INSTALLS, DEMO_MDNS_INTERVAL_MS,
  DEMO_POLL_INTERVAL_MS, DEMO_START_TIMEOUT_MS, DEMO_STATUS_INTERVAL_MS, DEMO_STOP_GRACE_MS,
  DEMO_UPLOAD_RATE_BYTES_PER_SEC, DEMO_WAN_RATE_BYTES_PER_SEC, DEMO_WATCH_INTERVAL_MS
} from './constants.js'
import type { DemoDeviceSpec } from './devices.js'
import { RoleProcess, waitFor } from './processes.js'

const LOOPBACK_LISTEN = '/ip4/127.0.0.1/tcp/0'
const MINUTE_MS = 60_000

export interface DemoStorePaths {
  work: string
  /** the origin the bundles were published to (`file://…`); the super hub pulls through from it */
  originUrl: string
  trustKeyPath: string
  /** the super hub's wave arguments: its signed policies (each wave's halt rule) and the fleet waves it starts */
  superArgs: string[]
}

export interface DemoDeviceProc { spec: DemoDeviceSpec, dataDir: string, proc: RoleProcess }

export interface DemoStore {
  superHub: RoleProcess
  superDir: string
  superAddr: string
  hub: RoleProcess
  hubDir: string
  apiUrl: string
  apiToken: string
  devices: DemoDeviceProc[]
  serviceTag: string
  wanWindow: string
  all: () => RoleProcess[]
  poll: () => Promise<void>
  stop: () => Promise<void>
}

/** `HH:MM-HH:MM` in UTC from 30 minutes ago to 90 minutes ahead: open now, crossing midnight if it must. */
export function windowAroundNow (nowMs = Date.now()): string {
  const hhmm = (ms: number): string => new Date(ms).toISOString().slice(11, 16)
  return `${hhmm(nowMs - 30 * MINUTE_MS)}-${hhmm(nowMs + 90 * MINUTE_MS)}`
}

const rate = (bytesPerSec: number): string => `${bytesPerSec}B/s`

/** The super hub's line `super hub <id> seeding N bundles at ... on <addrs>` gives its dial address. */
function superAddrOf (p: RoleProcess): string | undefined {
  for (const l of p.out) {
    const m = /super hub (\S+) seeding \d+ bundles .* on (\S+)/.exec(l.text)
    if (m?.[1] === undefined || m[2] === undefined) continue
    return m[2].includes('/p2p/') ? m[2] : `${m[2]}/p2p/${m[1]}`
  }
  return undefined
}

function exitedEarly (p: RoleProcess): void {
  if (!p.running) throw new StoremeshError('E_INTERNAL', `${p.name} exited (${String(p.child.exitCode ?? p.child.signalCode)}): ${p.tail()}`)
}

export async function startDemoStore (paths: DemoStorePaths, devices: Array<{ spec: DemoDeviceSpec, dataDir: string }>,
  opts: { signal?: AbortSignal, log: (line: string) => void }): Promise<DemoStore> {
  const { work } = paths
  const { log } = opts
  const logDir = join(work, 'logs')
  await mkdir(logDir, { recursive: true })
  const swarmKeyPath = join(work, 'swarm.key')
  await writeSwarmKeyFile(swarmKeyPath)
  const serviceTag = `storemesh-demo-${process.pid}-${randomBytes(4).toString('hex')}`
  const trust = ['--trust', paths.trustKeyPath]
  const lan = (dataDir: string): string[] => ['--data', dataDir, '--swarm-key', swarmKeyPath, ...trust, '--service-tag', serviceTag,
    '--listen', LOOPBACK_LISTEN, '--mdns-interval-ms', String(DEMO_MDNS_INTERVAL_MS), '--status-interval-ms', String(DEMO_STATUS_INTERVAL_MS),
    '--upload-limit', rate(DEMO_UPLOAD_RATE_BYTES_PER_SEC), '--json']
  const procs: RoleProcess[] = []
  const waitOpts = (p: RoleProcess): { signal?: AbortSignal, detail: () => string } =>
    ({ ...(opts.signal !== undefined ? { signal: opts.signal } : {}), detail: () => p.tail() })
  const stopAll = async (): Promise<void> => { await Promise.all(procs.map(async p => { await p.stop(DEMO_STOP_GRACE_MS) })) }
  try {
    const superDir = join(work, 'super-hub')
    const superHub = await RoleProcess.start('super-hub', ['super-hub', '--data', superDir, '--origin', paths.originUrl,
      '--swarm-key', swarmKeyPath, ...trust, '--listen', LOOPBACK_LISTEN, ...paths.superArgs],
    { cwd: work, dataDir: superDir, logDir })
    procs.push(superHub)
    // the devices start while the hubs do: their start-up is most of the demo's CPU
    const devs: DemoDeviceProc[] = []
    for (const d of devices) {
      const proc = await RoleProcess.start(d.spec.id, ['device', 'run', ...lan(d.dataDir), '--device-class', 'pos', '--install',
        '--poll-interval-ms', String(DEMO_POLL_INTERVAL_MS), '--install-interval-ms', String(DEMO_INSTALL_INTERVAL_MS)],
      { cwd: d.dataDir, dataDir: d.dataDir, logDir })
      procs.push(proc)
      devs.push({ ...d, proc })
    }
    const superAddr = await waitFor('the super hub to listen', DEMO_START_TIMEOUT_MS, DEMO_WATCH_INTERVAL_MS, async () => {
      await superHub.poll()
      exitedEarly(superHub)
      return superAddrOf(superHub)
    }, waitOpts(superHub))
    log(`super hub ${superAddr} (pid ${superHub.pid}) pulls through from ${paths.originUrl}`)

    const hubDir = join(work, 'hub')
    const wanWindow = windowAroundNow()
    const hub = await RoleProcess.start('hub', ['hub', ...lan(hubDir), '--super', superAddr, '--wan-rate', rate(DEMO_WAN_RATE_BYTES_PER_SEC),
      '--wan-window', wanWindow, '--wan-timezone', 'UTC', '--api-port', '0', '--hub-id', DEMO_HUB_ID,
      '--max-concurrent-installs', String(DEMO_MAX_CONCURRENT_INSTALLS)], { cwd: work, dataDir: hubDir, logDir })
    procs.push(hub)
    const apiUrl = await waitFor('the hub\'s API', DEMO_START_TIMEOUT_MS, DEMO_WATCH_INTERVAL_MS, async () => {
      await hub.poll()
      exitedEarly(hub)
      const url = hub.event('api')?.url
      return typeof url === 'string' && hub.event('ready') !== undefined ? url : undefined
    }, waitOpts(hub))
    const apiToken = (await readFile(join(hubDir, 'api-token'), 'utf8')).trim()
    log(`store hub ${DEMO_HUB_ID} (pid ${hub.pid}): WAN ${DEMO_WAN_RATE_BYTES_PER_SEC / 1024 / 1024} MiB/s in window ${wanWindow} UTC, ` +
      `LAN upload ${DEMO_UPLOAD_RATE_BYTES_PER_SEC / 1024 / 1024} MiB/s per node, mDNS tag ${serviceTag}`)
    log(`  dashboard ${apiUrl}/`)
    log(`  metrics   ${apiUrl}/metrics`)
    for (const d of devs) {
      await waitFor(`device ${d.spec.id} to start`, DEMO_START_TIMEOUT_MS, DEMO_WATCH_INTERVAL_MS, async () => {
        await d.proc.poll()
        exitedEarly(d.proc)
        return d.proc.event('ready') !== undefined ? true : undefined
      }, waitOpts(d.proc))
    }
    log(`${devs.length} devices running (${devs.map(d => `${d.spec.id} pid ${d.proc.pid}`).join(', ')})`)
    return {
      superHub, superDir, superAddr, hub, hubDir, apiUrl, apiToken, devices: devs, serviceTag, wanWindow,
      all: () => [...procs],
      poll: async () => { await Promise.all(procs.map(async p => { await p.poll() })) },
      stop: stopAll
    }
  } catch (err) {
    await stopAll()
    throw err
  }
}
