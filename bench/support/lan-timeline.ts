/**
 * Where a bench:lan run lost time against its bound (issue #19, makespan): when the hub
 * was connected to every device (start-up skew), when its first full copy was out (the
 * seed's own latency: F/u_hub at best), and how the devices' completions spread after it
 * (the endgame tail: the last device against the median one). Per device: its finish
 * time and the share of the bundle it received twice or refused, so a run's duplicates
 * are seen to come from a few devices or from all of them.
 */
import { sec } from './format.js'
import { bundleStatus } from './lan-procs.js'

export interface CopiesAsked { probe: number, endgame: number, reask: number }

/** The devices' copies asked of chunks already in flight (status.json `copiesAsked`), summed, read after their stop. */
export async function copiesAskedOf (dataDirs: string[], id: string): Promise<CopiesAsked | undefined> {
  const sum: CopiesAsked = { probe: 0, endgame: 0, reask: 0 }
  let seen = false
  for (const d of dataDirs) {
    const c = (await bundleStatus(d, id))?.copiesAsked
    if (c === undefined) continue
    seen = true
    sum.probe += c.probe
    sum.endgame += c.endgame
    sum.reask += c.reask
  }
  return seen ? sum : undefined
}

export interface LanTimeline {
  /** ms from the hub's ready to each device's completion, by device index */
  doneMs: number[]
  /** bytes each device received twice or refused, by device index */
  wastedBytes: number[]
  hubAllPeersMs: number | undefined
  hubCopyMs: number | undefined
  /** undefined: the daemons do not report it (an older build) */
  copiesAsked: CopiesAsked | undefined
  /** the bundle's chunk count */
  chunks?: number
}

/** the value at fraction q of the sorted `xs` (nearest rank) */
function rank (sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0
}

export function lanTimelineLines (t: LanTimeline, bundleBytes: number, boundMs: number): string[] {
  const sorted = [...t.doneMs].sort((a, b) => a - b)
  const first = sorted[0] ?? 0
  const median = rank(sorted, 0.5)
  const last = sorted[sorted.length - 1] ?? 0
  const never = 'never seen'
  const head = `timeline from the hub's ready: all peers ${t.hubAllPeersMs === undefined ? never : sec(t.hubAllPeersMs)}, ` +
    `hub's first copy ${t.hubCopyMs === undefined ? never : sec(t.hubCopyMs)} (bound ${sec(boundMs)}), devices complete first ${sec(first)}, ` +
    `median ${sec(median)}, p90 ${sec(rank(sorted, 0.9))}, last ${sec(last)} (tail last - median ${sec(last - median)})`
  const order = t.doneMs.map((ms, i) => ({ ms, i })).sort((a, b) => a.ms - b.ms)
  const each = 'by finish: ' + order.map(({ ms, i }) => `dev${i} ${(ms / 1000).toFixed(1)}s/${(100 * (t.wastedBytes[i] ?? 0) / bundleBytes).toFixed(0)}%`).join(' ') +
    ' (completion / duplicates as % of the bundle)'
  const c = t.copiesAsked
  const copies = c === undefined
    ? 'copies asked of chunks in flight: not reported by this build'
    : `copies asked of chunks already in flight, all devices: ${c.probe} probes, ${c.endgame} endgame, ${c.reask} re-asks ` +
      `(${(100 * (c.probe + c.endgame + c.reask) / Math.max(1, t.doneMs.length * (t.chunks ?? 1))).toFixed(1)}% of the chunks delivered)`
  return [head, each, copies]
}
