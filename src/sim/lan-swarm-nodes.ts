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

/**
 * A set of node indices in insertion order (iteration order decides which peer a
 * device fills first, so it is kept) whose membership test is one byte read: fill()
 * asks "does this peer unchoke me?" on every have, 10 M times a 50-device store.
 */
export class NodeSet {
  readonly #on: Uint8Array
  readonly #order = new Set<number>()

  constructor (nodes: number) {
    this.#on = new Uint8Array(nodes)
  }

  get size (): number { return this.#order.size }

  has (i: number): boolean { return this.#on[i] === 1 }

  add (i: number): void {
    this.#on[i] = 1
    this.#order.add(i)
  }

  delete (i: number): void {
    this.#on[i] = 0
    this.#order.delete(i)
  }

  [Symbol.iterator] (): IterableIterator<number> { return this.#order.values() }
}

/** The hub's index in the swarm's nodes: devices are 1..N, corrupt peers after them. */
export const HUB = 0

/** Node `i`: the hub and corrupt peers hold every chunk from the start; a device holds none. */
export function newNode (i: number, init: LanSwarmInit, o: SwarmOptions, now: () => number, random: () => number): Node {
  const n = init.deviceUpBytesPerSec.length
  const total = 1 + n + init.corruptPeers
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
    unread: new Int32Array(total),
    unchokedBy: new NodeSet(total),
    unchoking: new NodeSet(total),
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
