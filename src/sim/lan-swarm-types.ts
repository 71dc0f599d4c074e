/**
 * The data of one store's simulated LAN swarm (lan-swarm.ts): what a run is given, what
 * it returns, and each node's state (its Picker, Choker, scorer, upload queue).
 */
import type { HostCpuModel } from './host-cpu.js'
import type { Choker } from '../swarm/choker.js'
import type { SwarmOptions } from '../swarm/constants.js'
import type { Picker } from '../swarm/picker.js'
import type { PeerScorer } from '../swarm/scoring.js'
import type { NodeSet } from './lan-swarm-nodes.js'
import type { Rng } from './rng.js'

export interface LanSwarmInit {
  pieceSizes: readonly number[]
  hubUpBytesPerSec: number
  /** one entry per device */
  deviceUpBytesPerSec: readonly number[]
  deviceDownBytesPerSec: readonly number[]
  /** one-way message latency on the LAN */
  latencyMs: number
  /** from the hub holding the bundle until it is connected to every device (discovery, dial, handshake) */
  connectMs: number
  /**
   * Device i's connection to the hub opens at hubConnectMs[i - 1] instead (no earlier than
   * connectMs): the devices are connected among themselves at connectMs. For checking
   * against processes on one loaded host, whose hub dialled its devices over a minute.
   */
  hubConnectMs?: readonly number[]
  corruptPeers: number
  rng: Rng
  options?: Partial<SwarmOptions>
  /** each node's main thread on one shared host: for checking against processes on one machine only (host-cpu.ts) */
  hostCpu?: HostCpuModel
  /** give up (a bug or a stuck swarm): the result says incomplete */
  horizonMs?: number
}

export interface LanSwarmResult {
  /** hub connected-at-zero -> last honest device complete (ms), Infinity when not all completed */
  makespanMs: number
  doneMs: number[]
  hubUpBytes: number
  /** every byte uploaded on the LAN (hub and devices) */
  lanBytes: number
  /** copies received twice or bad */
  wastedBytes: number
  badChunks: number
  bans: number
  events: number
}

export interface Req { from: number, index: number, passed: number, live: boolean, holders: () => number }

export interface Node {
  idx: number
  id: string
  picker: Picker
  upBps: number
  downBps: number
  downFreeAtMs: number
  queue: Req[]
  serving: Req | undefined
  prepaidBytes: number
  upBytes: number
  /** chunks this node sent to each node that it has not read yet (the wire not drained) */
  unread: Int32Array
  /** peers that unchoke this node (it may request from them) */
  unchokedBy: NodeSet
  /** peers this node unchokes */
  unchoking: NodeSet
  choker: Choker | undefined
  recentDown: Map<number, number>
  recentUp: Map<number, number>
  scorer: PeerScorer
  banned: Set<number>
  doneMs: number
  corrupt: boolean
}
