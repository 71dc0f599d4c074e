/**
 * What the simulator's host CPU model (src/sim/host-cpu.ts) takes from one bench:lan run:
 * the main threads' CPU per MiB sent and received, and the share of a core they got
 * while runnable, all between "every node ready" and "every device complete". Read
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
  return `host CPU (main threads, ready to complete): hub ${h.hubCpuSec.toFixed(2)} s for ${(h.hubSentBytes / MiB).toFixed(1)} MiB sent, ` +
    `devices ${h.devicesCpuSec.toFixed(2)} s for ${(h.devicesSentBytes / MiB).toFixed(1)} MiB sent and ${(h.devicesReceivedBytes / MiB).toFixed(1)} MiB received; ` +
    `on a CPU ${h.cpuSec.toFixed(2)} s, waiting on the run queue ${h.waitSec.toFixed(2)} s: ` +
    `model inputs send ${sendSecPerMiB.toFixed(4)} CPU-s/MiB, receive ${receiveSecPerMiB.toFixed(4)} CPU-s/MiB, core share while runnable ${share.toFixed(3)}`
}
