/**
 * A store in network namespaces (issue 7), with real processes: `storemesh super-hub`
 * in the super-hub namespace holding a signed bundle, `storemesh hub --super ...` in
 * the store-hub namespace with the bundle queued for WAN pre-staging (listening on the
 * store bridge and on the WAN veth), and `storemesh device run --install` in each
 * device namespace with demo-style data dirs (src/demo/devices.ts): device.yaml,
 * facts, the trust key, a factory image in slot A, a signed policy, `lease: hub`.
 * Discovery is real mDNS across the bridge, with a service tag of this run's own.
 *
 * One teardown, registered at start, runs whatever the test did: processes killed,
 * namespaces deleted (with every link in them), tmpfs mounts undone, files removed.
 */
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { Test } from 'tap'
import { parse, stringify } from 'yaml'
import { buildBundle } from '../../src/bundle/build.js'
import { blake3Hex } from '../../src/bundle/hash.js'
import { writeKeyFiles } from '../../src/bundle/keys.js'
import type { BundleInfo } from '../../src/interface/types.js'
import { writeSwarmKeyFile } from '../../src/net/swarm-key.js'
import { parsePolicy } from '../../src/policy/schema.js'
import { encodeSignedPolicy, signPolicy } from '../../src/policy/signed.js'
import { DEMO_DEVICES, FACTORY_IMAGE_BYTES, writeDeviceDir, type DemoDeviceSpec } from '../../src/demo/devices.js'
import { fillSeeded, sampleImageV1 } from '../../src/demo/sample.js'
import { addPrefetch } from '../../src/wan/prefetch-queue.js'
import { cliCommand, REPO_ROOT } from '../support/cli.js'
import { adopt, bundleOf, readStatus, waitUntil, type LanFixture, type Proc } from '../support/lan-fixture.js'
import { FIXTURE_KEY } from '../support/store-fixture.js'
import { deviceAddr, HUB_LAN_ADDR, HUB_WAN_ADDR, LabNet, labSkipReason, removeStaleLabNamespaces, SUPER_WAN_ADDR } from './netns.js'

const run = promisify(execFile)

export const LAB_DEVICE_CLASS = 'pos'
export const LAB_WAVE = 7
export const SUPER_PORT = 4310
/** the hub's API inside its own namespace (its port space is its own) */
export const HUB_API_PORT = 7480
const MDNS_INTERVAL_MS = 500
const STATUS_INTERVAL_MS = 300
const POLL_INTERVAL_MS = 500
const INSTALL_INTERVAL_MS = 500
/** a process start on a loaded 2-core machine (tsx compiles on the fly unless dist/ is used) */
export const START_TIMEOUT_MS = 150_000

export interface StoreLabOptions {
  devices: number
  bundleBytes: number
  /** tc's syntax. @default '16mbit' */
  wanRate?: string
  /** the policy's health command, run in the device's data dir. @default 'true' */
  healthRun?: string
  healthTimeoutSeconds?: number
  /** per device; @default 90 (passes the policy's 40 % guardrail) */
  batteryOf?: (i: number) => number
  /** devices whose data dir is a tmpfs of this many bytes (a full disk) */
  tinyDiskBytesOf?: (i: number) => number | undefined
}

export interface LabDevice {
  index: number
  ns: string
  dataDir: string
  proc: Proc | undefined
}

export class StoreLab {
  readonly f: LanFixture
  readonly net: LabNet
  readonly opts: StoreLabOptions
  readonly bundle: BundleInfo
  readonly bundlesDir: string
  readonly superDir: string
  readonly hubDir: string
  readonly devices: LabDevice[]
  /** the factory image's BLAKE3 (slot A before any install) */
  readonly factoryBlake3: string
  superAddr = ''
  superProc: Proc | undefined
  hubProc: Proc | undefined
  readonly #cleanups: Array<() => Promise<void>> = []

  private constructor (f: LanFixture, net: LabNet, opts: StoreLabOptions, bundle: BundleInfo, bundlesDir: string) {
    this.f = f
    this.net = net
    this.opts = opts
    this.bundle = bundle
    this.bundlesDir = bundlesDir
    this.superDir = join(f.dir, 'super')
    this.hubDir = join(f.dir, 'hub')
    this.devices = net.deviceNs.map((ns, index) => ({ index, ns, dataDir: join(f.dir, `dev${index}`), proc: undefined }))
    this.factoryBlake3 = blake3Hex(fillSeeded(new Uint8Array(FACTORY_IMAGE_BYTES), 99))
  }

  /**
   * Builds keys, bundle, policy, data dirs and the namespaces, and registers the one
   * teardown. Returns undefined (after `t.plan(0, reason)`) where the lab cannot run.
   */
  static async start (t: Test, opts: StoreLabOptions): Promise<StoreLab | undefined> {
    const skip = await labSkipReason()
    if (skip !== undefined) {
      t.plan(0, skip)
      return undefined
    }
    const stale = await removeStaleLabNamespaces()
    if (stale.length > 0) t.comment(`removed namespaces a killed lab run left: ${stale.join(' ')}`)
    const dir = await mkdtemp(join(tmpdir(), 'storemesh-lab-'))
    const procs: Proc[] = []
    let lab: StoreLab | undefined
    let net: LabNet | undefined
    t.teardown(async () => {
      await Promise.all(procs.map(async p => {
        if (p.child.exitCode === null && p.child.signalCode === null) {
          p.child.kill('SIGKILL')
          await p.exited
        }
      }))
      await net?.destroy()
      for (const c of lab !== undefined ? lab.#cleanups.splice(0).reverse() : []) await c().catch(() => {})
      await rm(dir, { recursive: true, force: true })
    })
    const f: LanFixture = {
      dir,
      procs,
      swarmKeyPath: join(dir, 'swarm.key'),
      trustPath: join(dir, 'trust.pub.json'),
      serviceTag: `storemesh-lab-${process.pid}-${Date.now().toString(36)}`
    }
    await writeSwarmKeyFile(f.swarmKeyPath)
    await writeKeyFiles(join(dir, 'sign.key.json'), f.trustPath, FIXTURE_KEY)
    const bundlesDir = join(dir, 'bundles')
    const bundle = await buildLabBundle(dir, bundlesDir, opts.bundleBytes)
    net = await LabNet.create({ devices: opts.devices, wanRate: opts.wanRate ?? '16mbit' })
    lab = new StoreLab(f, net, opts, bundle, bundlesDir)
    await lab.#writeDataDirs()
    return lab
  }

  /** Runs `fn` at teardown (after the processes died and the namespaces are gone). */
  onCleanup (fn: () => Promise<void>): void {
    this.#cleanups.push(fn)
  }

  async #writeDataDirs (): Promise<void> {
    const policy = parsePolicy({
      apiVersion: 'storemesh/v1',
      kind: 'RolloutPolicy',
      metadata: { name: 'lab', wave: LAB_WAVE },
      spec: {
        bundle: { id: this.bundle.id, version: this.bundle.manifest.signed.version },
        targets: { deviceClass: LAB_DEVICE_CLASS, labels: { region: 'us-midwest' }, percentage: 100 },
        guardrails: { minBattery: 40, maxTemperatureC: 70, minFreeDiskMiB: 512, requireDualPartition: true, requireConfig: '>=12.4.1' },
        verification: { healthCheck: { run: this.opts.healthRun ?? 'true', timeoutSeconds: this.opts.healthTimeoutSeconds ?? 10 }, rollbackOnHealthLossMins: 0 }
      }
    })
    const signed = encodeSignedPolicy(signPolicy(policy, [FIXTURE_KEY]))
    for (const d of this.devices) {
      const tiny = this.opts.tinyDiskBytesOf?.(d.index)
      if (tiny !== undefined) await mountTinyTmpfs(this, d.dataDir, tiny)
      await this.writeDeviceDir(d, signed)
      // on a tiny disk the device measures its free space (statfs), as a real one does
      if (tiny !== undefined) {
        const facts = parse(await readFile(join(d.dataDir, 'facts.yaml'), 'utf8')) as Record<string, unknown>
        delete facts.freeDiskMiB
        await writeFile(join(d.dataDir, 'facts.yaml'), stringify(facts))
      }
    }
    await mkdir(this.hubDir, { recursive: true })
    await addPrefetch(this.hubDir, { bundleId: this.bundle.id })
  }

  /** A demo-style device data dir; public so a drill can first mount something there. */
  async writeDeviceDir (d: LabDevice, signedPolicy: Uint8Array): Promise<void> {
    // the demo's first device (an honest one that installs), renamed and given this lab's battery
    const spec: DemoDeviceSpec = {
      ...DEMO_DEVICES[0] as DemoDeviceSpec, id: `lab-${d.index}`, region: 'us-midwest', batteryPercent: this.opts.batteryOf?.(d.index) ?? 90, failHealth: false
    }
    await writeDeviceDir(d.dataDir, spec, this.f.trustPath)
    await writeFile(join(d.dataDir, 'install.yaml'), stringify({ backend: { kind: 'file', dir: 'slots' }, lease: { kind: 'hub' } }))
    await writeFile(join(d.dataDir, 'policy.signed.json'), signedPolicy)
  }

  #spawn (ns: string, args: string[], dataDir: string): Proc {
    const [cmd, argv] = cliCommand(args)
    const child = this.net.spawnIn(ns, cmd, argv, { cwd: REPO_ROOT, env: { ...process.env, STOREMESH_DEBUG: '1' } })
    return adopt(this.f, child, dataDir)
  }

  #lanArgs (dataDir: string, listen: string[]): string[] {
    return ['--data', dataDir, '--swarm-key', this.f.swarmKeyPath, '--trust', this.f.trustPath, '--service-tag', this.f.serviceTag,
      '--listen', ...listen, '--mdns-interval-ms', String(MDNS_INTERVAL_MS), '--status-interval-ms', String(STATUS_INTERVAL_MS)]
  }

  async startSuper (extra: string[] = []): Promise<Proc> {
    const p = this.#spawn(this.net.superNs, ['super-hub', '--data', this.superDir, '--bundles', this.bundlesDir, '--swarm-key', this.f.swarmKeyPath,
      '--trust', this.f.trustPath, '--listen', `/ip4/${SUPER_WAN_ADDR}/tcp/${SUPER_PORT}`, '--json', ...extra], this.superDir)
    this.superProc = p
    await waitUntil('super hub listening', async () => {
      const m = /super hub (\S+) seeding /.exec(p.stdout())
      if (m === null) return false
      this.superAddr = `/ip4/${SUPER_WAN_ADDR}/tcp/${SUPER_PORT}/p2p/${m[1] as string}`
      return true
    }, START_TIMEOUT_MS, [p])
    return p
  }

  /** The store hub: on the bridge and on the WAN veth, pulling from the super hub; its API on 127.0.0.1 of its namespace. */
  startHub (extra: string[] = []): Proc {
    if (this.superAddr === '') throw new Error('start the super hub first')
    const p = this.#spawn(this.net.hubNs, ['hub', ...this.#lanArgs(this.hubDir, [`/ip4/${HUB_LAN_ADDR}/tcp/0`, `/ip4/${HUB_WAN_ADDR}/tcp/0`]),
      '--super', this.superAddr, '--api-port', String(HUB_API_PORT), '--hub-id', 'lab-store', ...extra], this.hubDir)
    this.hubProc = p
    return p
  }

  startDevice (i: number, extra: string[] = []): Proc {
    const d = this.devices[i]
    if (d === undefined) throw new Error(`no device ${i}`)
    d.proc = this.#spawn(d.ns, ['device', ...this.#lanArgs(d.dataDir, [`/ip4/${deviceAddr(i)}/tcp/0`]), '--device-class', LAB_DEVICE_CLASS,
      '--poll-interval-ms', String(POLL_INTERVAL_MS), '--install', '--install-interval-ms', String(INSTALL_INTERVAL_MS), ...extra], d.dataDir)
    return d.proc
  }

  /** Every running process of the lab (for waitUntil's early-exit check). */
  running (): Proc[] {
    return this.f.procs.filter(p => p.child.exitCode === null && p.child.signalCode === null)
  }

  async hubHeldChunks (): Promise<number> {
    return bundleOf(await readStatus(this.hubDir), this.bundle.id)?.heldChunks ?? 0
  }

  async hubVerified (): Promise<boolean> {
    const b = bundleOf(await readStatus(this.hubDir), this.bundle.id)
    return b?.state === 'verified'
  }

  /** GET on the hub's API, from inside the hub's namespace. */
  async hubGet (path: string): Promise<string> {
    return await this.getIn(this.net.hubNs, HUB_API_PORT, path)
  }

  /** GET on 127.0.0.1:`port` inside namespace `ns` (a role's API or /metrics). */
  async getIn (ns: string, port: number, path: string): Promise<string> {
    const script = `fetch(${JSON.stringify(`http://127.0.0.1:${port}${path}`)},{signal:AbortSignal.timeout(10000)})` +
      '.then(async r=>{process.stdout.write(await r.text());process.exitCode=r.ok?0:1})'
    const r = await run('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { timeout: 30_000 })
    return r.stdout
  }

  /** Waits until every listed device's installer record says committed. */
  async waitInstalled (indices: number[], maxMs: number): Promise<void> {
    await waitUntil(`devices ${indices.join(',')} installed`, async () => {
      const states = await Promise.all(indices.map(async i => (await installRecord(this.devices[i]?.dataDir ?? ''))?.state))
      return states.every(s => s === 'committed')
    }, maxMs, this.running())
  }
}

async function buildLabBundle (dir: string, bundlesDir: string, bytes: number): Promise<BundleInfo> {
  const src = join(dir, 'src')
  await mkdir(src, { recursive: true })
  await writeFile(join(src, 'rootfs.img'), sampleImageV1(bytes))
  await writeFile(join(src, 'store.conf'), 'version=1.0.0\n')
  return await buildBundle({
    artifacts: [join(src, 'rootfs.img'), join(src, 'store.conf')],
    keys: [FIXTURE_KEY], outDir: join(bundlesDir, 'lab-os-1.0.0'), name: 'lab-os', version: '1.0.0',
    deviceClass: LAB_DEVICE_CLASS, cycle: 'lab', expiresAt: new Date(Date.now() + 86_400_000)
  })
}

export interface InstallRecordView {
  state: string
  bundleId: string
  version: string
  targetSlot: 'a' | 'b'
  previousSlot: 'a' | 'b'
  reason?: { code: string, detail: string }
}

/** `<data>/install/state.json`, or undefined before the first install. */
export async function installRecord (dataDir: string): Promise<InstallRecordView | undefined> {
  const text = await readFile(join(dataDir, 'install', 'state.json'), 'utf8').catch(() => undefined)
  if (text === undefined) return undefined
  try {
    return JSON.parse(text) as InstallRecordView
  } catch {
    return undefined
  }
}

/**
 * Every chunk file of a role's store re-hashed: a chunk whose bytes do not hash to its
 * name is corrupt. LAN roles keep the store in `<data>/store`, the super hub in `<data>`.
 */
export async function auditStore (dataDir: string): Promise<{ chunks: number, corrupt: string[], temps: number }> {
  let chunks = 0
  let temps = 0
  const corrupt: string[] = []
  for (const root of [join(dataDir, 'store', 'chunks'), join(dataDir, 'chunks')]) {
    for (const sub of await readdir(root).catch(() => [] as string[])) {
      for (const name of await readdir(join(root, sub)).catch(() => [] as string[])) {
        if (name.startsWith('.tmp-')) { temps++; continue }
        chunks++
        if (blake3Hex(await readFile(join(root, sub, name))) !== name) corrupt.push(name)
      }
    }
  }
  return { chunks, corrupt, temps }
}

export type SlotOutcome =
  | { kind: 'updated', slot: 'a' | 'b' }
  | { kind: 'old-slot', state: string }
  | { kind: 'half', why: string }

function parseEnv (text: string): Record<string, string> {
  return Object.fromEntries(text.split('\n').filter(l => l.includes('=')).map(l => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]))
}

/**
 * What a device's disk says after the processes stopped: `updated` (committed, booted
 * and primary on the new slot, whose image hashes to the artifact), `old-slot` (no
 * trial armed, running and primary on slot A with the factory image intact), else `half`.
 */
export async function slotOutcome (lab: StoreLab, dataDir: string): Promise<SlotOutcome> {
  const rec = await installRecord(dataDir)
  const envText = await readFile(join(dataDir, 'slots', 'bootenv'), 'utf8').catch(() => '')
  const env = parseEnv(envText)
  const primary = env.storemesh_slot ?? 'a'
  const booted = env.storemesh_booted ?? primary
  const trial = env.upgrade_available === '1'
  const art = lab.bundle.manifest.signed.artifacts.find(a => a.name === 'rootfs.img')
  const hashOf = async (slot: string): Promise<string> => await readFile(join(dataDir, 'slots', `slot-${slot}.img`)).then(b => blake3Hex(b), () => 'absent')
  if (rec?.state === 'committed') {
    if (primary !== rec.targetSlot || booted !== rec.targetSlot || trial) return { kind: 'half', why: `committed but bootenv ${JSON.stringify(env)}` }
    const h = await hashOf(rec.targetSlot)
    return h === art?.blake3 ? { kind: 'updated', slot: rec.targetSlot } : { kind: 'half', why: `committed slot ${rec.targetSlot} image ${h} != artifact` }
  }
  if (primary !== 'a' || booted !== 'a' || trial) return { kind: 'half', why: `state ${rec?.state ?? 'none'}, bootenv ${JSON.stringify(env)}` }
  const h = await hashOf('a')
  return h === lab.factoryBlake3 ? { kind: 'old-slot', state: rec?.state ?? 'none' } : { kind: 'half', why: `slot a image changed (${h})` }
}

/** Mounts a tmpfs of `sizeBytes` at `dir` (created); undone at the lab's teardown. */
export async function mountTinyTmpfs (lab: StoreLab, dir: string, sizeBytes: number): Promise<void> {
  await mkdir(dir, { recursive: true })
  await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'storemesh-lab', dir], { timeout: 30_000 })
  lab.onCleanup(async () => { await run('umount', ['-l', dir], { timeout: 30_000 }).catch(() => {}) })
}
