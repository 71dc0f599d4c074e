import type { LanVerdicts } from './lan-verdicts.js'
import type { CopiesAsked } from './lan-timeline.js'

/**
 * What one bench:lan peer-to-peer run at N devices measured (bench/lan.ts runP2p): the
 * figures its table and targets are computed from.
 */
import type { SmapsSample } from './smaps.js'
import type { HostCpuInputs } from './lan-host-cpu.js'

export interface P2pRun { makespanMs: number, startSpreadMs: number
  /** from the hub's ready until it had uploaded one copy of the bundle (undefined: it never did) */
  hubCopyMs: number | undefined
  /** from the hub's ready until its status first counted all N devices as peers (undefined: never seen; the status is written every second) */
  hubAllPeersMs: number | undefined
  /** from the hub's ready until its status first counted 1, 2, ... N peers (as many as it was seen to reach) */
  hubPeersAtMs: number[]
  hubUpBytes: number, cpuSec: number,
  /** peak RSS (VmHWM) of the hub and of the largest device, read before the stop, bytes */
  hubPeakRssBytes: number, devicePeakRssBytes: number, cpuTransferSec: number, hubCpuTransferSec: number, wallSec: number
  /** the part of cpuTransferSec spent on the processes' main threads (the rest: V8's compiler and GC workers, libuv's pool) */
  mainThreadTransferSec: number
  /** CPU seconds of all processes over IDLE_SAMPLE_MS once every device held the bundle */
  idleCpuSec: number
  /** the same for the hub alone, and for the busiest device */
  hubIdleCpuSec: number, worstDeviceIdleCpuSec: number
  /** packets to the mDNS group on the host during that sample, per second (bench/support/netns.ts) */
  idleMdnsPerSec: number
  /** each process's largest smaps_rollup sample, by 'hub' / 'dev<i>' (bench/support/smaps.ts) */
  smapsPeaks: Map<string, SmapsSample>
  /** devices' status.json wastedBytes, summed and the largest */
  wastedBytes: number, worstWastedBytes: number
  /** per device, by index: ms from the hub's ready to its completion, and its wastedBytes (bench/support/lan-timeline.ts) */
  doneMsEach: number[], wastedEach: number[]
  /** the devices' copies asked of chunks in flight, summed (bench/support/lan-timeline.ts) */
  copiesAsked: CopiesAsked | undefined
  /** bans and hoarder verdicts the (all honest) nodes passed on each other */
  verdicts: LanVerdicts
  /** main threads' CPU and run-queue wait, and the bytes they moved (sim:validate's host CPU model) */
  hostCpu: HostCpuInputs }
