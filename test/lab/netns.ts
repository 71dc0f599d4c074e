/**
 * The network-namespace lab's plumbing (issue 7): a super-hub namespace, a store-hub
 * namespace holding the store LAN's Linux bridge, one namespace per device on that
 * bridge, and a WAN veth between super hub and store hub shaped by the kernel
 * (`tc qdisc ... tbf`), not by storemesh.
 *
 * Everything lives inside namespaces this run creates: every link (veths, bridge) is
 * created in or moved into one of them, so deleting the namespaces removes it all and
 * the host's own namespace is never touched. Names carry the pid and a random tag, so
 * parallel runs never collide; the addresses (10.77.x.y) are private to the namespaces.
 *
 *   super ns:  wan0 10.77.0.1/30  ──tbf──  wan1 10.77.0.2/30 :hub ns
 *   hub ns:    br0 10.77.1.1/24, with one bridge port per device
 *   dev i ns:  lan0 10.77.1.(10+i)/24
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { promisify } from 'node:util'

const run = promisify(execFile)

export const SUPER_WAN_ADDR = '10.77.0.1'
export const HUB_WAN_ADDR = '10.77.0.2'
export const HUB_LAN_ADDR = '10.77.1.1'
const WAN_PREFIX_LEN = 30
const LAN_PREFIX_LEN = 24
/** device i gets 10.77.1.(DEVICE_HOST_BASE + i) */
const DEVICE_HOST_BASE = 10
const MAX_DEVICES = 200
/** mDNS (224.0.0.251) needs a route in a namespace that has no default route */
const MULTICAST_NET = '224.0.0.0/4'
/** one `ip`/`tc` call; the machine is loaded, so generous */
const CMD_TIMEOUT_MS = 30_000
const NS_PREFIX = 'smlab'

export function deviceAddr (i: number): string {
  return `10.77.1.${DEVICE_HOST_BASE + i}`
}

async function sh (cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args, { timeout: CMD_TIMEOUT_MS })
  return r.stdout
}

/** Runs `cmd args` inside namespace `ns`. */
export async function nsExec (ns: string, cmd: string, args: string[]): Promise<string> {
  return await sh('ip', ['netns', 'exec', ns, cmd, ...args])
}

/**
 * Why the lab cannot run here, or undefined when it can: needs root, iproute2, and a
 * kernel that lets us create a namespace, a veth pair, a bridge and a tbf qdisc.
 */
export async function labSkipReason (): Promise<string | undefined> {
  if (process.platform !== 'linux') return `the lab needs Linux network namespaces (platform is ${process.platform})`
  if (process.getuid?.() !== 0) return 'the lab needs root (ip netns, veth, bridge, tc); run `sudo npm run lab`'
  const probe = `${NS_PREFIX}${process.pid}-probe-${randomBytes(3).toString('hex')}`
  try {
    await sh('ip', ['netns', 'add', probe])
  } catch (err) {
    return `\`ip netns add\` failed: ${firstLine(err)}`
  }
  try {
    await nsExec(probe, 'ip', ['link', 'add', 'wan0', 'type', 'veth', 'peer', 'name', 'wan1'])
    await nsExec(probe, 'ip', ['link', 'add', 'br0', 'type', 'bridge'])
    await nsExec(probe, 'ip', ['link', 'set', 'wan0', 'up'])
    await nsExec(probe, 'tc', ['qdisc', 'add', 'dev', 'wan0', 'root', 'tbf', 'rate', '8mbit', 'burst', '32kbit', 'latency', '400ms'])
    return undefined
  } catch (err) {
    return `the kernel refused a lab step (veth, bridge or tc tbf): ${firstLine(err)}`
  } finally {
    await sh('ip', ['netns', 'del', probe]).catch(() => {})
  }
}

function firstLine (err: unknown): string {
  const e = err as { stderr?: string, message?: string }
  return (e.stderr?.trim() || e.message || String(err)).split('\n')[0]?.slice(0, 200) ?? ''
}

/** pids of every process inside `ns` (the ones this lab spawned there, and their children) */
async function nsPids (ns: string): Promise<number[]> {
  const out = await sh('ip', ['netns', 'pids', ns]).catch(() => '')
  return out.split(/\s+/).filter(s => /^\d+$/.test(s)).map(Number)
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/**
 * Deletes namespaces an earlier lab run left behind when it was killed before its
 * teardown (its pid, in the name, no longer runs). Only names of this lab's form.
 */
export async function removeStaleLabNamespaces (): Promise<string[]> {
  const out = await sh('ip', ['netns', 'list']).catch(() => '')
  const removed: string[] = []
  for (const line of out.split('\n')) {
    const name = line.split(' ')[0] ?? ''
    const m = new RegExp(`^${NS_PREFIX}(\\d+)-`).exec(name)
    if (m === null || alive(Number(m[1]))) continue
    for (const pid of await nsPids(name)) { try { process.kill(pid, 'SIGKILL') } catch {} }
    await sh('ip', ['netns', 'del', name]).catch(() => {})
    removed.push(name)
  }
  return removed
}

export interface LabNetOptions {
  devices: number
  /** the WAN's rate in tc's syntax, both directions, e.g. `16mbit` */
  wanRate: string
}

export class LabNet {
  readonly id: string
  readonly superNs: string
  readonly hubNs: string
  readonly deviceNs: string[]
  readonly #created: string[] = []

  private constructor (devices: number) {
    this.id = `${NS_PREFIX}${process.pid}-${randomBytes(3).toString('hex')}`
    this.superNs = `${this.id}-super`
    this.hubNs = `${this.id}-hub`
    this.deviceNs = Array.from({ length: devices }, (_, i) => `${this.id}-d${i}`)
  }

  /** Builds the whole topology; on any failure what was made is deleted again. */
  static async create (opts: LabNetOptions): Promise<LabNet> {
    if (opts.devices < 1 || opts.devices > MAX_DEVICES) throw new Error(`devices must be in [1, ${MAX_DEVICES}]`)
    const net = new LabNet(opts.devices)
    try {
      await net.#build(opts)
    } catch (err) {
      await net.destroy()
      throw err
    }
    return net
  }

  async #addNs (name: string): Promise<void> {
    await sh('ip', ['netns', 'add', name])
    this.#created.push(name)
    await nsExec(name, 'ip', ['link', 'set', 'lo', 'up'])
  }

  async #build (opts: LabNetOptions): Promise<void> {
    const { superNs: sup, hubNs: hub } = this
    await this.#addNs(sup)
    await this.#addNs(hub)
    // the WAN: one veth pair, shaped by tbf on both ends' egress
    await nsExec(sup, 'ip', ['link', 'add', 'wan0', 'type', 'veth', 'peer', 'name', 'wan1', 'netns', hub])
    await nsExec(sup, 'ip', ['addr', 'add', `${SUPER_WAN_ADDR}/${WAN_PREFIX_LEN}`, 'dev', 'wan0'])
    await nsExec(hub, 'ip', ['addr', 'add', `${HUB_WAN_ADDR}/${WAN_PREFIX_LEN}`, 'dev', 'wan1'])
    for (const [ns, dev] of [[sup, 'wan0'], [hub, 'wan1']] as const) {
      await nsExec(ns, 'ip', ['link', 'set', dev, 'up'])
      await nsExec(ns, 'tc', ['qdisc', 'add', 'dev', dev, 'root', 'tbf', 'rate', opts.wanRate, 'burst', '32kbit', 'latency', '400ms'])
    }
    // the store LAN: a bridge in the hub's namespace, the hub's address on it
    await nsExec(hub, 'ip', ['link', 'add', 'br0', 'type', 'bridge'])
    await nsExec(hub, 'ip', ['addr', 'add', `${HUB_LAN_ADDR}/${LAN_PREFIX_LEN}`, 'dev', 'br0'])
    await nsExec(hub, 'ip', ['link', 'set', 'br0', 'up'])
    await nsExec(hub, 'ip', ['route', 'add', MULTICAST_NET, 'dev', 'br0'])
    for (const [i, ns] of this.deviceNs.entries()) {
      await this.#addNs(ns)
      const port = `port${i}`
      await nsExec(ns, 'ip', ['link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', port, 'netns', hub])
      await nsExec(hub, 'ip', ['link', 'set', port, 'master', 'br0'])
      await nsExec(hub, 'ip', ['link', 'set', port, 'up'])
      await nsExec(ns, 'ip', ['addr', 'add', `${deviceAddr(i)}/${LAN_PREFIX_LEN}`, 'dev', 'lan0'])
      await nsExec(ns, 'ip', ['link', 'set', 'lan0', 'up'])
      await nsExec(ns, 'ip', ['route', 'add', MULTICAST_NET, 'dev', 'lan0'])
    }
  }

  /** Cuts the WAN (both ends down, as a pulled cable or a dead uplink) or restores it. */
  async setWan (up: boolean): Promise<void> {
    const state = up ? 'up' : 'down'
    await nsExec(this.hubNs, 'ip', ['link', 'set', 'wan1', state])
    await nsExec(this.superNs, 'ip', ['link', 'set', 'wan0', state])
  }

  /** Bytes the kernel counted on the super hub's WAN interface: tx = toward the store. */
  async wanCounters (): Promise<{ txBytes: number, rxBytes: number }> {
    const out = await sh('ip', ['-n', this.superNs, '-s', '-j', 'link', 'show', 'dev', 'wan0'])
    const j = JSON.parse(out) as Array<{ stats64?: { tx: { bytes: number }, rx: { bytes: number } } }>
    const s = j[0]?.stats64
    return { txBytes: s?.tx.bytes ?? 0, rxBytes: s?.rx.bytes ?? 0 }
  }

  /** Spawns `cmd args` inside `ns`; `ip netns exec` execs it, so the child's pid is the command's. */
  spawnIn (ns: string, cmd: string, args: string[], options: { cwd?: string, env?: NodeJS.ProcessEnv } = {}): ChildProcess {
    return spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...options })
  }

  /** Kills whatever still runs in the namespaces, then deletes them (and with them every link). */
  async destroy (): Promise<void> {
    for (const ns of this.#created) {
      for (const pid of await nsPids(ns)) { try { process.kill(pid, 'SIGKILL') } catch {} }
    }
    for (const ns of this.#created.splice(0).reverse()) {
      await sh('ip', ['netns', 'del', ns]).catch(() => {})
    }
  }

  /** namespaces of this lab still listed by `ip netns list` (empty after destroy) */
  async leftovers (): Promise<string[]> {
    const out = await sh('ip', ['netns', 'list']).catch(() => '')
    return out.split('\n').map(l => l.split(' ')[0] ?? '').filter(n => n.startsWith(this.id + '-'))
  }
}
