/**
 * What the simulator's host CPU model (src/sim/host-cpu.ts) takes from one bench:lan run:
 * the main threads' CPU per MiB sent and received, and the share of a core they got
 * while runnable, each node from "every node ready" to the end of its own transfer
 * (OwnTransfers). Read
 * from the scheduler (/proc/<pid>/task/<pid>/schedstat), so the figures are in
 * nanoseconds, not /proc/<pid>/stat's 10 ms ticks.
 *
 * Main threads only: a Node process's chunk path (wire, Noise, BLAKE3, the picker) is
 * its main thread; V8's GC and compiler threads run beside it and are counted in the
 * processes' CPU line, not here.
 */
import { schedOf } from './proc.js'

const MiB = 1024 * 1024

export interface SchedSnap { cpuSec: number, waitSec: number }

export async function schedOfAll (pids: Array<number | undefined>): Promise<SchedSnap[]> {
  return await Promise.all(pids.map(async pid => await schedOf(pid)))
}

export interface LanBytes { up: number, down: number }

/**
 * Each node's scheduler counters and bytes at the end of its own transfer: the hub's
 * first full copy, a device's completion. After that a node's CPU goes to haves,
 * choking and status writes, not to chunks: the hub sent its copy by 36.9 s of a
 * 129.3 s run at load 93, and charging the whole window to its 8 MiB made the model's
 * hub three times slower per chunk than the real one.
 */
export class OwnTransfers {
  readonly #snaps: Array<SchedSnap | undefined>
  readonly #bytes: Array<LanBytes | undefined>

  constructor (n: number) {
    this.#snaps = Array(n + 1).fill(undefined)
    this.#bytes = Array(n + 1).fill(undefined)
  }

  /** Node i (0: the hub) ended its transfer now, having moved `bytes` (a device's receipt is at least `minDown`: its status may be a second old). */
  async end (i: number, pid: number | undefined, bytes: LanBytes, minDown: number): Promise<void> {
    if (this.#snaps[i] !== undefined) return
    this.#snaps[i] = await schedOf(pid)
    this.#bytes[i] = { up: bytes.up, down: Math.max(bytes.down, minDown) }
  }

  /** the snapshots, `atEnd`'s for a node that never ended its own */
  snaps (atEnd: SchedSnap[]): SchedSnap[] {
    return atEnd.map((s, i) => this.#snaps[i] ?? s)
  }

  /** hub sent, devices sent, devices received, `atEnd`'s for a node that never ended its own */
  bytes (atEnd: LanBytes[]): [number, number, number] {
    const b = atEnd.map((x, i) => this.#bytes[i] ?? x)
    const devices = b.slice(1)
    return [b[0]?.up ?? 0, devices.reduce((a, x) => a + x.up, 0), devices.reduce((a, x) => a + x.down, 0)]
  }
}

export interface HostCpuInputs {
  hubCpuSec: number
  hubSentBytes: number
  devicesCpuSec: number
  devicesSentBytes: number
  devicesReceivedBytes: number
  /** all main threads: time on a CPU and time waiting on a run queue */
  cpuSec: number
  waitSec: number
}

/** `from`/`to`: snapshots of the same processes, the hub first. */
export function hostCpuInputs (from: SchedSnap[], to: SchedSnap[], hubSentBytes: number, devicesSentBytes: number, devicesReceivedBytes: number): HostCpuInputs {
  const d = to.map((t, i) => ({ cpuSec: t.cpuSec - (from[i]?.cpuSec ?? 0), waitSec: t.waitSec - (from[i]?.waitSec ?? 0) }))
  const hub = d[0] ?? { cpuSec: 0, waitSec: 0 }
  const devices = d.slice(1)
  return {
    hubCpuSec: hub.cpuSec,
    hubSentBytes,
    devicesCpuSec: devices.reduce((a, x) => a + x.cpuSec, 0),
    devicesSentBytes,
    devicesReceivedBytes,
    cpuSec: d.reduce((a, x) => a + x.cpuSec, 0),
    waitSec: d.reduce((a, x) => a + x.waitSec, 0)
  }
}

/**
 * The model's inputs: the hub only sends, so its CPU per MiB sent is the send cost; what
 * the devices spent beyond that cost for what they sent is the receive cost. The share
 * of a core is on-CPU / (on-CPU + waiting) over all main threads.
 */
export function hostCpuLine (h: HostCpuInputs): string {
  const sendSecPerMiB = h.hubSentBytes > 0 ? h.hubCpuSec / (h.hubSentBytes / MiB) : 0
  const receiveSecPerMiB = h.devicesReceivedBytes > 0 ? Math.max(0, h.devicesCpuSec - sendSecPerMiB * h.devicesSentBytes / MiB) / (h.devicesReceivedBytes / MiB) : 0
  const share = h.cpuSec + h.waitSec > 0 ? h.cpuSec / (h.cpuSec + h.waitSec) : 1
  return `host CPU (main threads, ready to the end of each one's transfer): hub ${h.hubCpuSec.toFixed(2)} s for ${(h.hubSentBytes / MiB).toFixed(1)} MiB sent, ` +
    `devices ${h.devicesCpuSec.toFixed(2)} s for ${(h.devicesSentBytes / MiB).toFixed(1)} MiB sent and ${(h.devicesReceivedBytes / MiB).toFixed(1)} MiB received; ` +
    `on a CPU ${h.cpuSec.toFixed(2)} s, waiting on the run queue ${h.waitSec.toFixed(2)} s: ` +
    `model inputs send ${sendSecPerMiB.toFixed(4)} CPU-s/MiB, receive ${receiveSecPerMiB.toFixed(4)} CPU-s/MiB, core share while runnable ${share.toFixed(3)}`
}
