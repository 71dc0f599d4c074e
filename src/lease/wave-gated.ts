/**
 * A lease authority that grants no install lease for a wave its store may not install
 * yet (docs/fleet-waves.md "The store hub's wave gate"): an acquire whose wave the gate
 * holds is denied with reason `wave-held` (protocols/lease/SPEC.md) before the table is
 * asked, so a device that has not yet heard its store's gate (or the halt) cannot start
 * writing on its own word. Renew and release go through: an install already running is
 * not cut off mid-write (a halt rolls a trial back through the device's own gate).
 *
 * The gate itself (what the hub heard from its super hub) is a lookup handed in; this
 * module only applies it, the way held-bundles.ts applies fleet holds.
 */
import type { LeaseContext, LeaseRequest, LeaseResponse, LeaseServer } from './protocol/index.js'

/** Why a wave's installs are held at this store, or undefined when they may go ahead. */
export interface WaveHold {
  /** a stable code, also the device's gate vocabulary: `wave.store-pending`, `wave.paused`, `fleet.halt` */
  code: string
  /** one line for the device's `hub.lease` gate and the hub's status */
  detail: string
  /** ask again after this long */
  retryAfterMs: number
}

export type WaveHoldLookup = (waveId: string, bundleId: string) => WaveHold | undefined

/** At most this much of `detail` goes on the wire (SPEC.md: 256 characters). */
const MAX_DETAIL_CHARS = 256

export function waveGatedLeaseAuthority (inner: LeaseServer, holdOf: WaveHoldLookup): LeaseServer {
  return {
    get activeCount () { return inner.activeCount },
    get limit () { return inner.limit },
    async respond (req: LeaseRequest, ctx?: LeaseContext): Promise<LeaseResponse> {
      const hold = req.op === 'acquire' ? holdOf(req.waveId, req.bundleId) : undefined
      if (hold === undefined) return await inner.respond(req, ctx)
      return {
        granted: false,
        retryAfterMs: hold.retryAfterMs,
        active: inner.activeCount,
        limit: inner.limit,
        reason: 'wave-held',
        detail: `${hold.code}: ${hold.detail}`.slice(0, MAX_DETAIL_CHARS)
      }
    }
  }
}
