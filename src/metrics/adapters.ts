/**
 * Adapters from the landed parts to the metric sources, typed structurally so that
 * metrics/ imports none of its sibling subsystems (lease, ledger, swarm, wan).
 */
import type { Link } from '../interface/types.js'
import type { LeaseSource, TrafficSource, WaveDevices, WaveSource } from './sources.js'

/** LeaseTable fits: `leaseSourceOf(table)`. */
export function leaseSourceOf (table: { active(): readonly unknown[], readonly limit: number }): LeaseSource {
  return { inUse: () => table.active().length, limit: () => table.limit }
}

interface WaveSummaryLike {
  waveId: string
  counts: { updated: number, rolledBack: number, failed: number, pending: number, blocked: number }
  halted: boolean
  paused: boolean
}

/** The ledger's condensed counts under the state names of DEVICE_WAVE_STATES. */
export function waveDevicesOf (w: WaveSummaryLike): WaveDevices {
  const c = w.counts
  return {
    waveId: w.waveId,
    states: { updated: c.updated, 'rolled-back': c.rolledBack, failed: c.failed, pending: c.pending, blocked: c.blocked },
    halted: w.halted,
    paused: w.paused
  }
}

/** HubLedger (and SuperLedger through the same shape) fits: `waveSourceOf(ledger)`. */
export function waveSourceOf (ledger: { waves(): Promise<WaveSummaryLike[]> }): WaveSource {
  return { waves: async () => (await ledger.waves()).map(waveDevicesOf) }
}

/** Counts bans as they happen (BanList emits 'ban'); the list alone forgets expired ones. */
export class BanCounter {
  total = 0
  readonly #off: () => void

  constructor (bans: { on(event: 'ban', fn: (...args: any[]) => void): unknown, off(event: 'ban', fn: (...args: any[]) => void): unknown }) {
    const onBan = (): void => { this.total++ }
    bans.on('ban', onBan)
    this.#off = () => { bans.off('ban', onBan) }
  }

  close (): void { this.#off() }
}

type LinkBytes = Record<Link, { up: number, down: number }>
interface ProgressLike {
  progress(): { bytes: LinkBytes, badChunks: number }
  /** a super-seeding swarm's hoarders (swarm/superseed.ts) */
  readonly superseedHoarders?: number
}

/**
 * Cumulative bytes and bad chunks over swarms that come and go: live swarms are read
 * at scrape time, a swarm's final figures are kept when the role retires it.
 */
export class SwarmTally implements TrafficSource {
  readonly #retired: LinkBytes = { lan: { up: 0, down: 0 }, wan: { up: 0, down: 0 } }
  #retiredBad = 0
  #retiredHoarders = 0
  readonly #live: () => Iterable<ProgressLike>
  readonly #extra: Array<() => LinkBytes>

  /** `live`: the swarms running now (ChunkProtocol.swarms()); `extra`: other byte counters (the WAN fetcher). */
  constructor (live: () => Iterable<ProgressLike>, extra: Array<() => LinkBytes> = []) {
    this.#live = live
    this.#extra = extra
  }

  /** Call before a swarm is dropped (ChunkProtocol.leave) so its bytes stay counted. */
  retire (swarm: ProgressLike): void {
    const p = swarm.progress()
    addInto(this.#retired, p.bytes)
    this.#retiredBad += p.badChunks
    this.#retiredHoarders += swarm.superseedHoarders ?? 0
  }

  bytes (): LinkBytes {
    const sum: LinkBytes = { lan: { ...this.#retired.lan }, wan: { ...this.#retired.wan } }
    for (const s of this.#live()) addInto(sum, s.progress().bytes)
    for (const x of this.#extra) addInto(sum, x())
    return sum
  }

  badChunks (): number {
    let n = this.#retiredBad
    for (const s of this.#live()) n += s.progress().badChunks
    return n
  }

  /** Peers super-seeding swarms found hoarding, over live and retired swarms. */
  hoarders (): number {
    let n = this.#retiredHoarders
    for (const s of this.#live()) n += s.superseedHoarders ?? 0
    return n
  }
}

function addInto (into: LinkBytes, b: LinkBytes): void {
  for (const link of ['lan', 'wan'] as const) {
    into[link].up += b[link].up
    into[link].down += b[link].down
  }
}
