/**
 * A host CPU for the LAN model, for single-machine validation only (`npm run
 * sim:validate`). On a real store every device is its own machine, its CPU far from the
 * bottleneck at LAN rates, so the fleet simulator has no CPU. bench:lan, which the model
 * is checked against, runs the hub and N devices as N + 1 processes on one shared host:
 * at N = 16 on 2 cores under other jobs' load, their main threads wait on the run queue
 * longer than the wire keeps them, and the makespan measures the host, not the swarm.
 *
 * The model: each node's main thread is one server that works through its CPU work in
 * order. Sending a chunk costs `sendSecPerMiB` of CPU per MiB, receiving one
 * `receiveSecPerMiB`; the thread gets `coreShare` of a core while it has work, so work
 * of w CPU-s takes w / coreShare of wall time. A chunk leaves its sender when both the
 * upload cap's time and the sender's CPU work are done, and is taken in by the
 * receiver when both its bytes have arrived and the receiver's CPU work is done (the
 * receiver's work starts with the chunk's first byte, as the wire streams it).
 *
 * All three are measured in the same bench:lan run (bench/support/lan-host-cpu.ts):
 * the main threads' CPU per MiB from the scheduler's per-thread counters, the share as
 * on-CPU / (on-CPU + run-queue wait). None is fitted to the makespan.
 */
import { StoremeshError } from '../interface/errors.js'

const MiB = 1024 * 1024

export interface HostCpuModel {
  /** main-thread CPU seconds per MiB a node sends */
  sendSecPerMiB: number
  /** main-thread CPU seconds per MiB a node receives */
  receiveSecPerMiB: number
  /** the share of a core a main thread gets while it has work, in (0, 1] */
  coreShare: number
}

export function checkHostCpu (m: HostCpuModel): void {
  const bad = (name: string, v: number, range: string): never => {
    throw new StoremeshError('E_SIM_PARAM', `host CPU ${name}: ${v} is outside ${range}`, { param: name })
  }
  if (!(m.sendSecPerMiB >= 0 && Number.isFinite(m.sendSecPerMiB))) bad('sendSecPerMiB', m.sendSecPerMiB, '[0, Infinity)')
  if (!(m.receiveSecPerMiB >= 0 && Number.isFinite(m.receiveSecPerMiB))) bad('receiveSecPerMiB', m.receiveSecPerMiB, '[0, Infinity)')
  if (!(m.coreShare > 0 && m.coreShare <= 1)) bad('coreShare', m.coreShare, '(0, 1]')
}

/** Each node's main thread: when it is free of the CPU work given to it so far. */
export class HostCpu {
  readonly #freeAtMs: Float64Array
  readonly #sendMsPerByte: number
  readonly #receiveMsPerByte: number

  constructor (m: HostCpuModel, nodes: number) {
    checkHostCpu(m)
    this.#freeAtMs = new Float64Array(nodes)
    this.#sendMsPerByte = 1000 * m.sendSecPerMiB / MiB / m.coreShare
    this.#receiveMsPerByte = 1000 * m.receiveSecPerMiB / MiB / m.coreShare
  }

  /** When node `idx`'s work to send `bytes`, ready from `fromMs`, is done. */
  send (idx: number, bytes: number, fromMs: number): number {
    return this.#work(idx, bytes * this.#sendMsPerByte, fromMs)
  }

  /** When node `idx`'s work to take in `bytes`, ready from `fromMs`, is done. */
  receive (idx: number, bytes: number, fromMs: number): number {
    return this.#work(idx, bytes * this.#receiveMsPerByte, fromMs)
  }

  #work (idx: number, ms: number, fromMs: number): number {
    const done = Math.max(fromMs, this.#freeAtMs[idx] as number) + ms
    this.#freeAtMs[idx] = done
    return done
  }
}
