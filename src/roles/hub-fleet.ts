/**
 * The store hub's side of fleet orders (protocols/report/SPEC.md "1.2.0"): composition
 * only. The hub uplink hands each answer's fleet orders here; they are stored in the
 * hub ledger's database first (FleetOrderBook), then acted on once:
 *
 *   hold / release   the lease authority reads the book: no lease for a held bundle
 *   rollback         becomes a device order (report 1.1.0) to that device
 *   prestage         queued in prefetch.json, the WAN puller poked
 *
 * and the devices' held report polls are woken, so they see the change at once.
 */
import type { Log } from '../interface/log.js'
import { toStoremeshError } from '../interface/errors.js'
import { FleetOrderBook } from '../ledger/fleet-order-book.js'
import type { HubLedger } from '../ledger/hub-ledger.js'
import type { FleetOrderSink } from '../ledger/uplink.js'
import type { FleetOrderWire } from '../ledger/report/index.js'
import type { HoldLookup } from '../lease/held-bundles.js'
import { addPrefetch } from '../wan/prefetch-queue.js'

export interface HubFleetInit {
  ledger: HubLedger
  dataDir: string
  /** the WAN puller, to start a prestage at once */
  pokeWan?: () => void
  /** after orders were stored and acted on: wake held device polls */
  onChange?: () => void
  log?: Log
}

export interface HubFleet {
  readonly book: FleetOrderBook
  readonly sink: FleetOrderSink
  readonly holdOf: HoldLookup
}

export async function startHubFleet (init: HubFleetInit): Promise<HubFleet> {
  const book = await FleetOrderBook.open(init.ledger.database)
  const act = async (o: FleetOrderWire): Promise<void> => {
    if (o.action === 'rollback') {
      const r = await init.ledger.issueDeviceOrder({ deviceId: o.deviceId!, action: 'rollback', reason: `fleet order ${o.orderId}: ${o.reason}` })
      init.log?.info({ device: o.deviceId, order: o.orderId }, `fleet order ${o.orderId}: roll back device ${o.deviceId!} (${r.changed ? 'ordered' : r.detail ?? 'already ordered'})`)
    } else if (o.action === 'prestage') {
      // at once: a not-before time a policy set (prestageHours) is cleared; the hub's own WAN window still applies
      await addPrefetch(init.dataDir, { bundleId: o.bundleId!, notBeforeMs: Date.now() })
      init.pokeWan?.()
      init.log?.info({ bundle: o.bundleId, order: o.orderId }, `fleet order ${o.orderId}: prestage ${o.bundleId!}`)
    } else {
      init.log?.info({ bundle: o.bundleId, order: o.orderId }, `fleet order ${o.orderId}: ${o.action} ${o.bundleId!}${o.reason !== '' ? ` (${o.reason})` : ''}`)
    }
  }
  return {
    book,
    holdOf: bundleId => {
      const o = book.holdOf(bundleId)
      return o !== undefined ? { orderId: o.orderId, reason: o.reason } : undefined
    },
    sink: {
      async storeFleetOrders (orders) {
        // durable before anything else: the uplink acks only after this returns
        const fresh = await book.store(orders)
        for (const o of fresh) {
          // a failed action is logged, not retried by a resend: the order is stored and acked; its effect shows in the status
          await act(o).catch((err: unknown) => { init.log?.warn(`fleet order ${o.orderId} (${o.action}): ${toStoremeshError(err).toLine()}`) })
        }
        if (fresh.length > 0) init.onChange?.()
      }
    }
  }
}
