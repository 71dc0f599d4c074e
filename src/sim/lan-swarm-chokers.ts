/**
 * The LAN model's choker runs: each device's choker over its peers (the product's
 * choker.ts) and the hub's, whose unchoked peers get the super-seeder's offers. Split
 * from lan-swarm.ts, which batches the runs (CHOKER_BATCH_MS) and applies them.
 */
import type { Choker, ChokerPeer } from '../swarm/choker.js'
import type { Node } from './lan-swarm-types.js'
import { HUB } from './lan-swarm-nodes.js'
import type { LanSwarm } from './lan-swarm.js'

export function runDeviceChoker (s: LanSwarm, d: Node): void {
  const choker = d.choker as Choker
  const now = s.q.nowMs()
  // Between rotations, with every slot held by a peer that still wants to download,
  // decide() returns the same peers and draws no random number (choker.ts), and
  // applying it changes nothing: skipped, it costs the held peers' interest, not a
  // pass over all of them. Most runs are such (an `interested` elsewhere re-runs it).
  if (!choker.rotationDue(now) && d.unchoking.size === s.slots && allStillCandidates(s, d)) return
  const seeding = d.picker.complete
  const peers: ChokerPeer[] = []
  for (const e of s.devices) {
    if (e === d) continue
    peers.push({
      id: e.id,
      candidate: !e.banned.has(d.idx) && e.picker.isInteresting(d.id),
      link: 'lan',
      score: seeding ? (d.recentUp.get(e.idx) ?? 0) : (d.recentDown.get(e.idx) ?? 0)
    })
  }
  const on = choker.decide(peers, now)
  for (const e of s.devices) if (e !== d) s.setUnchoke(d, e, on.has(e.id))
}

/** Every peer `d` unchokes is still a candidate of its choker (runDeviceChoker's test). */
function allStillCandidates (s: LanSwarm, d: Node): boolean {
  for (const i of d.unchoking) {
    const e = s.nodes[i] as Node
    if (e.banned.has(d.idx) || !e.picker.isInteresting(d.id)) return false
  }
  return true
}

export function runHubChoker (s: LanSwarm): void {
  const hub = s.nodes[HUB] as Node
  const n = s.sizes.length
  const on = s.hubChoker.decide(s.devices.map(e => ({
    id: e.id,
    candidate: s.hubLinked[e.idx] === 1 && (e.picker.isInteresting(hub.id) || (hub.picker.peerBits(e.id)?.count ?? 0) < n),
    link: 'lan' as const,
    score: hub.recentUp.get(e.idx) ?? 0
  })), s.q.nowMs())
  for (const e of s.devices) {
    const u = on.has(e.id)
    s.setUnchoke(hub, e, u)
    s.seeder.setUnchoked(e.id, u)
    if (u) s.sendOffersTo(e)
  }
}
