/**
 * A lease authority that refuses installs of held bundles (a fleet `hold` order,
 * protocols/report/SPEC.md "1.2.0"; reason `held` in protocols/lease/SPEC.md): an
 * acquire for a held bundle is denied with the order's reason before the table is
 * asked, so a held bundle never takes an install slot. Renew and release go through:
 * an install already running is not cut off mid-write (the hold stops new ones).
 */
import type { LeaseContext, LeaseRequest, LeaseResponse, LeaseServer } from './protocol/index.js'

/** How long a device refused by a hold waits before it asks again. @default 30 s */
export const HELD_RETRY_AFTER_MS = 30_000

/** The hold in force for a bundle: its reason, or undefined when not held. */
export type HoldLookup = (bundleId: string) => { reason: string, orderId: string } | undefined

export function holdingLeaseAuthority (inner: LeaseServer, holdOf: HoldLookup): LeaseServer {
  return {
    get activeCount () { return inner.activeCount },
    get limit () { return inner.limit },
    async respond (req: LeaseRequest, ctx?: LeaseContext): Promise<LeaseResponse> {
      const hold = req.op === 'acquire' ? holdOf(req.bundleId) : undefined
      if (hold === undefined) return await inner.respond(req, ctx)
      return {
        granted: false,
        retryAfterMs: HELD_RETRY_AFTER_MS,
        active: inner.activeCount,
        limit: inner.limit,
        reason: 'held',
        detail: `bundle held by fleet order ${hold.orderId}: ${hold.reason}`.slice(0, 256)
      }
    }
  }
}
