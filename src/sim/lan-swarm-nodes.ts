/**
 * The nodes of one simulated store (lan-swarm.ts): the hub, the N devices and the
 * corrupt peers, each with the product's own Picker, Choker and PeerScorer. Apart so
 * the swarm's model reads as its messages and turns, not its set-up.
 */
import { Choker } from '../swarm/choker.js'
import type { SwarmOptions } from '../swarm/constants.js'
import { Picker } from '../swarm/picker.js'
import { BanList, PeerScorer } from '../swarm/scoring.js'
import type { LanSwarmInit, Node } from './lan-swarm-types.js'

/** The hub's index in the swarm's nodes: devices are 1..N, corrupt peers after them. */
export const HUB = 0

/** Node `i`: the hub and corrupt peers hold every chunk from the start; a device holds none. */
export function newNode (i: number, init: LanSwarmInit, o: SwarmOptions, now: () => number, random: () => number): Node {
  const n = init.deviceUpBytesPerSec.length
  const sizes = init.pieceSizes
  const device = i >= 1 && i <= n
  const corrupt = i > n
  const picker = new Picker({ ...o, pieceSizes: sizes, now, random })
  const node: Node = {
    idx: i,
    id: i === HUB ? 'hub' : corrupt ? `x${i}` : `d${i}`,
    picker,
    upBps: i === HUB ? init.hubUpBytesPerSec : device ? (init.deviceUpBytesPerSec[i - 1] as number) : (init.deviceUpBytesPerSec[0] ?? init.hubUpBytesPerSec),
    downBps: device ? (init.deviceDownBytesPerSec[i - 1] as number) : Infinity,
    downFreeAtMs: 0,
    queue: [],
    serving: undefined,
    prepaidBytes: 0,
    upBytes: 0,
    unchokedBy: new Set(),
    unchoking: new Set(),
    choker: device ? new Choker({ uploadSlots: o.uploadSlots, optimisticSlots: o.optimisticSlots, intervalMs: o.chokeIntervalMs, random }) : undefined,
    recentDown: new Map(),
    recentUp: new Map(),
    scorer: new PeerScorer({ bans: new BanList({ now }), now }),
    banned: new Set(),
    doneMs: device ? Infinity : 0,
    corrupt
  }
  if (!device) for (let c = 0; c < sizes.length; c++) picker.setHave(c)
  return node
}
