/**
 * What each message from one peer's wire changes in its bundle's swarm (session.ts):
 * the picker learns what the peer holds and whether it lets us ask, the unchoker and
 * the hoarder watch learn about the peer, and pieces go to the swarm's verification.
 * Kept apart from the session so the message-to-effect table reads in one place; the
 * session hands in its parts and the steps that stay its own.
 */
import type { StoremeshError } from '../interface/errors.js'
import { Bits } from './bits.js'
import type { HoarderWatch } from './hoarders.js'
import type { PeerTrace } from './peer-trace.js'
import type { Picker } from './picker.js'
import type { SwarmPeer } from './swarm-peer.js'
import type { Unchoking } from './unchoking.js'
import { violationOf } from './violations.js'

export interface PeerEventTarget {
  readonly picker: Picker
  readonly trace: PeerTrace
  readonly hoarders: HoarderWatch
  readonly unchoking: Unchoking
  readonly pieceCount: number
  /** a super-seeder shows nothing up front: chunks are offered one by one */
  readonly superseed: boolean
  stopped: () => boolean
  peerAdded: (id: string) => void
  peerRemoved: (id: string, err?: StoremeshError) => void
  updateInterest: (peer: SwarmPeer) => void
  fill: (peer: SwarmPeer) => void
  scheduleFill: () => void
  onPiece: (peer: SwarmPeer, index: number, data: Uint8Array) => void
  /** forgets the peer; false when it was already replaced by another wire */
  removePeer: (peer: SwarmPeer) => boolean
  onViolation: (peer: SwarmPeer, violation: NonNullable<ReturnType<typeof violationOf>>, err: StoremeshError) => void
}

export function bindPeerEvents (peer: SwarmPeer, t: PeerEventTarget): void {
  const { wire, id } = peer
  const { picker, trace, unchoking } = t
  wire.on('ready', () => {
    picker.addPeer(id)
    trace.ready(id)
    t.hoarders.peerReady(id)
    wire.sendBitfield(t.superseed ? new Bits(t.pieceCount) : picker.held)
    unchoking.addPeer(id)
    t.peerAdded(id)
  })
  wire.on('bitfield', bits => {
    picker.peerBitfield(id, bits)
    trace.claim(id, bits.count, t.pieceCount, true)
    t.updateInterest(peer)
    t.fill(peer)
    unchoking.peerBitfield(peer)
    // a claimant that chokes us holds us from its claim (picker-trust.ts holdsUs)
    t.hoarders.arm()
  })
  wire.on('have', index => {
    if (!picker.peerHave(id, index)) return
    if (trace.enabled) trace.claim(id, picker.peerBits(id)?.count ?? 0, t.pieceCount)
    unchoking.peerHave(id, index)
    t.updateInterest(peer)
    t.fill(peer)
  })
  wire.on('unchoke', () => {
    picker.peerUnchoked(id)
    trace.unchoked(id)
    t.fill(peer)
  })
  wire.on('choke', () => {
    picker.peerUnchoked(id, false)
    if (picker.unproven(id)) t.hoarders.arm()
  })
  wire.on('interested', () => { unchoking.schedule() })
  wire.on('uninterested', () => { unchoking.schedule() })
  wire.on('request', req => { peer.uploader.enqueue(req) })
  wire.on('piece', (index, data) => { t.onPiece(peer, index, data) })
  wire.on('request-failed', index => {
    picker.onFailed(index, id)
    t.scheduleFill()
  })
  wire.on('late-piece', (index, data) => { t.onPiece(peer, index, data) })
  wire.on('close', err => {
    // a wire replaced by another to the same peer, or one that never got past the handshake, leaves quietly
    if (t.removePeer(peer) && wire.ready) t.peerRemoved(id, err)
    const violation = violationOf(err)
    if (violation !== undefined && err !== undefined && !t.stopped()) t.onViolation(peer, violation, err)
  })
}
