/**
 * Verdicts the nodes of a bench:lan run passed on each other (issue #20): every peer
 * there is honest, so each ban, hoarder drop or super-seeding hoarder flag is a false
 * one. Read from every node's last status.json (written at its orderly stop), so a
 * verdict the status pacer had not written yet is still counted.
 */
import { readStatusFile } from '../../src/roles/peer-status.js'

export interface LanVerdicts {
  /** bans held by any node, summed over the nodes */
  bans: number
  /** peers disconnected as hoarders by downloading swarms (swarm/hoarders.ts) */
  droppedHoarders: number
  /** peers the super-seeding hub found claiming chunks they never served (swarm/superseed.ts) */
  superseedHoarders: number
  /** peers demoted to one request at a time (picker-trust.ts): not a verdict, the price of caution */
  suspects: number
  /** nodes whose status.json could not be read */
  unread: number
}

export async function lanVerdictsOf (dataDirs: readonly string[], bundleId: string): Promise<LanVerdicts> {
  const out: LanVerdicts = { bans: 0, droppedHoarders: 0, superseedHoarders: 0, suspects: 0, unread: 0 }
  for (const dir of dataDirs) {
    const s = await readStatusFile(dir).catch(() => undefined)
    if (s === undefined) { out.unread++; continue }
    out.bans += s.bans.length
    const b = s.bundles.find(x => x.id === bundleId)
    out.droppedHoarders += b?.droppedHoarders ?? 0
    out.superseedHoarders += b?.hoarders ?? 0
    out.suspects += b?.suspectPeers ?? 0
  }
  return out
}

export function lanVerdictsLine (v: LanVerdicts): string {
  const wrong = v.bans + v.droppedHoarders + v.superseedHoarders
  return `verdicts against honest peers: ${wrong} (bans ${v.bans}, hoarders dropped ${v.droppedHoarders}, super-seeding hoarders ${v.superseedHoarders}; target 0: ` +
    `${wrong === 0 && v.unread === 0 ? 'ok' : 'MISSED'})${v.unread > 0 ? `, ${v.unread} status files unread` : ''}; suspects (demoted, not dropped) ${v.suspects}`
}
